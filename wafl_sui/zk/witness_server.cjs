// A resident circom witness generator: compiles the circuit's wasm once, then answers one
// request per stdin line, {"input": "in.json", "output": "out.wtns"}, with one stdout line,
// {"ok": true, "ms": N} or {"ok": false, "error": "..."}. Started by wafl_sui.zk.witness.WitnessServer.
//   node witness_server.cjs <witness_calculator.js> <circuit.wasm>
"use strict";
const fs = require("fs");
const readline = require("readline");

const [calculatorJs, wasmPath] = process.argv.slice(2);
if (!calculatorJs || !wasmPath) {
  process.stderr.write("usage: node witness_server.cjs <witness_calculator.js> <circuit.wasm>\n");
  process.exit(2);
}
const reply = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
// stdout carries the replies only: whatever the circuit logs goes to stderr
console.log = (...args) => process.stderr.write(args.join(" ") + "\n");

require(calculatorJs)(fs.readFileSync(wasmPath)).then((calculator) => {
  reply({ ok: true, ready: true });
  let queue = Promise.resolve();
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    queue = queue.then(async () => {
      const t0 = Date.now();
      try {
        const req = JSON.parse(line);
        const input = JSON.parse(fs.readFileSync(req.input, "utf8"));
        const wtns = await calculator.calculateWTNSBin(input, 0);
        fs.writeFileSync(req.output, wtns);
        reply({ ok: true, ms: Date.now() - t0 });
      } catch (e) {
        reply({ ok: false, error: String((e && e.message) || e) });
      }
    });
  });
}, (e) => {
  reply({ ok: false, error: "could not load the circuit: " + String((e && e.message) || e) });
  process.exit(1);
});
