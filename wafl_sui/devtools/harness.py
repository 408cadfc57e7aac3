"""Builds of the Move package for the Move-VM tests only, never published.

The published package exposes only what users call (`task::*` entry points and getters, the
`spec::new` / `round::new_rules` / `rules::new_aggregation` constructors); its rules are
`public(package)`. The parity tests reach those inner functions through `wafl::parity_<module>`,
wrapper modules that exist only in the harness build: `build_variant` copies `move/` (without
its tests and build folder) to a scratch folder, applies textual substitutions (e.g. stand-ins
for natives the sandbox VM cannot run), adds extra modules and compiles the copy. A module of
the same package may call `public(package)` functions, so the wrappers need no change to the
published API.

`MoveVM.shared()` (wafl_sui/devtools/vm.py) runs `build_harness()`; `MoveVM.inner(module, fn,
args)` calls `parity_<module>::<fn>`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Mapping

from wafl_sui.contract.build import DEFAULT_PACKAGE, MoveBuild, MoveBuildError, build_package

PARITY_PREFIX = "parity_"


def _parity(module: str, uses: str, body: str) -> str:
    return (
        f"/// Move-VM test harness (wafl_sui/devtools/harness.py): wrappers of `wafl::{module}`'s\n"
        "/// `public(package)` functions for the parity tests. Compiled only into harness builds;\n"
        "/// never part of the published package.\n"
        f"module wafl::{PARITY_PREFIX}{module};\n\n{uses}\n\n{body}"
    )


# Wrappers of the package's inner functions, one module per inner module (`parity_<module>`, so
# that calling one loads only the modules it needs: the sandbox VM cannot load sui::poseidon, so
# `parity_commitment` and `parity_task` work only in builds with a stand-in hash). They take
# values (not references) so the VM can pass BCS inputs, and return `true` for functions that
# only check.
PARITY_MODULES = {
    "rules": _parity("rules", "use wafl::rules;", """\
public fun aggregate(updates: vector<vector<u32>>, rule: u8, trim_bps: u64): vector<u32> {
    rules::aggregate(&updates, rule, trim_bps)
}
public fun fedavg(updates: vector<vector<u32>>): vector<u32> { rules::fedavg(&updates) }
public fun median(updates: vector<vector<u32>>): vector<u32> { rules::median(&updates) }
public fun trimmed_mean(updates: vector<vector<u32>>, trim_bps: u64): vector<u32> {
    rules::trimmed_mean(&updates, trim_bps)
}
public fun trim_count(n: u64, trim_bps: u64): u64 { rules::trim_count(n, trim_bps) }
public fun validate_rule(rule: u8, trim_bps: u64): bool { rules::validate_rule(rule, trim_bps); true }
public fun add_to_sums(mut sums: vector<u64>, weights: vector<u32>): vector<u64> {
    rules::add_to_sums(&mut sums, &weights);
    sums
}
public fun fedavg_from_sums(sums: vector<u64>, n: u64): vector<u32> { rules::fedavg_from_sums(&sums, n) }
public fun zero_sums(m: u64): vector<u64> { rules::zero_sums(m) }
public fun constants(): vector<u64> {
    vector[rules::fedavg_rule() as u64, rules::median_rule() as u64, rules::trimmed_mean_rule() as u64, rules::bps()]
}
"""),
    "spec": _parity("spec", "use wafl::spec::StepSpec;", """\
public fun max_intermediate_bits(s: StepSpec): u64 { s.max_intermediate_bits() }
public fun check_lr_q(s: StepSpec, lr_q: u64): bool { s.check_lr_q(lr_q); true }
public fun pack_weights(s: StepSpec, encoded: vector<u32>): vector<u256> { s.pack_weights(&encoded) }
public fun num_weights_u256(s: StepSpec): u256 { s.num_weights_u256() }
public fun mul_sat(a: u256, b: u256): u256 { wafl::spec::mul_sat(a, b) }
"""),
    "codec": _parity("codec", "use wafl::codec;", """\
