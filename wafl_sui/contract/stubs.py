"""Compile-only interface stubs of the Sui framework (MoveStdlib 0x1, Sui 0x2), generated offline.

No Sui sources are on any package registry, but the `sui-sandbox` wheel ships the framework
*bytecode*. `sui_sandbox.extract_interface` turns bytecode into an interface (structs, enums,
public function signatures); this module writes it back as Move source packages whose public
functions are `native` declarations. Compiling a package against these stubs gives the same
bytecode and digest as compiling it against the real framework sources (only signatures and
layouts enter the compiled module), so `wafl move build` can serve the framework dependency
from them (see `wafl_sui/contract/build.py`).

Gaps of bytecode-derived stubs, covered here or documented:
  * `#[syntax(index)]` and `#[defines_primitive]` are source-only attributes: re-added for the
    known framework functions (INDEX_FUNCTIONS, PRIMITIVES).
  * Macros (`do!`, `assert_eq!`) and `public use fun` aliases are source-only: not available;
    the WaFL package does not use them.
  * Test-only modules are not in release bytecode: in test mode hand-written compile-only
    stubs of `sui::test_scenario`, `std::unit_test` and the `*_for_testing` functions the
    WaFL tests use are added (TEST_ONLY_*). They let `move/tests` compile here; running them
    needs the real framework (`sui move test`).

Stubs are generated into a cache folder, never committed: `$WAFL_HOME/move-stubs/<key>`
(default `~/.cache/wafl/move-stubs/<key>`), key = sui-sandbox version + generator version +
mode.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from wafl_sui.errors import WaflError
from wafl_sui.contract import bytecode

STUBS_VERSION = "3"  # bump when the generated text changes
STD_ADDRESS = "0x" + "0" * 63 + "1"
SUI_ADDRESS = "0x" + "0" * 63 + "2"
NAMED_ADDRESSES = {STD_ADDRESS: "std", SUI_ADDRESS: "sui"}
# folder name (= last component of the git subdir the builder asks for), package name, deps
PACKAGES = {
    "std": ("move-stdlib", "MoveStdlib", ""),
    "sui": ("sui-framework", "Sui", 'MoveStdlib = { local = "../move-stdlib" }\n'),
}
MOVE_KEYWORDS = {
    "abort", "as", "break", "const", "continue", "copy", "else", "enum", "false", "for", "friend",
    "fun", "if", "let", "loop", "macro", "match", "module", "move", "mut", "native", "phantom",
    "public", "return", "struct", "true", "type", "use", "while",
}
PRIMITIVES = {"vector", "u8", "u16", "u32", "u64", "u128", "u256", "address", "bool"}
INDEX_FUNCTIONS = {
    (m, f)
    for m in ("table", "object_table", "bag", "object_bag", "linked_table", "table_vec", "vector")
    for f in ("borrow", "borrow_mut")
} | {("vec_map", "get"), ("vec_map", "get_mut")}

# ---------------------------------------------------------------- hand-written test-only stubs
TEST_ONLY_MODULES = {
    ("std", "unit_test"): """#[test_only]
module std::unit_test {
    public native fun poison();
    public native fun destroy<T>(x: T);
}
""",
    ("sui", "test_scenario"): """#[test_only]
module sui::test_scenario {
    use sui::object::{ID, UID};
    use sui::tx_context::TxContext;
    use std::option::Option;

