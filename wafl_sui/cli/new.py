"""`wafl new NAME`: write a small project to start a federation from (config, model, scripts,
README, example data); an existing folder is never touched."""

from __future__ import annotations

from pathlib import Path

import click

from wafl_sui.cli.common import friendly_errors


@click.command("new")
@click.argument("name")
@click.option("--dataset", default="iris", show_default=True,
              help="The example data: a bundled dataset (iris, wine, breast_cancer, digits) split into CSVs.")
@friendly_errors
def new_cmd(name: str, dataset: str) -> None:
    """Write the project NAME/ (task config wafl.toml, model.py, client.py, evaluate.py, README.md, data/)."""
    from wafl_sui.federation.project import check_name, project_files, write_project

    folder = Path(name)
    task_name = check_name(name)
    if folder.exists():  # checks first: before any data is read
        raise click.ClickException(f"{folder} already exists; choose another name or remove it "
                                   "(nothing was overwritten)")
    written = write_project(folder, project_files(task_name, dataset))
    click.echo(f"wrote {folder}/: " + ", ".join(str(p.relative_to(folder)) for p in written))
    click.echo(f"next: cd {folder} and follow README.md (three terminals: the owner, two clients, an evaluator)")
