"""The `wafl` command line: commands parse options, call the library and print.

Every command that scripts consume takes `--json`. Bad input ends with a one-line `Error: ...`
that names the problem and the fix, exit code 1 (2 for usage errors), and no traceback.
"""

from wafl_sui.cli.main import main

__all__ = ["main"]