    public struct Scenario { txn_number: u64, ctx: TxContext }
    public struct TransactionEffects has drop {
        created: vector<ID>, written: vector<ID>, deleted: vector<ID>, shared: vector<ID>,
        frozen: vector<ID>, num_user_events: u64,
    }
    public native fun begin(sender: address): Scenario;
    public native fun next_tx(scenario: &mut Scenario, sender: address): TransactionEffects;
    public native fun next_epoch(scenario: &mut Scenario, sender: address): TransactionEffects;
    public native fun later_epoch(scenario: &mut Scenario, delta_ms: u64, sender: address): TransactionEffects;
    public native fun end(scenario: Scenario): TransactionEffects;
    public native fun ctx(scenario: &mut Scenario): &mut TxContext;
    public native fun new_object(scenario: &mut Scenario): UID;
    public native fun sender(scenario: &Scenario): address;
    public native fun num_concluded_txes(scenario: &Scenario): u64;
    public native fun created(effects: &TransactionEffects): vector<ID>;
    public native fun written(effects: &TransactionEffects): vector<ID>;
    public native fun deleted(effects: &TransactionEffects): vector<ID>;
    public native fun shared(effects: &TransactionEffects): vector<ID>;
    public native fun frozen(effects: &TransactionEffects): vector<ID>;
    public native fun num_user_events(effects: &TransactionEffects): u64;
    public native fun take_from_address<T: key>(scenario: &Scenario, account: address): T;
    public native fun take_from_address_by_id<T: key>(scenario: &Scenario, account: address, id: ID): T;
    public native fun return_to_address<T: key>(account: address, t: T);
    public native fun take_from_sender<T: key>(scenario: &Scenario): T;
    public native fun take_from_sender_by_id<T: key>(scenario: &Scenario, id: ID): T;
    public native fun return_to_sender<T: key>(scenario: &Scenario, t: T);
    public native fun has_most_recent_for_sender<T: key>(scenario: &Scenario): bool;
    public native fun has_most_recent_for_address<T: key>(account: address): bool;
    public native fun most_recent_id_for_sender<T: key>(scenario: &Scenario): Option<ID>;
    public native fun take_shared<T: key>(scenario: &Scenario): T;
    public native fun take_shared_by_id<T: key>(scenario: &Scenario, id: ID): T;
    public native fun most_recent_id_shared<T: key>(): Option<ID>;
    public native fun has_most_recent_shared<T: key>(): bool;
    public native fun return_shared<T: key>(t: T);
    public native fun take_immutable<T: key>(scenario: &Scenario): T;
    public native fun return_immutable<T: key>(t: T);
}
""",
    ("sui", "test_utils"): """#[test_only]
