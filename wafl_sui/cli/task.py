"""`wafl task ...`: create a task, read it, check its key before contributing, and every other
operation of the contract (aggregate, discard a stuck round, the admin calls), each signed with
`--key` or printed unsigned with `--serialize-unsigned-transaction`."""

from __future__ import annotations

import json
from typing import Any, Callable

import click

from wafl_sui.errors import WaflError
from wafl_sui.cli.chain import key_option, load_identity, tx_opts, unsigned_builder, with_tx_options
from wafl_sui.cli.config_file import config_option, for_task_create
from wafl_sui.cli.privacy_options import private_spec, with_privacy_options
from wafl_sui.cli.common import (
    FiniteFloat, allow_dev_key_option, emit, friendly_errors, ledger_spec, progress_printer, with_ledger_options,
)
from wafl_sui.federation.config import SimulationConfig

with_spec_overrides = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                                   help="Override a spec field, e.g. --set batch_size=32.")


@click.group("task", help="Tasks on a ledger.")
def task_group() -> None:
    pass


def _view_dict(v) -> dict:
    """The task as JSON: the ledger's fields (times in Unix ms, the rule by name, big integers as
    strings) and what they mean in words (`state`, `model`, `deadline`, `created`)."""
    from wafl_sui.metrics import display

    return {"task_id": v.task_id, "name": v.name,
            "state": display.round_text(v.round, v.round_rules.max_rounds, v.finished),
            "round": v.round, "max_rounds": v.round_rules.max_rounds, "model": display.model_text(v.round),
            "model_round": display.model_round(v.round),
            "quorum": v.round_rules.quorum, "num_updates": v.num_updates, "submitters": list(v.submitters),
            "deadline": None if v.finished else display.when(v.deadline_ms), "deadline_ms": v.deadline_ms,
            "created": display.when(v.created_ms) if v.created_ms else None,
            "finished": v.finished, "open": v.open, "rule": v.aggregation.name.replace("_", "-"),
            "trim_bps": v.aggregation.trim_bps, "lr_q": v.lr_q, "spec": v.spec.to_dict(),
            "model_commitment": str(v.model_commitment), "version": v.version, "package_id": v.package_id}


_SHOW_HIDDEN = ("round", "deadline_ms", "model_round")  # said in words by state / deadline / model


@task_group.command("show")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@with_ledger_options
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def show_cmd(task, network, ledger_file, as_json) -> None:
    """The task's state: round, deadline, quorum, submitters, rules."""
    from wafl_sui.ledger import open_ledger

    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        out = _view_dict(ledger.task(task))
    emit(out, as_json, lambda o: click.echo("\n".join(
        f"{k:>16}: {json.dumps(v) if isinstance(v, (dict, list)) else ('–' if v is None else v)}"
        for k, v in o.items() if k not in _SHOW_HIDDEN)))


@task_group.command("check")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@with_ledger_options
@allow_dev_key_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--quiet", is_flag=True)
@friendly_errors
def check_cmd(task, network, ledger_file, allow_dev_key, as_json, quiet) -> None:
    """Check that the task's verifying key is the key of its spec's circuit held here, and not a
    development key unless --allow-dev-key (exit 1 if not)."""
    from wafl_sui.client.trust import check_task
    from wafl_sui.ledger import open_ledger

    from wafl_sui.client import manifest as task_manifest

    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        view = ledger.task(task)
        contract = task_manifest.read(ledger, view.task_id)
    t = check_task(view, manifest=contract, allow_dev_key=allow_dev_key, progress=progress_printer(quiet))
    emit({"task_id": t.task_id, "trusted": True, "setup": t.setup, "circuit_hash": t.circuit_hash},
         as_json, lambda o: click.echo(f"task {o['task_id']}: its key is the {o['setup']} key of circuit "
                                       f"{o['circuit_hash']} held here; "
                                       + ("a development key, accepted because of --allow-dev-key: for tests only"
                                          if o["setup"] == "dev-insecure" else "safe to contribute")))


# --------------------------------------------------------------------------- creating a task
@task_group.command("create")
@config_option(for_task_create)
@click.option("--dataset", default="digits", show_default=True,
              help="The spec follows the dataset's features and classes (digits, iris, ..., or a file).")
@click.option("--label-column", help="CSV: the label column.")
@click.option("--model", default="linear", show_default=True,
              help="linear, mlp (--hidden) or FILE.py:FUNCTION (a Flax nnx module, see wafl_sui.models).")
