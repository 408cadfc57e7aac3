"""The `wafl` command group: one module per command (group), registered here."""

from __future__ import annotations

import click

from wafl_sui.cli.client import client_group
from wafl_sui.cli.dashboard import dashboard_cmd
from wafl_sui.cli.deploy import deploy_cmd
from wafl_sui.cli.demo_step import demo_step_cmd
from wafl_sui.cli.evaluate import evaluate_cmd
from wafl_sui.cli.keys import faucet_cmd, keys_group
from wafl_sui.cli.model import model_group
from wafl_sui.cli.move import move_group
from wafl_sui.cli.new import new_cmd
from wafl_sui.cli.prove import prove_cmd
from wafl_sui.cli.report import report_cmd
from wafl_sui.cli.setup import setup_cmd
from wafl_sui.cli.simulate import simulate_cmd
from wafl_sui.cli.spec import spec_cmd
from wafl_sui.cli.status import status_cmd
from wafl_sui.cli.task import task_group
from wafl_sui.cli.verify import verify_cmd
from wafl_sui.cli.watch import watch_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wafl-sui", prog_name="wafl")
def main() -> None:
    """WaFL: verifiable federated learning on Sui (Groth16 proofs of fixed-point training steps)."""


for _cmd in (new_cmd, simulate_cmd, status_cmd, dashboard_cmd, report_cmd, evaluate_cmd, task_group, client_group,
             model_group, keys_group, faucet_cmd, deploy_cmd, spec_cmd, setup_cmd, prove_cmd, verify_cmd,
             demo_step_cmd, move_group):
    main.add_command(_cmd)
task_group.add_command(watch_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
