"""Groth16 keys of the step circuit: a fast development setup and the ceremony path.

* `dev_setup(artifacts)`: single-party setup with groth16py (arkworks, native, seconds). Whoever
  ran it knows the toxic waste and can forge proofs: the outputs say "setup": "dev-insecure".
  It yields a groth16py proving key (no snarkjs .zkey), so only the groth16py prover uses it.
* `ceremony_setup(artifacts, ptau, contributions=...)`: snarkjs phase 2 on a user-supplied
  powers-of-tau file (e.g. a published Hermez/perpetual ceremony file with 2^power >= the
  constraint count): `zkey new`, N `zkey contribute` (each with its own entropy), an optional
  `zkey beacon`, `zkey verify` of the final key against the r1cs and the ptau, then
  `zkey export verificationkey`. Both provers (snarkjs, groth16py via import_zkey) use it.
* `load_keys(artifacts, kind)`: find keys made earlier (cached next to the circuit).

Keys live in <circuit dir>/keys/dev/ and <circuit dir>/keys/ceremony/ with a setup.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from wafl_sui.errors import WaflError
from wafl_sui.protocol import StepSpec
from wafl_sui.zk.circuit import CircuitArtifacts, run_snarkjs
from wafl_sui.zk.circuit import build as build_circuit

Progress = Optional[Callable[[str], None]]
DEV_WARNING = ("INSECURE development setup: a single party generated (and could keep) the toxic "
               "waste, so proofs under this key prove nothing to anyone else. Use ceremony_setup "
               "for any deployment.")


class SetupError(WaflError, RuntimeError):
    """A Groth16 setup step failed; the message names the problem and the fix."""


@dataclass(frozen=True)
class SetupKeys:
    kind: str                      # "dev-insecure" or "ceremony"
    dir: Path
    vk_json: Path                  # snarkjs verification_key.json form
    pk: Optional[Path] = None      # groth16py ProvingKey.save file (dev setup)
    zkey: Optional[Path] = None    # snarkjs .zkey (ceremony)
    meta: Optional[dict] = None

    def verification_key(self) -> dict:
        return json.loads(self.vk_json.read_text())


def _snarkjs(args: Sequence, what: str) -> str:
    return run_snarkjs(args, what, SetupError)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def keys_dir(artifacts: CircuitArtifacts, kind: str) -> Path:
    return Path(artifacts.dir) / "keys" / ("dev" if kind == "dev-insecure" else kind)


# --------------------------------------------------------------------------- development
def dev_setup(artifacts: CircuitArtifacts, *, force: bool = False, progress: Progress = None) -> SetupKeys:
    """Fast single-party INSECURE setup with groth16py; cached next to the circuit."""
    try:
        import groth16py
    except ImportError:
        raise SetupError("groth16py is not installed; `pip install groth16py==0.2.0`") from None
    d = keys_dir(artifacts, "dev-insecure")
    if not force:
        try:
            return load_keys(artifacts, "dev-insecure")
        except SetupError:
            pass
    if not Path(artifacts.r1cs).is_file():
        raise SetupError(f"missing {artifacts.r1cs}: build the circuit first (circuit.build)")
    tmp = d.with_name(f"dev.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if progress:
        progress(f"development (INSECURE) Groth16 setup of {artifacts.constraints} constraints ...")
    t0 = time.perf_counter()
    try:
        pk, vk = groth16py.setup(str(artifacts.r1cs))
    except Exception as e:  # groth16py raises its own SetupError
        raise SetupError(f"groth16py setup failed: {e}") from None
    secs = time.perf_counter() - t0
    pk.save(str(tmp / "proving_key.g16py"))
    vk_obj = json.loads(vk.to_json())
    vk_obj["wafl_setup"] = "dev-insecure"
    (tmp / "verification_key.json").write_text(json.dumps(vk_obj, indent=1))
    meta = {"setup": "dev-insecure", "warning": DEV_WARNING, "tool": f"groth16py {groth16py.__version__}",
            "circuit_hash": artifacts.hash, "constraints": artifacts.constraints,
            "seconds": round(secs, 3), "created": _now()}
    if progress:
        progress(f"development setup done in {secs:.1f} s (INSECURE: for development only)")
    keys = _install_keys(artifacts, tmp, d, meta)
    _RESIDENT[_resident_key(keys)] = pk  # this process need not read back what it just made
    return keys


# --------------------------------------------------------------------------- ceremony
def make_dev_ptau(power: int, out: Path, *, entropy: Optional[str] = None, progress: Progress = None) -> Path:
    """A single-contribution powers of tau (INSECURE, for tests and development only; snarkjs).
    2^12 takes seconds; 2^16 about half an hour on 2 cores: use a published file for real keys."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp0, tmp1 = out.with_suffix(".0.ptau"), out.with_suffix(".1.ptau")
    if progress:
        progress(f"powers of tau 2^{power} (INSECURE, single contribution) ...")
    _snarkjs(["powersoftau", "new", "bn128", power, tmp0], "powersoftau new")
    _snarkjs(["powersoftau", "contribute", tmp0, tmp1, "--name=wafl-dev",
              f"-e={entropy or secrets.token_hex(32)}"], "powersoftau contribute")
    _snarkjs(["powersoftau", "prepare", "phase2", tmp1, out], "powersoftau prepare phase2")
    tmp0.unlink(missing_ok=True)
    tmp1.unlink(missing_ok=True)
    return out


