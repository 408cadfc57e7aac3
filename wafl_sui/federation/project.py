"""`wafl new NAME`: the files of a small project to start a federation from: a task config
(`wafl.toml`, read by `wafl task create --config` and `wafl simulate --config`), a Flax model
file, a client script, an evaluation script, a README of the three-terminal flow (local ledger,
then Sui devnet) and example data (a bundled dataset split into the owner's, two clients' and a
test CSV, string labels). `project_files` is pure; `write_project` refuses an existing folder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from wafl_sui.errors import WaflError

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


def check_name(name: str) -> str:
    """A project (and task) name: a letter, then letters, digits, '-' or '_' (at most 63)."""
    base = Path(name).name
    if not NAME_RE.match(base):
        raise WaflError(f"project name {base!r}: use a letter then letters, digits, '-' or '_' (at most 63), "
                        "e.g. `wafl new my-task`")
    return base


def _csv(feature_names: list[str], class_names: list[str], x: np.ndarray, y: np.ndarray) -> str:
    rows = [",".join(f"{v:g}" for v in xi) + f",{class_names[int(yi)]}" for xi, yi in zip(x, y)]
    return ",".join([*feature_names, "label"]) + "\n" + "\n".join(rows) + "\n"


def example_data(dataset: str, seed: int = 0) -> dict[str, str]:
    """The dataset as CSV files with string labels: owner.csv (what the task's data contract is
    fitted on), client-1.csv and client-2.csv (disjoint halves of the rest, rows in different
    orders), test.csv (held out, for the evaluator)."""
    from wafl_sui.client import datasets

    raw = datasets.load_raw(dataset)
    names = [re.sub(r"[^A-Za-z0-9_]+", "_", n).strip("_") or f"x{i}" for i, n in enumerate(raw.feature_names)]
    classes = [str(c) for c in raw.class_names]
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(raw.y))
    n_test = max(len(idx) // 5, len(classes))
    test, rest = idx[:n_test], idx[n_test:]
    half = len(rest) // 2
    c1, c2 = rest[:half], rest[half:][::-1]
    owner = np.sort(rest[: max(len(rest) // 3, len(classes))])
    return {name: _csv(names, classes, raw.x[part], raw.y[part])
            for name, part in (("owner.csv", owner), ("client-1.csv", c1), ("client-2.csv", c2), ("test.csv", test))}


def project_files(name: str, dataset: str = "iris") -> dict[str, str]:
    """Every file of the project by relative path (text)."""
    files = {f"data/{k}": v for k, v in example_data(dataset).items()}
    files["wafl.toml"] = CONFIG.format(name=name)
    files["model.py"] = MODEL
    files["client.py"] = CLIENT.format(name=name)
    files["evaluate.py"] = EVALUATE.format(name=name)
    files["README.md"] = README.format(name=name)
    return files


def write_project(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write the files under a NEW folder; an existing one is never touched."""
    if folder.exists():
        raise WaflError(f"{folder} already exists; choose another name or remove it (nothing was overwritten)")
    written = []
    for rel, text in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        written.append(p)
    return written


CONFIG = '''# The task "{name}": read by `wafl task create --config wafl.toml` and `wafl simulate --config wafl.toml`.
# Options on the command line override this file. Paths are relative to this file.

[task]
name = "{name}"

[data]
dataset = "data/owner.csv"     # the owner's data: the task's data contract (columns, classes, scaling) is fitted on it
label_column = "label"

[model]
model = "linear"               # or "model.py:build" (the Flax model in model.py: an MLP, proofs cost more)

[spec]
batch_size = 2                 # samples per proven step: small batches make cheap proofs

[rules]
rule = "fedavg"                # fedavg | median | trimmed-mean
lr = 1.0
quorum = 2                     # updates that close a round
rounds = 3
round_duration = 3600          # seconds
grace = 3600

[network]
network = "local"              # local | localnet | devnet | testnet

[simulate]                     # only `wafl simulate` reads these
clients = 2
seed = 0
'''

MODEL = '''"""The task's model as a Flax nnx module, read by `wafl task create --model model.py:build`.

WaFL proves each training step, so the layers are the ones its circuit knows: nnx.Linear and
wafl_sui.models.ClampedReLU (a ReLU clamped to [0, max]); the weights are quantized to the
task's fixed-point format (wafl_sui.models.from_flax reads them). A bigger model costs more per
proof (docs/CIRCUIT.md).
"""

from wafl_sui.models import make_mlp


def build():
    # 4 features -> 8 hidden (ClampedReLU) -> 3 classes: the example data (iris)
    return make_mlp(4, (8,), 3, seed=0)
'''

CLIENT = '''"""A participant: trains on its own CSV, proves each step, submits, round after round.

    python client.py --key alice --data data/client-1.csv [--allow-dev-key] [more `wafl client run` options]
"""

import sys

from wafl_sui.cli import main

if __name__ == "__main__":
    main(["client", "run", "--task", "{name}", *sys.argv[1:]])
'''

EVALUATE = '''"""An evaluator: follows the task, scores each new global model on a held-out CSV.

    python evaluate.py --evaluate data/test.csv [--allow-dev-key] [more `wafl task watch` options]
"""

import sys

from wafl_sui.cli import main

if __name__ == "__main__":
    main(["task", "watch", "--task", "{name}", *sys.argv[1:]])
'''

README = '''# {name}: a WaFL federation

`wafl.toml` is the task (data, model, rules, network); `model.py` a Flax model for it;
`client.py` and `evaluate.py` run a participant and an evaluator; `data/` holds example data:
the owner's CSV (the task's data contract is fitted on it), two clients' CSVs and a test CSV.

## Three terminals on the local ledger

Every command runs in this folder. The ledger is `$WAFL_HOME/ledger.sqlite` (default `~/.wafl`).

```bash
# terminal 1: the task owner creates the task, then watches it (records each round)
wafl keys new --name owner
wafl task create --config wafl.toml --key owner
wafl task watch --task {name}

# terminal 2: a client
wafl keys new --name alice
python client.py --key alice --data data/client-1.csv --allow-dev-key

# terminal 3: another client, and an evaluator
wafl keys new --name bob
python client.py --key bob --data data/client-2.csv --allow-dev-key &
python evaluate.py --evaluate data/test.csv --allow-dev-key

# anywhere, during or after the run
wafl status --task {name}
wafl report --task {name}
```

Each round closes when 2 updates are in (`quorum`); whoever sees it ready aggregates it. After 3
rounds the task is finished and every command stops. `--allow-dev-key`: the task runs on the
development keys `wafl task create` made (single-party: for trying it out only).

## The same on Sui devnet

```bash
wafl keys new --name owner && wafl faucet --network devnet --key owner
wafl deploy --network devnet --key owner           # once per network (or use a recorded deployment)
wafl task create --config wafl.toml --network devnet --key owner
python client.py --network devnet --key alice --data data/client-1.csv
python evaluate.py --network devnet --evaluate data/test.csv
wafl status --task {name} --network devnet
```

Each participant needs test SUI (`wafl faucet`). `--serialize-unsigned-transaction` on any of
these prints the transaction instead of sending it, to sign elsewhere.
'''
