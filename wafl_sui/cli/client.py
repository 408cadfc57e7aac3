"""`wafl client run`: one participant joins a task with its own data, round after round."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from wafl_sui.cli.chain import key_option, load_identity, tx_opts, unsigned_builder, with_tx_options
from wafl_sui.cli.common import FiniteFloat, allow_dev_key_option, friendly_errors, ledger_spec, metrics_option, progress_printer
from wafl_sui.ledger.sui.network import LEDGER_NETWORKS


@click.group("client", help="Take part in a task as a client.")
def client_group() -> None:
    pass


@client_group.command("run")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@click.option("--data", "data", required=True, help="Your training data: a .csv / .npz file or a bundled dataset.")
@click.option("--label-column", help="CSV: the label column.")
@click.option("--scaling", type=click.Path(exists=True, dir_okay=False),
              help="The task's feature scaling (JSON, as in an exported model); default: fitted on your data.")
@click.option("--rounds", type=click.IntRange(1), help="How many rounds to contribute to [default: until the task ends].")
@click.option("--aggregate/--no-aggregate", default=True, show_default=True,
              help="Aggregate a round that is ready (quorum reached, or deadline passed with updates).")
@click.option("--poll", type=FiniteFloat(0.05, 3600), default=2.0, show_default=True,
              help="Seconds between looks at the task (0.05 .. 3600).")
@click.option("--seed", type=int, default=None, help="Batch sampling seed [default: fresh].")
@click.option("--network", type=click.Choice(LEDGER_NETWORKS), default="local", show_default=True)
@click.option("--ledger", "ledger_file", type=click.Path(dir_okay=False), help="Local ledger file.")
@key_option
@with_tx_options
@metrics_option
@allow_dev_key_option
@click.option("--quiet", is_flag=True)
@friendly_errors
def run_cmd(task, data, label_column, scaling, rounds, aggregate, poll, seed, network, ledger_file, key, metrics_file,
            allow_dev_key, quiet, **kw) -> None:
    """Each round: check the task's key, draw a batch, train the exact step, prove, submit; then
    aggregate the round when it is ready (whoever is first does it) and wait for the next.

    With --serialize-unsigned-transaction: read the task's current round from the node, make the
    proof here for the sender (--sender or --key's address) and print the unsigned submit_update
    transaction (one round; offline gas options as for every command); nothing is sent."""
    from wafl_sui.client import datasets
    from wafl_sui.client.evaluation import check_fits
    from wafl_sui.client.participant import Client
    from wafl_sui.client.run_loop import participate
    from wafl_sui.ledger import open_ledger
    from wafl_sui.metrics.ledger_sync import sync_task
    from wafl_sui.metrics.store import MetricsStore
    from wafl_sui.zk.setup import ensure_keys

    say = progress_printer(quiet) or (lambda m: None)
    # checks first: the transaction options, the key, the data and the task, before any compile or proof
    unsigned = unsigned_builder(network, key, tx_opts(**kw))
    ident = _Sender(unsigned.sender) if unsigned is not None else load_identity(key)
    from wafl_sui.client import manifest as task_manifest

    given_scaling = None
    if scaling:  # a file of the user's: checked (against the data's width) before the ledger is read
        given_scaling = _scaling(scaling, datasets.load_raw(data, label_column).x.shape[1])
    store = MetricsStore(metrics_file)
    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        view = sync_task(store, ledger, task)
        contract = task_manifest.read(ledger, view.task_id)
        if contract is not None and scaling:
            raise click.ClickException("--scaling: this task has a data contract with its own scaling; drop --scaling")
        raw = datasets.load_raw(data, label_column or (contract.label_column if contract else None),
                                  min_classes=1 if contract else 2)
        if contract is not None:  # the task's columns, class order and scaling, never this file's
            raw = task_manifest.conform(raw, contract, data)
            sc = contract.scaling
        else:
            sc = given_scaling if given_scaling is not None else datasets.scaling_for(raw)
        check_fits(raw, view.spec, data)
        if view.finished:
            click.echo(f"task {view.task_id} is finished; nothing to do")
            return
        keys = ensure_keys(view.spec, progress=say)
        client = Client(ident, datasets.to_dataset(raw, sc), view.spec, keys,
                        seed=seed if seed is not None else time.time_ns() % 2**32, allow_dev_key=allow_dev_key)
        client.check_task(view, contract)
        if unsigned is not None:
            try:
                _print_unsigned_submit(ledger, client, unsigned, view, say)
            finally:
                client.close()
            return
        say(f"client {ident.address} on task {view.task_id}, round {view.round}")

        def reported(r) -> None:
            click.echo(f"round {r.round}: " + ("accepted" if r.accepted else f"rejected ({r.error})")
                       + f", proof {r.prove_seconds:.2f} s")
            store.record_contribution(view.task_id, network, r.round, r.client, accepted=r.accepted,
                                      update_norm=r.update_norm, batch_size=r.batch_size,
                                      prove_seconds=r.prove_seconds, verify_seconds=r.verify_seconds, error=r.error)

        def aggregated(receipts) -> None:
            ev = receipts[-1].of_type("RoundAggregated")[0].fields
            click.echo(f"round {ev['round']}: aggregated {ev['num_updates']} updates"
                       + (f" in {len(receipts)} steps" if len(receipts) > 1 else "") + " (by this client)")
            sync_task(store, ledger, view.task_id)

        try:
            participate(ledger, client, view.task_id, rounds=rounds, poll=poll, aggregate=aggregate, say=say,
                        on_report=reported, on_aggregated=aggregated)
        except KeyboardInterrupt:
            say("stopped")
        finally:
            client.close()
            sync_task(store, ledger, view.task_id)


class _Sender:
    """The address a serialized submit is proven for and sent by (the proof binds the sender)."""

    def __init__(self, address: str):
        self.address = address


def _print_unsigned_submit(ledger, client, unsigned, view, say) -> None:
    """This round's update, proven here, as an unsigned submit_update transaction on stdout."""
    from wafl_sui.metrics import display

    if ledger.has_submitted(view.task_id, client.address):
        raise click.ClickException(f"{client.address} already submitted in round {view.round} of task "
                                   f"{view.task_id}; wait for the next round")
    if client.spec.is_private:
        _print_unsigned_private(ledger, client, unsigned, view, say)
        return
    up = client.prepare_update(view)
    click.echo(unsigned.submit_update(view.task_id, list(up.weights), up.data_commitment, up.proof))
    say(f"round {up.round}: the update of {client.address} proven here in {up.prove_seconds:.2f} s; sign it as "
        f"that address and send it before the round's deadline ({display.when(view.deadline_ms)}); valid only "
        f"in round {up.round}")


def _print_unsigned_private(ledger, client, unsigned, view, say) -> None:
    """A private task: the unsigned register_private (data and seed commitments; the secrets stay
    in an owner-only file here) if the sender has not registered, else this round's private
    update, proven here, as an unsigned submit_private_update."""
    from wafl_sui import protocol
    from wafl_sui.client import private_data, private_round

    spec = client.spec
    reg = private_data.load_or_create(private_round.registration_path(view.task_id, client.address), client.data,
                                      spec, view.task_id)
    held = ledger.private_registration(view.task_id, client.address)
    if held is None:
        click.echo(unsigned.register_private(view.task_id, view.deposit_mist, reg.data_commitment(spec),
                                             reg.seed_commitment()))
        say(f"{client.address} is not registered: this is its register_private transaction (the commitments of its "
            "data and secret seed, kept here); sign and send it, then run this command again in a round it is "
            "sampled in")
        return
    private_data.check_registered(reg, spec, (held[0], held[1]))
    if private_round.budget_left(ledger, view.task_id, client.address) <= 0:
        raise click.ClickException(f"{client.address} has spent the task's privacy budget: it sends no more updates")
    new, proof, res, _ = private_round.prove_private(client.prover, spec, view, reg, client.address)
    encoded = [protocol.encode_signed(w, spec.weight_bits) for w in new]
    click.echo(unsigned.submit_private_update(view.task_id, encoded, proof))
    say(f"round {view.round}: the private update of {client.address} proven here in {res.prove_seconds:.2f} s; sign "
        f"it as that address and send it in round {view.round}")


def _scaling(path: str, features: int):
    """The task's feature scaling from a JSON file (as an exported model holds it), checked."""
    from wafl_sui.client import datasets

    try:
        d = json.loads(Path(path).read_text())
        sc = datasets.FeatureScaling.from_dict(d)
        lows, highs = [float(v) for v in sc.low], [float(v) for v in sc.high]
        centers = [float(v) for v in sc.center]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise click.ClickException(
            f"--scaling {path}: not a feature scaling ({type(e).__name__}: {e}); expected JSON with 'low' and 'high' "
            "lists (and optionally 'center'), as `wafl model export` writes it") from None
    vals = lows + highs + centers
    if len(lows) != features or len(highs) != features or (centers and len(centers) != features):
        raise click.ClickException(f"--scaling {path}: 'low', 'high' (and 'center') need {features} values each, "
                                   f"one per feature of your data; got {len(lows)}, {len(highs)}, {len(centers)}")
    if any(v != v or v in (float("inf"), float("-inf")) for v in vals):
        raise click.ClickException(f"--scaling {path}: every value must be a finite number")
    return sc