public fun pack(values: vector<u32>, bits: u8): vector<u256> { codec::pack(&values, bits) }
public fun values_per_element(bits: u8): u64 { codec::values_per_element(bits) }
public fun address_limbs(a: address): (u256, u256) { codec::address_limbs(a) }
public fun context_preimage(task: address, sender: address, round: u64, lr_q: u64): vector<u256> {
    codec::context_preimage(task, sender, round, lr_q)
}
public fun public_inputs(old_model: u256, new_model: u256, data: u256, context: u256): vector<u256> {
    codec::public_inputs(old_model, new_model, data, context)
}
public fun public_inputs_bytes(values: vector<u256>): vector<u8> { codec::public_inputs_bytes(&values) }
public fun vk_num_public_inputs(vk: vector<u8>): u64 { codec::vk_num_public_inputs(&vk) }
public fun check_verifying_key(vk: vector<u8>): u64 { codec::check_verifying_key(&vk) }
public fun constants(): vector<u256> {
    vector[codec::field_modulus(), codec::pack_bits() as u256, codec::context_domain()]
}
"""),
    "round": _parity("round", "use wafl::round;", """\
public fun deadline(start_ms: u64, duration_ms: u64): u64 { round::deadline(start_ms, duration_ms) }
public fun grace_deadline(deadline_ms: u64, grace_ms: u64): u64 { round::grace_deadline(deadline_ms, grace_ms) }
public fun check_registration(finished: bool, allowed: bool): bool {
    round::check_registration(finished, allowed);
    true
}
public fun check_open(finished: bool, round_open: bool): bool { round::check_open(finished, round_open); true }
public fun check_submit(
    finished: bool, round_open: bool, now_ms: u64, deadline_ms: u64, aggregating: bool, sampled: bool,
    allowed: bool, already_submitted: bool,
): bool {
    round::check_submit(finished, round_open, now_ms, deadline_ms, aggregating, sampled, allowed, already_submitted);
    true
}
public fun check_aggregate(
    finished: bool, round_open: bool, now_ms: u64, deadline_ms: u64, aggregating: bool, num_updates: u64,
    sample_size: u64, quorum: u64,
): bool {
    round::check_aggregate(finished, round_open, now_ms, deadline_ms, aggregating, num_updates, sample_size, quorum);
    true
}
public fun check_discard(
    finished: bool, round_open: bool, now_ms: u64, deadline_ms: u64, grace_ms: u64, aggregating: bool,
    num_updates: u64, quorum: u64,
): bool {
    round::check_discard(finished, round_open, now_ms, deadline_ms, grace_ms, aggregating, num_updates, quorum);
    true
}
public fun check_restart(finished: bool, round_open: bool, aggregating: bool, num_updates: u64): bool {
    round::check_restart(finished, round_open, aggregating, num_updates);
    true
}
public fun min_grace_ms(): u64 { round::min_grace_ms() }
public fun next_round(round: u64, max_rounds: u64): (u64, bool) { round::next_round(round, max_rounds) }
public fun max_updates_per_round(): u64 { round::max_updates_per_round() }
"""),
    "participants": _parity("participants", "use wafl::participants;", """\
public fun sample(pool: vector<address>, k: u64, seed: vector<u8>): vector<address> {
    participants::sample(&pool, k, &seed)
}
public fun draw(seed: vector<u8>, i: u64, m: u64): u64 { participants::draw(&seed, i, m) }
public fun check_register(already_registered: bool, num_registered: u64, deposit: u64, deposit_mist: u64): bool {
    participants::check_register(already_registered, num_registered, deposit, deposit_mist);
    true
}
public fun check_leave(holds_deposit: bool, sampled_in_open_round: bool): bool {
    participants::check_leave(holds_deposit, sampled_in_open_round);
    true
}
public fun check_pool(pool_size: u64, quorum: u64): bool { participants::check_pool(pool_size, quorum); true }
public fun max_participants(): u64 { participants::max_participants() }
public fun randomness_bytes(): u64 { participants::randomness_bytes() }
"""),
    "budget": _parity("budget", "use wafl::budget;\nuse wafl::rules::AggregationRule;", """\