def ceremony_setup(artifacts: CircuitArtifacts, ptau: Path, *, contributions: int | Sequence[str] = 1,
                   names: Optional[Sequence[str]] = None, beacon: Optional[str] = None,
                   beacon_iterations: int = 10, force: bool = False,
                   progress: Progress = None) -> SetupKeys:
    """Phase-2 ceremony with snarkjs on a powers-of-tau file; returns verified keys.

    contributions: a number N (random entropy for each) or the list of entropy strings.
    beacon: optional hex beacon (e.g. a future block hash) applied last (2^beacon_iterations).
    force: replace existing ceremony keys of this circuit (otherwise they are never touched:
    tasks created with their verifying key accept only proofs made with them).
    """
    if not force:
        try:
            old = load_keys(artifacts, "ceremony")
        except SetupError:
            pass
        else:
            raise SetupError(f"ceremony keys for circuit {artifacts.hash} already exist in {old.dir}; "
                             "nothing was changed. Replacing them (force) makes tasks created with "
                             "their verifying key reject your new proofs")
    ptau = Path(ptau)
    if not ptau.is_file():
        raise SetupError(f"powers-of-tau file {ptau} not found: download a prepared phase-2 ptau "
                         f"with 2^power >= {artifacts.constraints} constraints (e.g. the Hermez "
                         "ceremony files) or make an insecure one with make_dev_ptau")
    if not Path(artifacts.r1cs).is_file():
        raise SetupError(f"missing {artifacts.r1cs}: build the circuit first (circuit.build)")
    entropies = ([secrets.token_hex(32) for _ in range(contributions)]
                 if isinstance(contributions, int) else [str(e) for e in contributions])
    if not entropies:
        raise SetupError("a ceremony needs at least one phase-2 contribution")
    names = list(names or [f"contribution {i + 1}" for i in range(len(entropies))])
    d = keys_dir(artifacts, "ceremony")
    tmp = d.with_name(f"ceremony.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    if progress:
        progress("ceremony: zkey new (phase 2 from the powers of tau) ...")
    try:
        _snarkjs(["groth16", "setup", artifacts.r1cs, ptau, tmp / "step_0000.zkey"], "zkey new")
    except SetupError as e:
        if "than the constraints" in str(e) or "circuit too big" in str(e).lower():
            raise SetupError(f"the powers of tau {ptau} is too small for {artifacts.constraints} "
                             "constraints: use a ptau with a larger power") from None
        raise
    prev = tmp / "step_0000.zkey"
    for i, (ent, name) in enumerate(zip(entropies, names), start=1):
        if progress:
            progress(f"ceremony: contribution {i}/{len(entropies)} ({name}) ...")
        nxt = tmp / f"step_{i:04d}.zkey"
        _snarkjs(["zkey", "contribute", prev, nxt, f"--name={name}", f"-e={ent}"], f"zkey contribute {i}")
        prev.unlink()
        prev = nxt
    if beacon:
        if progress:
            progress("ceremony: beacon ...")
        nxt = tmp / "step_beacon.zkey"
        _snarkjs(["zkey", "beacon", prev, nxt, beacon, str(beacon_iterations), "--name=final beacon"],
                 "zkey beacon")
        prev.unlink()
        prev = nxt
    final = tmp / "step_final.zkey"
    prev.rename(final)
    if progress:
        progress("ceremony: zkey verify against the r1cs and the powers of tau ...")
    verify_zkey(artifacts, ptau, final)
    _snarkjs(["zkey", "export", "verificationkey", final, tmp / "verification_key.json"], "export vk")
    secs = time.perf_counter() - t0
    meta = {"setup": "ceremony", "circuit_hash": artifacts.hash, "constraints": artifacts.constraints,
            "ptau": str(ptau), "ptau_sha256": _sha256(ptau), "contributions": names,
            "beacon": beacon, "zkey_sha256": _sha256(final), "seconds": round(secs, 3),
            "created": _now(), "verified": True}
    if progress:
        progress(f"ceremony keys ready in {secs:.1f} s ({d})")
    return _install_keys(artifacts, tmp, d, meta)


def _install_keys(artifacts: CircuitArtifacts, tmp: Path, d: Path, meta: dict) -> SetupKeys:
    """Write setup.json into the finished key folder `tmp` and put it in place of `d`."""
    (tmp / "setup.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(d, ignore_errors=True)
    tmp.rename(d)
    return load_keys(artifacts, meta["setup"])


def verify_zkey(artifacts: CircuitArtifacts, ptau: Path, zkey: Path) -> bool:
    """`snarkjs zkey verify`: the zkey belongs to this r1cs and this powers of tau. Raises on failure."""
    out = _snarkjs(["zkey", "verify", artifacts.r1cs, ptau, zkey], "zkey verify")
    if "ZKey Ok!" not in out:
        raise SetupError(f"zkey {zkey} does not match the circuit {artifacts.r1cs} and {ptau}:\n{out[-2000:]}")
    return True


# --------------------------------------------------------------------------- loading
def load_keys(artifacts: CircuitArtifacts, kind: Optional[str] = None) -> SetupKeys:
    """Keys made earlier for this circuit. kind None: the ceremony keys if any, else dev keys."""
    kinds = [kind] if kind else ["ceremony", "dev-insecure"]
    for k in kinds:
        if k not in ("ceremony", "dev-insecure"):
            raise SetupError(f"unknown setup kind {k!r}: 'ceremony' or 'dev-insecure'")
        d = keys_dir(artifacts, k)
        meta_p, vk_p = d / "setup.json", d / "verification_key.json"
        if not (meta_p.is_file() and vk_p.is_file()):
            continue
        meta = json.loads(meta_p.read_text())
        if meta.get("circuit_hash") != artifacts.hash:
            continue
        pk = d / "proving_key.g16py"
        zkey = d / "step_final.zkey"
        return SetupKeys(kind=k, dir=d, vk_json=vk_p, pk=pk if pk.is_file() else None,
                         zkey=zkey if zkey.is_file() else None, meta=meta)
    raise SetupError(f"no {' or '.join(kinds)} keys for circuit {artifacts.hash} in {artifacts.dir}/keys: "
                     "run groth16_setup.dev_setup(artifacts) (development) or ceremony_setup(...)")


# Proving keys loaded in this process, by file (and its modification time). A process forked
# after `proving_key` shares the loaded key instead of reading it again: loading a groth16py dev
# key takes longer than making it (~15 s at the digits size), so the simulator loads it once and
# forks its client processes from there (federation.worker.host_main).
_RESIDENT: dict[tuple[str, int], object] = {}


def _resident_key(keys: SetupKeys) -> tuple[str, int]:
    path = keys.pk if keys.pk is not None else keys.zkey
    if path is None:
        raise SetupError(f"no proving key in {keys.dir}: re-run the setup")
    return str(Path(path).resolve()), Path(path).stat().st_mtime_ns


def proving_key(keys: SetupKeys):
    """The groth16py ProvingKey of `keys`, loaded once per process (dev keys: `ProvingKey.load`;
    ceremony keys: `import_zkey`). SetupError with the fix if it cannot be loaded."""
    try:
        import groth16py
    except ImportError:
        raise SetupError("groth16py is not installed; `pip install groth16py==0.2.0`") from None
    k = _resident_key(keys)
    if k not in _RESIDENT:
        try:
            _RESIDENT[k] = (groth16py.ProvingKey.load(k[0]) if keys.pk is not None
                            else groth16py.import_zkey(k[0])[0])
        except Exception as e:
            raise SetupError(f"could not load the proving key from {keys.dir}: {e}; re-run the setup") from None
    return _RESIDENT[k]


@dataclass
class Keys:
    artifacts: CircuitArtifacts
    setup: SetupKeys


def ensure_keys(spec: StepSpec, kind: Optional[str] = None, progress: Progress = None) -> Keys:
    """The circuit of `spec` and its keys: cached ones (ceremony first), else a new dev setup.

    kind: None (any; make dev keys if none), "dev-insecure", or "ceremony" (must exist already:
    `wafl setup --ptau FILE`).
    """
    art = build_circuit(spec, progress=progress)
    try:
        keys = load_keys(art, kind)
    except SetupError:
        if kind == "ceremony":
            raise SetupError(
                f"no ceremony keys for circuit {art.hash}: run `wafl setup --ptau FILE` first"
            ) from None
        if progress:
            progress("no keys yet for this circuit: running the development setup (INSECURE) ...")
        keys = dev_setup(art, progress=progress)
    return Keys(art, keys)


def setup_keys(spec: StepSpec, *, ptau: Optional[Path] = None, contributions: int = 1,
               beacon: Optional[str] = None, force: bool = False, progress: Progress = None) -> dict:
    """Compile the circuit of `spec` and set up its keys: the ceremony path with `ptau`, else the
    (cached) development setup. Returns what a user needs to know, with the vk in Sui bytes."""
    from wafl_sui.zk import sui_bytes

    art = build_circuit(spec, progress=progress)
    if ptau is not None:
        keys = ceremony_setup(art, ptau, contributions=contributions, beacon=beacon, force=force,
                              progress=progress)
    else:
        keys = dev_setup(art, progress=progress)  # reuses existing dev keys
    return {
        "circuit_hash": art.hash, "constraints": art.constraints, "setup": keys.kind,
        "keys_dir": str(keys.dir), "vk": sui_bytes.vk_bytes_from_snarkjs(keys.verification_key()).hex(),
        "spec": spec.to_dict(), "warning": DEV_WARNING if keys.kind == "dev-insecure" else None,
    }