@click.option("--hidden", type=click.IntRange(1), multiple=True, help="--model mlp: a hidden layer's width (repeat).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="--model mlp: the seed of its initial weights (Flax's initializers), committed with the task.")
@with_spec_overrides
@click.option("--lr", type=FiniteFloat(0, low_open=True), default=1.0, show_default=True,
              help="Learning rate (per mean gradient); lr * 2^lr_frac_bits / batch must fit lr_bits.")
@click.option("--quorum", type=click.IntRange(1, 256), default=SimulationConfig.clients, show_default=True)
@click.option("--rounds", type=click.IntRange(1), default=SimulationConfig.rounds, show_default=True)
@click.option("--round-duration", "round_duration_s", type=click.IntRange(1), default=3600, show_default=True, help="Seconds.")
@click.option("--grace", "grace_s", type=click.IntRange(0), default=3600, show_default=True,
              help="Seconds after the deadline before anyone may discard a round that closed empty (at least 60).")
@click.option("--rule", type=click.Choice(["fedavg", "median", "trimmed-mean"]), default="fedavg", show_default=True)
@click.option("--trim", type=FiniteFloat(0, 0.4999), default=0.1, show_default=True,
              help="Trimmed mean: fraction dropped at each end.")
@click.option("--allowlist", is_flag=True, help="Only addresses the admin adds may submit (default: open).")
@click.option("--name", help="A name to find the task by.")
@with_privacy_options
@with_ledger_options
@key_option
@with_tx_options
@click.option("--task-id", "created_id", metavar="ID",
              help="With --serialize-unsigned-transaction: the task made by the create transaction; print its "
                   "set_manifest transaction (the data contract) instead (admin: --admin-cap offline).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--quiet", is_flag=True)
@friendly_errors
def create_cmd(dataset, label_column, model, hidden, seed, overrides, lr, quorum, rounds, round_duration_s, grace_s, rule, trim,
               allowlist, name, dp_epsilon, dp_delta, dp_clip, dp_batch, dp_records, network, ledger_file, key,
               created_id, as_json, quiet, **kw) -> None:
    """Create a task: the dataset's spec and model (--model; the linear model starts from zeros, an
    MLP from its seeded initial weights), the circuit's verifying key, the rules."""
    from wafl_sui import protocol
    from wafl_sui.client import datasets
    from wafl_sui.federation.config import RULE_ALIASES
    from wafl_sui.ledger import open_ledger
    from wafl_sui.protocol import AggregationRule, RoundRules
    from wafl_sui.zk import sui_bytes
    from wafl_sui.zk.circuit import check_size
    from wafl_sui.zk.setup import ensure_keys

    from wafl_sui.client import manifest as task_manifest
    from wafl_sui.client.trust import circuit_identity

    from wafl_sui import models

    raw = datasets.load_raw(dataset, label_column)
    flax_model = models.resolve(model, tuple(hidden) or None, datasets.spec_for(raw, **_overrides(overrides)),
                                 seed=seed)
    # a private task (--dp-epsilon): the expected batch, the calibrated noise, a budget of `rounds` updates
    spec, dp_params = private_spec(flax_model.spec, dp_epsilon, dp_delta, dp_clip, dp_batch, dp_records, rounds)
    rid = protocol.AGGREGATION_RULES[RULE_ALIASES[rule]]
    agg = AggregationRule(rid, int(round(trim * protocol.BPS)) if rule == "trimmed-mean" else 0)
    # every size limit before any work: the circuit's bounds and size, the gas budget
    check_size(spec)
    protocol.budget.check_task_budget(spec.num_weights, agg, quorum)
    # the task's data contract, fitted on the creator's data; its size checked before any work (with
    # the longest circuit identity: the real one is known once the circuit is compiled)
    task_manifest.fit(raw, spec, label_column, circuit=task_manifest.LONGEST_CIRCUIT_IDENTITY).to_bytes()
    lr_q = protocol.lr_to_fixed(lr, spec.batch_size, spec.lr_frac_bits, spec.lr_bits)
    rules = RoundRules(quorum, round_duration_s * 1000, rounds, grace_s * 1000)
    # checks first: the transaction options and the signer's key, before the circuit compile
    unsigned = unsigned_builder(network, key, tx_opts(**kw))
    if created_id is not None and unsigned is None:
        raise click.UsageError("--task-id goes with --serialize-unsigned-transaction (the set_manifest of a task "
                               "created by a transaction signed elsewhere)")
    signer = load_identity(key) if unsigned is None else None
    keys = ensure_keys(spec, progress=progress_printer(quiet))
    # the data contract records the circuit's identity and how its key was made (checked by clients)
    contract = task_manifest.fit(raw, spec, label_column, circuit=circuit_identity(keys))
    contract_bytes = contract.to_bytes()
    if unsigned is not None and created_id is not None:  # the second transaction: the task's data contract
        click.echo(unsigned.set_manifest(created_id, contract_bytes, privacy=dp_params))  # private: and set_privacy
        return
    vk = sui_bytes.vk_bytes_from_snarkjs(keys.setup.verification_key())
    zero = [protocol.encode_signed(w, spec.weight_bits) for w in flax_model.weights]  # linear: the zero model
    if unsigned is not None:
        click.echo(unsigned.create_task(spec, rules, agg, lr_q, not allowlist, zero, vk))
        click.echo("then, once it is executed: the same command with --task-id <the new Task's id> (and, offline, "
                   "--task-version <its initial shared version> --admin-cap <its TaskAdminCap as ID:VERSION:DIGEST>) "
                   f"prints the set_manifest transaction of the task's data contract "
                   f"({len(contract_bytes)} bytes, hash {contract.hash})"
                   + ("" if dp_params is None else " and its set_privacy (the private task's parameters)")
                   + "; send it before any registration", err=True)
        return
    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        ref = ledger.create_task(signer, spec, rules, agg, lr_q, not allowlist, zero, vk, name=name)
        ledger.set_manifest(signer, ref.task_id, contract_bytes)
        if dp_params is not None:  # before anyone registers: the contract refuses it later
            ledger.set_privacy(signer, ref.task_id, dp_params)
    emit({"task_id": ref.task_id, "admin_cap_id": ref.admin_cap_id, "name": ref.name, "spec": spec.to_dict(),
          "dp": None if dp_params is None else _dp_json(dp_params, spec),
          "architecture": spec.architecture(), "setup": keys.setup.kind, "manifest_hash": str(contract.hash),
          "classes": list(contract.class_names), "features": list(contract.feature_names)}, as_json,
         lambda o: click.echo(f"created task {o['task_id']} (admin cap {o['admin_cap_id']})"
                              + (f", name {o['name']}" if o["name"] else "")
                              + f"; its data contract: {len(o['features'])} features, classes {o['classes']}"))


def _dp_json(params, spec) -> dict:
    from wafl_sui.client import privacy_accounting

    info = privacy_accounting.describe(params, spec.num_weights, params.max_contributions,
                                       feature_frac_bits=spec.feature_frac_bits)
    return {"epsilon": params.target_epsilon, "delta": params.target_delta, "clip": info["clip"],
            "noise_multiplier": round(info["noise_multiplier"], 4), "sample_rate": round(params.sample_rate, 4),
            "max_contributions": params.max_contributions}


def _overrides(items: tuple[str, ...]) -> dict[str, int]:
    import dataclasses

    from wafl_sui.protocol import StepSpec

    known = sorted(f.name for f in dataclasses.fields(StepSpec))
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        if k.strip() == "hidden":
            raise click.BadParameter(f"the architecture comes from --model (e.g. --model mlp --hidden 16), not --set "
                                     f"{k.strip()}", param_hint="--set")
        if k.strip() not in known:
            raise click.BadParameter(f"unknown spec field {k.strip()!r}; known: {', '.join(known)}", param_hint="--set")
        try:
            out[k.strip()] = int(v)
        except ValueError:
            raise click.BadParameter(f"{k.strip()} must be an integer, got {v!r}", param_hint="--set") from None
    return out


# --------------------------------------------------------------------------- operations on a task
def _operation(name: str, help_: str, call: Callable[..., Any], offline: Callable[..., str], *extra: Any,
               note: Callable[..., str] | None = None):
    """One subcommand per ledger operation: sign and send it, or print it unsigned (and `note`,
    what to do next, on stderr)."""

    @task_group.command(name, help=help_)
    @click.option("--task", "task", required=True, help="Task id (0x...) or name.")
    @with_ledger_options
    @key_option
    @with_tx_options
    @click.option("--json", "as_json", is_flag=True)
    @friendly_errors
    def cmd(task, network, ledger_file, key, as_json, **kw):
        args = [kw.pop(p.name) for p in extra]
        unsigned = unsigned_builder(network, key, tx_opts(**kw))
        if unsigned is not None:
            click.echo(offline(unsigned, task, *args))
            if note is not None:
                click.echo(note(network, task, bool(kw.get("gas_objects"))), err=True)
            return
        from wafl_sui.ledger import open_ledger

        with open_ledger(ledger_spec(network, ledger_file)) as ledger:
            receipts = call(ledger, load_identity(key), task, *args)
        receipts = receipts if isinstance(receipts, list) else [receipts]
        from wafl_sui.metrics.display import json_safe

        out = {"task": task, "transactions": [r.tx for r in receipts],
               "events": [json_safe({"type": e.type, **e.fields}) for r in receipts for e in r.events]}
        emit(out, as_json, lambda o: click.echo(
            f"{name}: done ({len(o['transactions'])} transaction(s)); events: "
            + (", ".join(e["type"] for e in o["events"]) or "none")))

    for p in reversed(extra):
        cmd = p(cmd)
    cmd.__name__ = f"{name.replace('-', '_')}_cmd"
    return cmd


_participant = click.argument("participant")
_participant.name = "participant"
_open_flag = click.option("--open/--allowlist", "open_", default=True, help="Open to all, or allowlist only.")
_open_flag.name = "open_"

def _aggregate_note(network: str, task: str, offline: bool) -> str:
    """How many `task::aggregate` calls the round takes, and how to go on: each call is one
    transaction (its gas coin changes), so the next one is built after this one executes."""
    again = ("run this command again (offline: with the gas coin's new --gas-object version) for the next one, "
             "until the transaction emits RoundAggregated")
    if offline:
        return ("a FedAvg round takes 1 aggregate call; a median / trimmed-mean round takes one call per chunk of "
                "coordinates (`wafl task show` on a machine that reaches the node says how many): after this one, "
                + again)
    from wafl_sui.ledger import open_ledger
    from wafl_sui.protocol import budget

    with open_ledger(network) as ledger:
        v = ledger.task(task)
    left = budget.aggregation_steps_left(v.spec.num_weights, v.aggregation, v.num_updates, v.aggregation_done)
    return (f"round {v.round}: {v.num_updates} updates, {left} aggregate call(s) left"
            + (f" ({v.aggregation_done} of {v.aggregation_total} coordinates done)" if v.aggregation_done else "")
            + ("; this one advances the round" if left == 1 else f"; this is the next: after it executes, {again}"))


_deposit_opt = click.option("--deposit-mist", "deposit_mist", type=click.IntRange(0), default=0, show_default=True,
                            help="Offline only: the task's deposit in MIST (a sending command reads it from the task).")
_deposit_opt.name = "deposit_mist"
_random_opt = click.option("--random-version", "random_version", type=click.IntRange(1), default=None,
                           help="Offline only: the initial shared version of the Random object 0x8 on the network.")
_random_opt.name = "random_version"


def _offline_open_round(u: Any, task: str, random_version: int | None) -> str:
    if random_version is None:
        raise WaflError("an offline open-round needs --random-version: the initial shared version of the Random "
                        "object 0x8 on the network (`sui client object 0x8`)")
    return u.open_round(task, random_version)


_operation("register", "Register for the task's rounds, with the task's deposit (open tasks: anyone; closed: the allowlist).",
           lambda lg, s, t, d: lg.register(s, t), lambda u, t, d: u.register(t, d), _deposit_opt)
_operation("leave", "Leave the task and take the deposit back (not while sampled in the open round).",
           lambda lg, s, t: lg.leave(s, t), lambda u, t: u.leave(t))
_operation("open-round", "Open the round: the ledger's randomness samples its participants (anyone may).",
           lambda lg, s, t, v: lg.open_round(s, t), _offline_open_round, _random_opt)
_operation("aggregate", "Aggregate the round (every step until the round advances; anyone may).",
           lambda lg, s, t: lg.aggregate_round(s, t), lambda u, t: u.aggregate(t), note=_aggregate_note)
_operation("discard-round", "Discard a round that closed below its quorum, after its deadline and grace period (anyone; the next round is sampled afresh).",
           lambda lg, s, t: lg.discard_round(s, t), lambda u, t: u.discard_round(t))
_operation("add-participant", "Allow an address to submit (admin).",
           lambda lg, s, t, p: lg.add_participant(s, t, p), lambda u, t, p: u.add_participant(t, p), _participant)
_operation("remove-participant", "Remove an address from the allowlist (admin).",
           lambda lg, s, t, p: lg.remove_participant(s, t, p), lambda u, t, p: u.remove_participant(t, p), _participant)
_operation("set-open", "Open the task to everyone, or restrict it to the allowlist (admin).",
           lambda lg, s, t, o: lg.set_open(s, t, o), lambda u, t, o: u.set_open(t, o), _open_flag)
_operation("restart-round", "Restart the timer of a round without updates (admin).",
           lambda lg, s, t: lg.restart_round(s, t), lambda u, t: u.restart_round(t))
_operation("migrate", "Move the task to this package version (admin).",
           lambda lg, s, t: lg.migrate(s, t), lambda u, t: u.migrate(t))
