"""`wafl simulate`: a whole federation on one machine, every update proven and verified."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from wafl_sui.cli.config_file import config_option, for_simulate
from wafl_sui.cli.common import FiniteFloat, friendly_errors, ledger_spec, metrics_option, with_ledger_options
from wafl_sui.federation.config import ENGINES, EngineOptions, SimulationConfig


@click.command("simulate")
@config_option(for_simulate)
@click.option("--dataset", default="digits", show_default=True,
              help="digits, iris, wine, breast_cancer, or a .csv (header row, label column) / .npz (x, y) file.")
@click.option("--label-column", help="CSV: the label column [default: 'label', else the last column].")
@click.option("--model", default=SimulationConfig.model, show_default=True,
              help="linear, mlp (clamped-ReLU MLP, seeded initial weights), or FILE.py:FUNCTION returning an nnx module.")
@click.option("--hidden", type=click.IntRange(1), multiple=True,
              help="Hidden layer width of --model mlp (repeat for more layers) [default: 32].")
@click.option("--clients", type=click.IntRange(1, 256), default=SimulationConfig.clients, show_default=True)
@click.option("--rounds", type=click.IntRange(1, 100_000), default=SimulationConfig.rounds, show_default=True)
@click.option("--rule", type=click.Choice(["fedavg", "median", "trimmed-mean"]), default="fedavg", show_default=True)
@click.option("--trim", type=FiniteFloat(0, 0.4999), default=SimulationConfig.trim, show_default=True, help="Trimmed mean: fraction dropped at each end.")
@click.option("--alpha", type=FiniteFloat(0, low_open=True), default=None, help="Dirichlet(alpha) label-skewed partition [default: IID].")
@click.option("--lr", type=FiniteFloat(0, low_open=True), default=SimulationConfig.lr, show_default=True, help="Learning rate (per mean gradient).")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=SimulationConfig.batch_size, show_default=True)
@click.option("--local-steps", type=click.IntRange(1, 64), default=SimulationConfig.local_steps, show_default=True)
@click.option("--attackers", type=click.IntRange(0, 256), default=0, show_default=True,
              help="How many clients attack (the last K).")
@click.option("--attack", type=click.Choice(["label-flip", "forged-update"]), default=None)
@click.option("--seed", type=int, default=SimulationConfig.seed, show_default=True, help="Data split, partition and batches.")
@click.option("--test-fraction", type=FiniteFloat(0, 1, low_open=True), default=SimulationConfig.test_fraction, show_default=True, help="Held out for evaluation.")
@click.option("--participants-per-round", type=click.IntRange(1, 256), default=None,
              help="Clients sampled each round from the registered ones [default: every client].")
@click.option("--dp-epsilon", type=FiniteFloat(0, 100, low_open=True), default=None,
              help="A private task (docs/PRIVACY.md): each client's (epsilon, delta) budget for the whole run; "
                   "the noise is calibrated to it [default: not private].")
@click.option("--dp-delta", type=FiniteFloat(0, 0.01, low_open=True), default=SimulationConfig.dp_delta,
              show_default=True, help="Private task: delta of the budget.")
@click.option("--dp-clip", type=FiniteFloat(0, low_open=True), default=SimulationConfig.dp_clip, show_default=True,
              help="Private task: L2 clip norm of a per-sample gradient.")
@click.option("--dp-batch", type=click.IntRange(1, 4096), default=SimulationConfig.dp_batch, show_default=True,
              help="Private task: expected batch (Poisson sampling over each client's records).")
@click.option("--name", help="Task name [default: sim-<run id>].")
@with_ledger_options
@metrics_option
@click.option("--report-dir", type=click.Path(file_okay=False), help="Where to write the report [default: the run folder].")
@click.option("--model-out", type=click.Path(dir_okay=False), help="Where to write the final model (.npz, must not exist).")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="What runs the clients: processes on this machine, or Ray actors (docs/RAY.md).")
@click.option("--ray-address", help="Ray: join this cluster ('auto' or HEAD:PORT) [default: start a local Ray instance].")
@click.option("--ray-workers", type=int, help="Ray: worker actors, one CPU each [default: the cluster's CPUs, at most one a client].")
@click.option("--ray-num-cpus", type=int, help="Ray: CPUs of the local instance [default: this machine's].")
@click.option("--ray-object-store-mb", type=int, help="Ray: object store of the local instance, MiB [default: Ray's].")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary on stdout at the end (progress on stderr).")
@click.option("--quiet", is_flag=True, help="No progress messages or progress bar.")
@friendly_errors
def simulate_cmd(dataset, label_column, model, hidden, clients, rounds, rule, trim, alpha, lr, batch_size, local_steps,
                 attackers, attack, seed, test_fraction, participants_per_round, dp_epsilon, dp_delta, dp_clip,
                 dp_batch, name, network, ledger_file,
                 metrics_file, report_dir, model_out, engine, ray_address, ray_workers, ray_num_cpus,
                 ray_object_store_mb, as_json, quiet) -> None:
    """Run a federation: N clients, R rounds, a real proof for every update, verified by the ledger.

    Running the same command again resumes the run from the ledger's state.
    """
    from wafl_sui.federation.simulation import Simulation

    cfg = SimulationConfig(dataset=dataset, clients=clients, rounds=rounds, rule=rule, trim=trim, alpha=alpha,
                           lr=lr, batch_size=batch_size, local_steps=local_steps, attackers=attackers,
                           attack=attack, seed=seed, test_fraction=test_fraction, label_column=label_column,
                           name=name, model=model, hidden=tuple(hidden), participants_per_round=participants_per_round,
                           dp_epsilon=dp_epsilon, dp_delta=dp_delta, dp_clip=dp_clip, dp_batch=dp_batch)
    engine_opts = EngineOptions(engine, ray_address, ray_workers, ray_num_cpus, ray_object_store_mb)
    if engine == "ray":
        from wafl_sui.federation.ray_engine import require_ray

        require_ray()  # before any work: the fix if Ray is not installed
    say = (lambda m: None) if quiet else (lambda m: click.echo(f"[wafl] {m}", err=True))
    sim = Simulation(cfg, ledger_spec(network, ledger_file), metrics_path=Path(metrics_file) if metrics_file else None,
                     say=say, table_file=sys.stderr if as_json else sys.stdout,
                     progress_bar=not quiet and sys.stderr.isatty(), engine=engine_opts)
    try:
        summary = sim.run(report_dir=Path(report_dir) if report_dir else None,
                          model_file=Path(model_out) if model_out else None)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: run the same command again to resume from the ledger's state", err=True)
        sys.exit(130)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


def _print_summary(s: dict[str, Any]) -> None:
    gap = s["final_accuracy"] - s["float_baseline_accuracy"]
    click.echo(f"\ntask {s['task_id']} on the {s['network']} ledger: {s['rounds']} rounds, {s['clients']} clients, {s['rule']}; "
               f"model {'-'.join(map(str, s['layer_dims']))} ({s['num_weights']:,} weights, initial accuracy "
               f"{s['initial_accuracy']:.3f})")
    click.echo(f"test accuracy {s['final_accuracy']:.3f} (float baseline {s['float_baseline_accuracy']:.3f}, "
               f"{gap:+.3f}), loss {s['final_loss']:.4f}")
    click.echo(f"updates accepted {s['updates_accepted']}, rejected {s['updates_rejected']}"
               + (f" {s['rejected_by_error']}" if s["rejected_by_error"] else "")
               + f"; proofs verified {s['proofs_verified']}")
    if s.get("dp"):
        d = s["dp"]
        click.echo(f"private: epsilon {d['epsilon_spent']:.2f} spent of {d['epsilon']:.2f} (delta {d['delta']:g}) per client; "
                   f"clip {d['clip']:g}, noise multiplier {d['noise_multiplier']:.3f}, sample rate {d['sample_rate']:.3f}")
    if s["attack"]:
        click.echo(f"attack: {s['attackers']} x {s['attack']}; forged updates accepted: {s['forged_accepted']}")
    click.echo(f"median proof {s['prove_seconds_median']} s, median verify {s['verify_seconds_median']} s, "
               f"wall {s['wall_seconds']} s")
    eng = s.get("engine") or {}
    if eng.get("engine") == "ray":
        click.echo(f"engine: ray, {eng.get('workers')} workers on {eng.get('nodes')} node(s) ({eng.get('ray_address')})")
    click.echo(f"model: {s['model_file']}\nreport: {s['report_dir']}/report.html")
