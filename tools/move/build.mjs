// Compile a Sui Move package offline with @zktx.io/sui-move-builder (WASM Sui Move compiler).
// The framework git dependencies (implicit or explicit) are answered from a local folder of
// stub packages (move-stdlib/, sui-framework/) written by wafl_sui/contract/stubs.py.
//
// usage: node tools/move/build.mjs <package-dir> <stubs-dir> [--test]
// stdout: one JSON object, either {"modules", "dependencies", "digest", "warnings"} or
//         {"error", "category"}; exit code 0 on success, 1 on a compile error, 2 on misuse.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, basename } from "node:path";
import { initMovePackageBuilder, dumpMovePackage, MovePackageFetcher } from "@zktx.io/sui-move-builder";

function readTree(dir) {
  const out = {};
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (name !== "build" && !name.startsWith(".")) walk(p);
      } else if (name.endsWith(".move") || name === "Move.toml") {
        out[relative(dir, p)] = readFileSync(p, "utf8");
      }
    }
  };
  walk(dir);
  return out;
}

class StubFetcher extends MovePackageFetcher {
  constructor(stubsDir) { super(); this.stubsDir = stubsDir; this.requests = []; }
  async fetch(gitUrl, rev, subdir) {
    this.requests.push(`${gitUrl}@${rev}/${subdir || ""}`);
    const name = basename(subdir || "");
    const dir = join(this.stubsDir, name);
    try { statSync(dir); } catch {
      throw new Error(`dependency ${gitUrl} ${subdir} is not served offline (only move-stdlib and sui-framework are)`);
    }
    return readTree(dir);
  }
  async fetchFile() { return null; }
  getResolvedSha(_gitUrl, rev) { return rev; }
}

const args = process.argv.slice(2);
const test = args.includes("--test");
const [pkgDir, stubsDir] = args.filter((a) => !a.startsWith("--"));
if (!pkgDir || !stubsDir) {
  console.log(JSON.stringify({ error: "usage: build.mjs <package-dir> <stubs-dir> [--test]", category: "input_validation" }));
  process.exit(2);
}
// The builder compiles sources/ only; in test mode the unit tests (tests/*.move, all
// #[test_only]) are compiled as extra source files and their paths mapped back in diagnostics.
const TEST_DIR = "sources/__tests__/";
const files = readTree(pkgDir);
for (const k of Object.keys(files)) {
  if (k.startsWith("tests/")) {
    if (test) files[TEST_DIR + k.slice("tests/".length)] = files[k];
    delete files[k];
  }
}
const unmap = (s) => s.split(TEST_DIR).join("tests/");
await initMovePackageBuilder();
const fetcher = new StubFetcher(stubsDir);
const input = { files, fetcher, silenceWarnings: false, ansiColor: false };
if (test) input.modes = ["test"];
const result = await dumpMovePackage(input);
if ("error" in result) {
  console.log(JSON.stringify({ error: unmap(result.error), category: result.category || "compile" }));
  process.exit(1);
}
console.log(JSON.stringify({
  modules: result.modules,
  dependencies: result.dependencies,
  digest: result.digest,
  warnings: unmap(result.warnings || ""),
}));
