// WaFL dashboard: polls /api/tasks and /api/task/<network>/<task_id> and redraws on new data.
// Read-back for tests: window.__charts (the Chart.js instances), window.__dashboard.readCharts()
// and each canvas's data-rendered attribute, both taken from the charts after they were drawn.
"use strict";
(() => {
  const POLL_MS = 1000;
  const state = { keys: [], key: null, version: null, deadlineMs: null, finished: false };
  const dash = { version: null, key: null, renders: 0, error: null, readCharts };
  window.__charts = {};
  window.__dashboard = dash;

  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "number") return digits === undefined || Number.isInteger(v) ? String(v) : v.toFixed(digits);
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function banner(msg, isError) {
    const b = $("banner");
    b.hidden = !msg;
    b.textContent = msg || "";
    b.className = isError ? "banner error" : "banner";
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    let body;
    try { body = await r.json(); } catch (e) { body = { error: `HTTP ${r.status} from ${url}` }; }
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status} from ${url}`);
    return body;
  }

  // ------------------------------------------------------------------ charts
  function chart(name, type, options) {
    if (window.__charts[name]) return window.__charts[name];
    if (typeof window.Chart !== "function") return null;
    const c = new window.Chart($(`chart-${name}`), {
      type,
      data: { labels: [], datasets: [] },
      options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false } }, options || {}),
    });
    window.__charts[name] = c;
    return c;
  }

  function snapshot(c) {
    return {
      labels: c.data.labels.slice(),
      datasets: c.data.datasets.map((d, i) => ({
        label: d.label,
        data: d.data.slice(),
        points: c.getDatasetMeta(i).data.map((p) => [p.x, p.y]),
      })),
    };
  }

  function readCharts() {
    const out = {};
    for (const [k, c] of Object.entries(window.__charts)) out[k] = snapshot(c);
    return out;
  }

  function setData(name, labels, datasets) {
    const c = window.__charts[name];
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = datasets;
    c.update("none");
    c.canvas.dataset.rendered = JSON.stringify(snapshot(c));
  }

  // log axes: label only 1, 2 and 5 times a power of ten
  function logTick(v) {
    const lead = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
    return [1, 2, 5].some((d) => Math.abs(lead - d) < 1e-6) ? String(+v.toPrecision(3)) : "";
  }

  const line = (label, data, color, extra) =>
    Object.assign({ label, data, borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: 3 }, extra || {});

  function drawCharts(summary, series) {
    if (typeof window.Chart !== "function") {
      banner("The chart library is missing (run `npm ci` in the WaFL project root); tables only.", true);
      return;
    }
    // every axis has a title; x is the ledger's round (the model of round N: after aggregating round N)
    const title = (text) => ({ display: true, text });
    const xRound = { title: title("round") };
    chart("accuracy", "line", { scales: { x: xRound, y: { suggestedMin: 0, suggestedMax: 1, title: title("test accuracy") } } });
    chart("loss", "line", { scales: { x: xRound, y: { beginAtZero: true, title: title("test loss") } } });
    chart("updates", "bar", { scales: { x: Object.assign({ stacked: true }, xRound),
      y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: title("updates") } } });
    chart("timings", "line", { scales: { x: xRound, y: { beginAtZero: true, title: title("seconds") } } });
    const labels = series.map((r) => String(r.round));
    const acc = [line("accuracy", series.map((r) => r.accuracy), "#1f77b4")];
    if (summary.float_baseline_accuracy !== null) {
      acc.push(line("float baseline", series.map(() => summary.float_baseline_accuracy), "#d62728",
        { borderDash: [6, 4], pointRadius: 0, backgroundColor: "rgba(0,0,0,0)" }));
    }
    setData("accuracy", labels, acc);
    setData("loss", labels, [line("loss", series.map((r) => r.loss), "#ff7f0e")]);
    setData("updates", labels, [
      { label: "accepted", data: series.map((r) => r.accepted), backgroundColor: "#2ca02c" },
      { label: "rejected", data: series.map((r) => r.rejected), backgroundColor: "#d62728" },
    ]);
    const secs = series.flatMap((r) => [r.prove_seconds_median, r.verify_seconds_median]).filter((v) => v !== null);
    const logScale = secs.length > 0 && Math.min(...secs) > 0 && Math.max(...secs) / Math.min(...secs) >= 50;
    const y = window.__charts.timings.options.scales.y;
    y.type = logScale ? "logarithmic" : "linear";
    y.ticks = logScale ? { callback: logTick } : {};
    y.title = { display: true, text: logScale ? "seconds (log scale)" : "seconds" };
    setData("timings", labels, [
      line("prove", series.map((r) => r.prove_seconds_median), "#9467bd"),
      line("verify", series.map((r) => r.verify_seconds_median), "#17becf"),
    ]);
  }

  // ------------------------------------------------------------------ tables
  function kvTable(table, obj) {
    table.replaceChildren();
    for (const [k, v] of Object.entries(obj)) {
      const tr = el("tr");
      const time = /_ms$/.test(k) && typeof v === "number" && v > 1e12;  // ledger times: Unix ms
      tr.append(el("th", time ? k.replace(/_ms$/, "") : k), el("td", time ? utc(v) : fmt(v), "wrap"));
      table.append(tr);
    }
  }

  // a private task: its budget and the epsilon each client spent (the ledger counts accepted
  // updates, the accountant turns counts into epsilon: wafl_sui/metrics/ledger_sync.py)
  function privacyPanel(dp) {
    $("privacy-panel").hidden = !dp;
    if (!dp) return;
    $("privacy-summary").textContent =
      `epsilon ${Number(dp.epsilon_spent_max).toFixed(2)} spent of ${Number(dp.epsilon).toFixed(2)} (delta ${dp.delta}) by the client ` +
      `that spent most; at most ${dp.max_updates} accepted updates a client; Poisson sample rate ${dp.sample_rate}`;
    const rows = {};
    for (const [addr, eps] of Object.entries(dp.epsilon_spent || {})) {
      rows[addr] = `epsilon ${Number(eps).toFixed(3)} (${(dp.updates || {})[addr] ?? 0} updates)`;
    }
    kvTable($("privacy-table"), rows);
  }

  function clientsTable(contribs, series) {
    const t = $("clients-table");
    t.replaceChildren();
    const rounds = series.map((r) => r.round);
    const byClient = new Map();
    for (const c of contribs) {
      if (!byClient.has(c.client)) byClient.set(c.client, { attacker: c.attacker, cells: new Map() });
      const row = byClient.get(c.client);
      if (c.attacker) row.attacker = c.attacker;
      if (!row.cells.has(c.round)) row.cells.set(c.round, []);
      row.cells.get(c.round).push(c);
    }
    const head = el("tr");
    head.append(el("th", "client"), el("th", "attack"));
    for (const r of rounds) head.append(el("th", `round ${r}`));
    t.append(el("thead"));
    t.tHead.append(head);
    const body = el("tbody");
    for (const [client, row] of [...byClient.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const tr = el("tr");
      tr.dataset.client = client;
      const name = el("td", client.length > 20 ? `${client.slice(0, 8)}…${client.slice(-6)}` : client);
      name.title = client;
      tr.append(name, el("td", row.attacker || ""));
      for (const r of rounds) {
        const cs = row.cells.get(r) || [];
        const text = cs.map((c) => (c.accepted ? "accepted" : c.error || "rejected")).join(", ");
        const td = el("td", text, cs.length ? (cs.every((c) => c.accepted) ? "ok" : "bad") : "");
        td.dataset.round = String(r);
        tr.append(td);
      }
      body.append(tr);
    }
    t.append(body);
  }

  function eventsTable(events) {
    const t = $("events-table");
    t.replaceChildren();
    const head = el("tr");
    for (const h of ["seq", "type", "time", "fields"]) head.append(el("th", h));
    t.append(el("thead"));
    t.tHead.append(head);
    const body = el("tbody");
    for (const e of events.slice(-500).reverse()) {
      const tr = el("tr");
      tr.dataset.seq = String(e.seq);
      tr.append(el("td", e.seq), el("td", e.type), el("td", utc(e.timestamp_ms)), el("td", JSON.stringify(e.fields), "wrap"));
      body.append(tr);
    }
    t.append(body);
  }

  const utc = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

  // where the task stands, as `wafl status` says it (wafl_sui/metrics/display.py: round_text)
  function roundText(st, maxRounds) {
    if (typeof st.round !== "number") return "–";
    const n = typeof maxRounds === "number" ? maxRounds : st.round + 1;
    const span = n > 1 ? `rounds 0..${n - 1}` : "round 0";
    return st.finished ? `finished (${span} done)` : `round ${st.round} (${span})`;
  }

  function deadlineText() {
    if (state.finished) return "none: the task is finished";
    const ms = state.deadlineMs;
    if (typeof ms !== "number") return "–";
    const s = Math.round((ms - Date.now()) / 1000);
    const when = utc(ms);
    const a = Math.abs(s);
    const span = a < 120 ? `${a} s` : a < 7200 ? `${Math.round(a / 60)} min` : a < 172800 ? `${Math.round(a / 3600)} h`
      : `${Math.round(a / 86400)} days`;
    return s >= 0 ? `${when} (in ${span})` : `${when} (${span} ago)`;
  }

  function render(data) {
    const { summary, series, contributions, events } = data;
    $("main").hidden = false;
    $("task-title").textContent = summary.name || summary.task_id;
    document.title = `WaFL: ${summary.name || summary.task_id}`;
    $("task-id").textContent = summary.task_id;
    $("task-network").textContent = summary.network;
    const st = summary.status || {};
    state.deadlineMs = typeof st.deadline_ms === "number" ? st.deadline_ms : null;
    state.finished = st.finished === true;
    $("status-round").textContent = roundText(st, summary.rules.max_rounds);
    $("overview").classList.toggle("finished", state.finished);
    $("status-deadline").textContent = deadlineText();
    $("status-quorum").textContent = fmt(summary.rules.quorum);
    $("status-finished").textContent = fmt(st.finished);
    $("latest-accuracy").textContent = fmt(summary.latest_accuracy, 4)
      + (summary.latest_round_evaluated === null ? "" : ` (model of round ${summary.latest_round_evaluated})`);
    $("counts").textContent = `${summary.accepted} / ${summary.rejected}`;
    kvTable($("rules-table"), summary.rules);
    const { privacy, ...plainStatus } = st;
    kvTable($("status-table"), plainStatus);
    privacyPanel(privacy);
    clientsTable(contributions, series);
    eventsTable(events);
    drawCharts(summary, series);
    dash.version = summary.version;
    dash.key = state.key;
    dash.renders += 1;
    document.body.dataset.version = summary.version;
  }

  // ------------------------------------------------------------------ polling
  async function refreshTasks() {
    const data = await getJSON("/api/tasks");
    const keys = data.tasks.map((t) => `${t.network}/${t.task_id}`);
    const sel = $("task-select");
    if (keys.join() !== state.keys.join()) {
      sel.replaceChildren();
      for (const t of data.tasks) {
        const o = el("option", `${t.name || t.task_id.slice(0, 12) + "…"} (${t.network}${t.rule ? ", " + t.rule : ""})`);
        o.value = `${t.network}/${t.task_id}`;
        sel.append(o);
      }
      state.keys = keys;
    }
    if (!keys.length) {
      $("main").hidden = true;
      banner(`No tasks yet in ${data.store}` + (data.ledger ? ` nor on the ${data.ledger} ledger` : "")
        + "; this page updates when one is.", false);
      return;
    }
    if (!state.key || !keys.includes(state.key)) {
      const h = decodeURIComponent(location.hash.slice(1));
      select(keys.includes(h) ? h : keys[0]);
    }
    sel.value = state.key;
  }

  function select(key) {
    state.key = key;
    state.version = null;
    if (location.hash.slice(1) !== key) history.replaceState(null, "", `#${key}`);
  }

  async function refreshTask() {
    if (!state.key) return;
    const key = state.key;
    const q = state.version ? `?since=${encodeURIComponent(state.version)}` : "";
    const data = await getJSON(`/api/task/${key}${q}`);
    if (key !== state.key) return;
    if (!data.unchanged) {
      render(data);
      state.version = data.summary.version;
      banner(null);
    }
    $("status-deadline").textContent = deadlineText();
  }

  let timer = null;
  async function tick() {
    clearTimeout(timer);
    try {
      await refreshTasks();
      await refreshTask();
      dash.error = null;
      $("live").textContent = `live, updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      dash.error = String(e.message || e);
      banner(`Cannot load data: ${dash.error}`, true);
      $("live").textContent = "disconnected, retrying";
    } finally {
      clearTimeout(timer);
      timer = setTimeout(tick, POLL_MS);
    }
  }

  $("task-select").addEventListener("change", (ev) => { select(ev.target.value); tick(); });
  window.addEventListener("hashchange", () => {
    const h = decodeURIComponent(location.hash.slice(1));
    if (state.keys.includes(h) && h !== state.key) { select(h); tick(); }
  });
  tick();
})();
