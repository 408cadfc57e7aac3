"""Private tasks (issue 21) on digits, 4 clients, delta 1e-5: accuracy against epsilon and the
identification attack.

* Float DP-SGD (numpy: Poisson sampling q = B / N per client, per-sample clipping, Gaussian noise
  of multiplier z on the clipped sum, FedAvg), z from the task's accountant
  (`privacy_accounting.multiplier_for`, dp-accounting's RDP at integer orders) for epsilon 1, 3, 8
  over the run's rounds, for the linear model and the default MLP (64-32-10), beside the non-private run
  (fixed batch B, no clipping, no noise); and the linear model's DP-SGD with optax's own DP
  aggregation (`optax.contrib.differentially_private_aggregate`, a well-kept library).
* `integer_private_run`: the proven integer private step (`protocol.dp_step.private_step`, the
  circuit's twin) replayed without proofs: each client's registered data padded to N records,
  its secret seed, the round's randomness, the calibrated DpParams (`privacy_accounting.calibrate`).
* The identification attack: an observer with the old and new weights of one update
  reconstructs, per class c, the image -(W_old - W_new)[c][:D] (the class's gradient row, sign
  flipped); where c has exactly one sample in the batch, it scores a hit when that sample is the
  batch's nearest to the reconstruction in angle (chance 1/|batch|). (Dividing the row by its bias
  entry and taking the Euclidean nearest scored 5-21% here: the other samples' positive errors
  dominate the bias entry.) Non-private: `protocol.train_step` (batch 16) on a partly trained model;
  private: float DP-SGD and the integer private step with the same clip and noise.

    .venv/bin/python benchmarks/bench_dp.py [--smoke] [--write] [--machine busy|idle]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _results import add_arguments, record, spec_note  # noqa: E402

from wafl_sui import protocol  # noqa: E402
from wafl_sui.client import data as client_data  # noqa: E402
from wafl_sui.client import datasets  # noqa: E402
from wafl_sui.client import privacy_accounting as pa  # noqa: E402
from wafl_sui.client.private_params import private_params  # noqa: E402

DELTA = 1e-5
CLIENTS = 4
EPSILONS = (1.0, 3.0, 8.0)
# model -> (hidden, lr, expected batch B, clip, rounds): the probes' working parameters (../shared/probes/dp-float)
MODELS = {"linear": (0, 3.0, 64, 2.0, 25), "mlp 64-32-10": (32, 4.0, 64, 1.0, 25)}  # hidden, lr, batch, clip, rounds


def load(seed: int = 0):
    """The protocol's data: digits, the held-out split and scaling of `wafl simulate`, 4 IID parts."""
    raw = datasets.load_raw("digits")
    train, test = datasets.split(raw, 0.2, seed)
    scaling = datasets.scaling_for(train)
    parts = client_data.partition(datasets.to_dataset(train, scaling), CLIENTS, seed=seed)
    return parts, datasets.to_dataset(test, scaling)


def hsig(z):
    return np.clip(z / 4 + 0.5, 0.0, 1.0)


def init(hidden: int, rng) -> list[np.ndarray]:
    if hidden == 0:
        return [np.zeros((10, 65))]
    w0, w1 = rng.normal(0, np.sqrt(2 / 64), (hidden, 65)), rng.normal(0, np.sqrt(1 / hidden), (10, hidden + 1))
    w0[:, -1] = 0
    w1[:, -1] = 0
    return [w0, w1]


def accuracy(w, test) -> float:
    xa = np.hstack([test.x, np.ones((len(test), 1))])
    out = xa @ w[0].T if len(w) == 1 else np.hstack([np.clip(xa @ w[0].T, 0, 4), np.ones((len(test), 1))]) @ w[1].T
    return float((out.argmax(1) == test.y).mean())


def clipped_grads(w, x, t, clip):
    """The per-sample-clipped gradient sums (linear: e (x) xa; MLP: per-layer norm product)."""
    xa = np.hstack([x, np.ones((len(x), 1))])
    if len(w) == 1:
        e = hsig(xa @ w[0].T) - t
        n2 = (e ** 2).sum(1) * (xa ** 2).sum(1)
        f = np.minimum(1, clip / np.sqrt(np.maximum(n2, 1e-12)))
        return [(e * f[:, None]).T @ xa]
    z1 = xa @ w[0].T
    h = np.clip(z1, 0, 4)
    ha = np.hstack([h, np.ones((len(x), 1))])
    e = hsig(ha @ w[1].T) - t
    dh = (e @ w[1][:, :-1]) * ((z1 > 0) & (z1 < 4))
    n2 = (e ** 2).sum(1) * (ha ** 2).sum(1) + (dh ** 2).sum(1) * (xa ** 2).sum(1)
    f = np.minimum(1, clip / np.sqrt(np.maximum(n2, 1e-12)))
    return [(dh * f[:, None]).T @ xa, (e * f[:, None]).T @ ha]


