"""Developer tooling: what only tests, benchmarks and `tools/` use. Runtime code never imports it
(tests/test_architecture.py reads the imports and fails if it does).

* `gas/`: an offline replica of Sui's gas meter running the package's and the framework's bytecode
  (bench_gas.py, the budget calibration, the gas tests).
* `vm`, `harness`: the Move-VM harness (sui-sandbox) that runs the package's pure functions for the
  parity tests, and the test-only wrapper modules it builds them with.
* `updates`: real, proven updates for the ledgers' tests and benchmarks (`UpdateMaker`).
"""