public fun heap_levels(n: u64): u64 { budget::heap_levels(n) }
public fun selection_work(n: u64, a: AggregationRule): (u64, u64) { budget::selection_work(n, &a) }
public fun coordinate_internal(n: u64, a: AggregationRule): u256 { budget::coordinate_internal(n, &a) }
public fun load_per_weight(n: u64): u64 { budget::load_per_weight(n) }
public fun step_internal(m: u256, a: AggregationRule, n: u64, coords: u64): u256 {
    budget::step_internal(m, &a, n, coords)
}
public fun step_units(m: u256, a: AggregationRule, n: u64, coords: u64): u256 {
    budget::step_units(m, &a, n, coords)
}
public fun coords_per_step(m: u64, a: AggregationRule, n: u64): u64 { budget::coords_per_step(m, &a, n) }
public fun aggregation_steps(m: u64, a: AggregationRule, n: u64): u64 {
    budget::aggregation_steps(m, &a, n)
}
public fun check_task_budget(m: u256, a: AggregationRule, quorum: u64): bool {
    budget::check_task_budget(m, &a, quorum);
    true
}
public fun constants(): vector<u64> {
    let mut out = vector[budget::max_tx_units(), budget::step_budget_units()];
    out.append(budget::coefficients());
    out
}
"""),
    "commitment": _parity("commitment", "use wafl::commitment;", """\
public fun tree16(leaves: vector<u256>): u256 { commitment::tree16(leaves) }
public fun model_commitment(encoded: vector<u32>, bits: u8): u256 {
    commitment::model_commitment(&encoded, bits)
}
public fun context_hash(task: address, sender: address, round: u64, lr_q: u64): u256 {
    commitment::context_hash(task, sender, round, lr_q)
}
"""),
    "manifest": _parity("manifest", "use wafl::manifest;", """\
public fun max_manifest_bytes(): u64 { manifest::max_manifest_bytes() }
public fun check_size(m: vector<u8>): bool { manifest::check_size(&m); true }
public fun manifest_hash(m: vector<u8>): u256 { manifest::manifest_hash(&m) }
"""),
    "task": _parity("task", "use wafl::task;", """\
public fun version(): u64 { task::package_version() }
"""),
}


def build_variant(
    extra: Mapping[str, str] | None = None,
    replace: Mapping[str, tuple[str, str]] | None = None,
    package_dir: str | Path = DEFAULT_PACKAGE,
    parity: bool = True,
) -> MoveBuild:
    """Compile a scratch copy of `package_dir` (sources only) with `replace` ({file: (old, new)},
    each `old` must occur), extra modules `extra` ({file name: Move source}) and, by default, the
    `wafl::parity_*` wrappers."""
    with tempfile.TemporaryDirectory(prefix="wafl-move-harness-") as tmp:
        pkg = Path(tmp) / "move"
        shutil.copytree(package_dir, pkg, ignore=shutil.ignore_patterns("build", "tests"))
        for name, (old, new) in (replace or {}).items():
            f = pkg / "sources" / name
            text = f.read_text()
            if old not in text:
                raise MoveBuildError(f"harness substitution: {old!r} is not in sources/{name}", "input_validation")
            f.write_text(text.replace(old, new))
        sources = dict(extra or {})
        if parity:
            sources.update({f"{PARITY_PREFIX}{m}.move": text for m, text in PARITY_MODULES.items()})
        for name, text in sources.items():
            (pkg / "sources" / name).write_text(text)
        return build_package(pkg)


def build_harness() -> MoveBuild:
    """The package with the `wafl::parity_*` wrappers (what `MoveVM.shared()` loads)."""
    return build_variant()