def float_step(w, part, rng, lr, batch, clip, z):
    """One client's step: z None = non-private (fixed batch, no clipping); else DP-SGD. Returns
    (new weights, batch indices)."""
    if z is None:
        idx = rng.choice(len(part), batch, replace=False)
        clip_ = np.inf
    else:
        idx = np.flatnonzero(rng.random(len(part)) < batch / len(part))
        clip_ = clip
    g = clipped_grads(w, part.x[idx], np.eye(10)[part.y[idx]], clip_)
    if z is not None:
        g = [gi + rng.normal(0, z * clip, gi.shape) for gi in g]
    return [wi - lr * gi / batch for wi, gi in zip(w, g)], idx


def optax_run(lr, batch, clip, rounds, z, parts, test, seed) -> float:
    """The linear model's DP-SGD with optax's own DP aggregation (`optax.contrib.
    differentially_private_aggregate`: per-example clipping, Gaussian noise of std clip * z on the
    sum, divided by the realised batch) on the same Poisson batches: a well-kept library beside our
    float and integer steps."""
    import jax
    import jax.numpy as jnp
    import optax

    tx = optax.contrib.differentially_private_aggregate(l2_norm_clip=clip, noise_multiplier=z, key=jax.random.key(seed))
    state = tx.init(jnp.zeros((10, 65)))
    update = jax.jit(tx.update)
    rng = np.random.default_rng(seed)
    w = np.zeros((10, 65))
    for _ in range(rounds):
        ups = []
        for p in parts:
            idx = np.flatnonzero(rng.random(len(p)) < batch / len(p))
            if not len(idx):
                ups.append(w)
                continue
            xa = np.hstack([p.x[idx], np.ones((len(idx), 1))])
            e = hsig(xa @ w.T) - np.eye(10)[p.y[idx]]
            g, state = update(jnp.asarray(e[:, :, None] * xa[:, None, :]), state)
            ups.append(w - lr * np.asarray(g))
        w = np.mean(ups, 0)
    return accuracy([w], test)


def float_run(hidden, lr, batch, clip, rounds, z, parts, test, seed) -> float:
    rng = np.random.default_rng(seed)
    w = init(hidden, rng)
    for _ in range(rounds):
        ups = [float_step(w, p, rng, lr, batch, clip, z)[0] for p in parts]
        w = [np.mean([u[i] for u in ups], 0) for i in range(len(w))]
    return accuracy(w, test)


def integer_private_run(params, parts, test, rounds: int, lr: float, seed: int = 0, attack_rounds: int = 0):
    """The proven integer private step, replayed without proofs: per round each client runs
    `protocol.dp_step.private_step` on its registered (padded) data with its secret seed and the
    round's randomness, the server takes `protocol.fedavg`. Returns (accuracy, attack trials)."""
    spec = protocol.StepSpec(features=64, classes=10, batch_size=round(params.sample_rate * params.records),
                             privacy=params)
    lr_q = protocol.lr_to_fixed(lr, spec.batch_size, spec.lr_frac_bits, spec.lr_bits)
    rng = np.random.default_rng(seed)
    regs = []
    for p in parts:
        x, y, n = protocol.privacy.pad_dataset(client_data.quantize_features(p.x, spec).tolist(),
                                              client_data.one_hot(p.y, 10).tolist(), params.records, 64, 10)
        regs.append((x, y, n, secrets.randbelow(protocol.FIELD_MODULUS)))
    w = [0] * spec.num_weights
    trials = []
    for r in range(rounds):
        randomness = rng.bytes(32)
        ups = []
        for ci, (x, y, n, s) in enumerate(regs):
            st = protocol.dp_step.private_step(w, x, y, n, s, randomness, lr_q, spec)
            ups.append(st.new_weights)
            if r >= rounds - attack_rounds:
                idx = np.flatnonzero(st.mask)
                trials += attack_trials(np.array(w, float).reshape(10, 65), np.array(st.new_weights, float).reshape(10, 65),
                                        parts[ci].x[idx], parts[ci].y[idx])
        w = protocol.fedavg(ups)
    wf = np.array(w, dtype=float).reshape(10, 65) / 2 ** spec.frac_bits
    return accuracy([wf], test), trials