module sui::test_utils {
    public native fun assert_eq<T: drop>(t1: T, t2: T);
    public native fun destroy<T>(x: T);
}
""",
}
# extra functions appended to generated modules in test mode
TEST_ONLY_FUNCTIONS = {
    ("sui", "clock"): [
        "public native fun create_for_testing(ctx: &mut sui::tx_context::TxContext): sui::clock::Clock;",
        "public native fun share_for_testing(clock: sui::clock::Clock);",
        "public native fun increment_for_testing(clock: &mut sui::clock::Clock, tick: u64);",
        "public native fun set_for_testing(clock: &mut sui::clock::Clock, timestamp_ms: u64);",
        "public native fun destroy_for_testing(clock: sui::clock::Clock);",
    ],
    ("sui", "tx_context"): [
        "public native fun dummy(): sui::tx_context::TxContext;",
    ],
}


class StubError(WaflError, RuntimeError):
    """The framework bytecode or its interface could not be read from the sui-sandbox wheel."""


# ---------------------------------------------------------------- bytecode extraction


def _sandbox_library() -> Path:
    import sui_sandbox

    found = glob.glob(os.path.join(os.path.dirname(sui_sandbox.__file__), "sui_sandbox*.so"))
    if not found:
        raise StubError("sui-sandbox is installed without its native library; reinstall sui-sandbox==0.22.0")
    return Path(found[0])


def framework_interfaces() -> dict[str, dict[str, dict]]:
    """{address: {module: interface}} of the framework modules inside the sui-sandbox wheel."""
    import sui_sandbox

    blob = _sandbox_library().read_bytes()
    out: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, code in enumerate(bytecode.modules_in(blob)):
            d = Path(tmp, str(n), "bytecode_modules")
            d.mkdir(parents=True)
            (d / "m.mv").write_bytes(code)
            try:
                iface = sui_sandbox.extract_interface(bytecode_dir=str(d.parent))
            except Exception:  # not a module after all (false magic match)
                continue
            for name, mod in iface.get("modules", {}).items():
                if mod.get("address") in NAMED_ADDRESSES:
                    out.setdefault(mod["address"], {})[name] = mod
    for addr, named in NAMED_ADDRESSES.items():
        if not out.get(addr):
            raise StubError(f"no {named} ({addr}) framework modules found in {_sandbox_library()}")
    return out


# ---------------------------------------------------------------- Move source generation
def _ident(n: str) -> str:
    return f"`{n}`" if n in MOVE_KEYWORDS else n


def _type(t: dict) -> str:
    k = t["kind"]
    if k in ("u8", "u16", "u32", "u64", "u128", "u256", "bool", "address", "signer"):
        return k
    if k == "vector":
        return f"vector<{_type(t['type'])}>"
    if k == "ref":
        return ("&mut " if t["mutable"] else "&") + _type(t["to"])
    if k == "type_param":
        return f"T{t['index']}"
    if k == "datatype":
        addr = NAMED_ADDRESSES.get(t["address"], t["address"])
        args = ", ".join(_type(x) for x in t["type_args"])
        return f"{addr}::{t['module']}::{t['name']}" + (f"<{args}>" if args else "")
    raise StubError(f"unknown type kind in interface: {t}")


def _type_params(params: list[dict], allow_phantom: bool) -> str:
    if not params:
        return ""
    parts = []
    for i, p in enumerate(params):
        s = ("phantom " if allow_phantom and p.get("is_phantom") else "") + f"T{i}"
        if p.get("constraints"):
            s += ": " + " + ".join(p["constraints"])
        parts.append(s)
    return "<" + ", ".join(parts) + ">"


def _fields(fields: list[dict]) -> str:
    return ", ".join(f"{_ident(f['name'])}: {_type(f['type'])}" for f in fields)


def module_source(named: str, name: str, mod: dict, extra_functions: list[str] = ()) -> str:
    lines = []
    if named == "std" and name in PRIMITIVES:
        lines.append(f"#[defines_primitive({name})]")
    lines.append(f"module {named}::{name} {{")
    for sname, s in sorted(mod.get("structs", {}).items()):
        ab = (" has " + ", ".join(s["abilities"])) if s.get("abilities") else ""
        lines.append(f"    public struct {sname}{_type_params(s['type_params'], True)}{ab} {{ {_fields(s['fields'])} }}")
    for ename, e in sorted(mod.get("enums", {}).items()):
        ab = (" has " + ", ".join(e["abilities"])) if e.get("abilities") else ""
        variants = []
        for v in e["variants"]:
            fs = _fields(v.get("fields", []))
            variants.append(f"{v['name']} {{ {fs} }}" if fs else v["name"])
        lines.append(f"    public enum {ename}{_type_params(e['type_params'], True)}{ab} {{ {', '.join(variants)} }}")
    for fname, f in sorted(mod.get("functions", {}).items()):
        if f["visibility"] != "public":  # private / package functions are unreachable from users
            continue
        params = ", ".join(f"p{i}: {_type(p)}" for i, p in enumerate(f["params"]))
        rets = [_type(r) for r in f["returns"]]
        ret = "" if not rets else ": " + (rets[0] if len(rets) == 1 else "(" + ", ".join(rets) + ")")
        entry = "entry " if f.get("is_entry") else ""
        if (name, fname) in INDEX_FUNCTIONS:
            lines.append("    #[syntax(index)]")
        lines.append(f"    public {entry}native fun {_ident(fname)}{_type_params(f['type_params'], False)}({params}){ret};")
    for extra in extra_functions:
        lines.append("    #[test_only]")
        lines.append("    " + extra)
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_stubs(out: Path, test_mode: bool = False) -> Path:
    """Write MoveStdlib (out/move-stdlib) and Sui (out/sui-framework) stub packages."""
    out = Path(out)
    ifaces = framework_interfaces()
    for addr, named in NAMED_ADDRESSES.items():
        folder, pkg_name, deps = PACKAGES[named]
        src = out / folder / "sources"
        src.mkdir(parents=True, exist_ok=True)
        short = "0x" + addr[2:].lstrip("0")
        (out / folder / "Move.toml").write_text(
            f'[package]\nname = "{pkg_name}"\nedition = "2024"\n\n[dependencies]\n{deps}\n'
            f'[addresses]\n{named} = "{short}"\n'
        )
        for name, mod in sorted(ifaces[addr].items()):
            extra = TEST_ONLY_FUNCTIONS.get((named, name), []) if test_mode else []
            (src / f"{name}.move").write_text(module_source(named, name, mod, extra))
        if test_mode:
            for (n, name), text in TEST_ONLY_MODULES.items():
                if n == named:
                    (src / f"{name}.move").write_text(text)
    return out


def cache_root() -> Path:
    home = os.environ.get("WAFL_HOME")
    return Path(home) if home else Path.home() / ".cache" / "wafl"


def stubs_key(test_mode: bool) -> str:
    try:
        from importlib.metadata import version

        sandbox_version = version("sui-sandbox")
    except Exception:  # pragma: no cover - metadata missing
        sandbox_version = "unknown"
    h = hashlib.sha256(f"{sandbox_version}|{STUBS_VERSION}|{test_mode}".encode()).hexdigest()[:12]
    return f"sui-sandbox-{sandbox_version}-{'test' if test_mode else 'build'}-{h}"


def ensure_stubs(test_mode: bool = False, root: Path | None = None) -> Path:
    """The stub folder for this sui-sandbox version, generated on first use (atomic rename)."""
    base = Path(root) if root else cache_root() / "move-stubs"
    target = base / stubs_key(test_mode)
    if (target / "sui-framework" / "Move.toml").exists() and (target / "move-stdlib" / "Move.toml").exists():
        return target
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".stubs-", dir=base))
    try:
        write_stubs(tmp, test_mode=test_mode)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race
            if not (target / "sui-framework" / "Move.toml").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