# --- the identification attack -------------------------------------------------------------------

def attack_trials(w_old: np.ndarray, w_new: np.ndarray, bx: np.ndarray, by: np.ndarray) -> list[tuple[bool, int]]:
    """(hit, batch size) for each class c with exactly one sample in the batch. The reconstruction
    is the class's gradient row with its sign flipped, -(W_old - W_new)[c][:D] (the one sample of
    class c has a negative error, the others' are >= 0 and mostly 0 under the hard sigmoid): a hit
    when that sample is the batch's nearest to it in angle (largest x . rec / |x|)."""
    dw = w_old - w_new
    out = []
    for c in range(dw.shape[0]):
        members = np.flatnonzero(by == c)
        if len(members) != 1 or len(by) < 2:
            continue
        rec = -dw[c, :-1]
        score = (bx @ rec) / np.maximum(np.linalg.norm(bx, axis=1), 1e-12)
        out.append((int(np.argmax(score)) == int(members[0]), len(by)))
    return out


def rate(trials) -> tuple[float, float, int]:
    """(success, chance = mean 1/|batch|, trials)."""
    if not trials:
        return float("nan"), float("nan"), 0
    return float(np.mean([h for h, _ in trials])), float(np.mean([1 / b for _, b in trials])), len(trials)


def attack_protocol_step(parts, updates: int, seed: int = 0):
    """Non-private: protocol.train_step (batch 16, lr 3) on a linear model partly trained (3
    rounds of the same step on every client)."""
    spec = protocol.StepSpec(features=64, classes=10, batch_size=16)
    lr_q = protocol.lr_to_fixed(3.0, 16, spec.lr_frac_bits, spec.lr_bits)
    rng = np.random.default_rng(seed)
    w = [0] * spec.num_weights
    for _ in range(3):
        ups = []
        for p in parts:
            idx = rng.choice(len(p), 16, replace=False)
            ups.append(protocol.train_step(w, client_data.quantize_features(p.x[idx], spec).tolist(),
                                           client_data.one_hot(p.y[idx], 10).tolist(), lr_q, spec))
        w = protocol.fedavg(ups)
    trials = []
    for u in range(updates):
        p = parts[u % len(parts)]
        idx = rng.choice(len(p), 16, replace=False)
        new = protocol.train_step(w, client_data.quantize_features(p.x[idx], spec).tolist(),
                                  client_data.one_hot(p.y[idx], 10).tolist(), lr_q, spec)
        trials += attack_trials(np.array(w, float).reshape(10, 65), np.array(new, float).reshape(10, 65),
                                p.x[idx], p.y[idx])
    return trials


def attack_float(parts, updates: int, batch: int, clip: float, z, seed: int = 0):
    """Float updates of the linear model (partly trained: 3 non-private rounds), z None = no noise."""
    rng = np.random.default_rng(seed)
    w = init(0, rng)
    for _ in range(3):
        w = [np.mean([float_step(w, p, rng, 3.0, 16, clip, None)[0][0] for p in parts], 0)]
    trials = []
    for u in range(updates):
        p = parts[u % len(parts)]
        new, idx = float_step(w, p, rng, 3.0, batch, clip, z)
        trials += attack_trials(w[0], new[0], p.x[idx], p.y[idx])
    return trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--integer-rounds", type=int, default=25, help="rounds of the integer replay (0: skip)")
    ap.add_argument("--integer-eps", type=float, nargs="*", default=[8.0])
    ap.add_argument("--attack-updates", type=int, default=200,
                    help="updates attacked at batch 16; batch 64 gets 15x as many (a class has exactly one "
                         "sample in a batch of 64 far less often)")
    args = ap.parse_args()
    seeds = 1 if args.smoke else args.seeds
    parts, test = load()
    records = max(len(p) for p in parts)
    eps_list = (8.0,) if args.smoke else EPSILONS
    lines = [f"Float DP-SGD, {CLIENTS} clients, delta {DELTA:g}, records per client N = {records}, Poisson q = B / N; "
             f"accuracy on the held-out {len(test)} (mean of {seeds} seed(s), min-max); z from the accountant.", "",
             "| model | B | clip | lr | rounds | epsilon | z | accuracy | s |", "|---|---|---|---|---|---|---|---|---|"]
    for name, (hidden, lr, batch, clip, rounds) in MODELS.items():
        rounds = 2 if args.smoke else rounds
        for eps in (None, *eps_list):
            t = time.time()
            z = None if eps is None else pa.multiplier_for(batch / records, rounds, eps, DELTA)
            accs = [float_run(hidden, lr, batch, clip, rounds, z, parts, test, s) for s in range(seeds)]
            lines.append(f"| {name} | {batch} | {clip if z else '-'} | {lr} | {rounds} | {'inf' if z is None else eps:} | "
                         f"{'-' if z is None else f'{z:.3f}'} | {np.mean(accs):.3f} ({min(accs):.3f}-{max(accs):.3f}) | "
                         f"{time.time() - t:.1f} |")
            print(lines[-1], flush=True)
    # the same DP-SGD of the linear model with optax's DP aggregation
    hidden, lr, batch, clip, rounds = MODELS["linear"]
    rounds = 2 if args.smoke else rounds
    for eps in eps_list:
        t = time.time()
        z = pa.multiplier_for(batch / records, rounds, eps, DELTA)
        accs = [optax_run(lr, batch, clip, rounds, z, parts, test, s) for s in range(seeds)]
        lines.append(f"| linear, optax DP aggregate | {batch} | {clip} | {lr} | {rounds} | {eps} | {z:.3f} | "
                     f"{np.mean(accs):.3f} ({min(accs):.3f}-{max(accs):.3f}) | {time.time() - t:.1f} |")
        print(lines[-1], flush=True)

    updates = 8 if args.smoke else args.attack_updates
    att = ["", f"Identification attack ({updates} updates at batch 16, {15 * updates} at batch 64; trials = classes "
               "with exactly one sample in the batch; chance = mean 1/|batch|; the target: success <= chance + 0.05):", "",
           "| updates | batch | success | chance | trials |", "|---|---|---|---|---|"]

    def att_row(label, batch, trials):
        s, c, n = rate(trials)
        att.append(f"| {label} | {batch} | {s:.3f} | {c:.3f} | {n} |")
        print(att[-1], flush=True)

    att_row("protocol.train_step (integer, non-private)", 16, attack_protocol_step(parts, updates))
    att_row("float, non-private", 16, attack_float(parts, updates, 16, 2.0, None))
    for batch in (16, 64):
        for eps in eps_list:
            z = pa.multiplier_for(batch / records, 25, eps, DELTA)
            att_row(f"float DP-SGD, clip 2, z {z:.3f} (epsilon {eps:g}, 25 rounds)", f"Poisson {batch}",
                    attack_float(parts, updates * (15 if batch == 64 else 1), batch, 2.0, z))

    integer = ["", "Integer private step (`protocol.dp_step.private_step`, the proven step replayed without proofs; "
                   "DpParams from `privacy_accounting.calibrate`, linear, lr 3, expected batch 64, clip 2):", ""]
    irounds = 1 if args.smoke else args.integer_rounds
    if irounds:
        integer += ["| epsilon | rounds | clip_frac_bits | sigma0 | k | tail | z | epsilon (accountant) | accuracy | attack success | chance | trials | s |",
                    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for eps in ([8.0] if args.smoke else args.integer_eps):
            t = time.time()
            # the parameters `wafl simulate --dp-epsilon` would choose (the circuit must fit)
            p = private_params(protocol.StepSpec(features=64, classes=10, batch_size=64), target_epsilon=eps,
                               target_delta=DELTA, steps=irounds if args.smoke else 25, records=records, clip=2.0,
                               expected_batch=64)
            acc, trials = integer_private_run(p, parts, test, irounds, 3.0, attack_rounds=min(irounds, 3))
            s, c, n = rate(trials)
            integer.append(f"| {eps} | {irounds} | {p.clip_frac_bits} | {p.noise_sigma0} | {p.noise_k} | {p.noise_tail} | "
                           f"{pa.noise_multiplier(p):.3f} | {pa.epsilon(p, 650, irounds):.3f} | {acc:.3f} | {s:.3f} | "
                           f"{c:.3f} | {n} | {time.time() - t:.0f} |")
            print(integer[-1], flush=True)
    else:
        integer.append("(skipped: --integer-rounds 0)")
    body = "\n".join(lines + att + integer)
    print(record(args, "bench_dp", "Private tasks: accuracy against epsilon, the identification attack", body,
                 spec_note({"digits": protocol.StepSpec(features=64, classes=10, batch_size=64)})))


if __name__ == "__main__":
    main()
