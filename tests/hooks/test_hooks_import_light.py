"""The hook runs once per agent tool call: its modules do not load `re` (with
`enum`, ~10 ms of every call).  A review fix once added `import re` to
shellrules and made Bash allow 2.24x a no-op hook (target 2x)."""

from __future__ import annotations

import subprocess
import sys


def test_the_hook_path_does_not_import_re() -> None:
    code = ("import sys\n"
            "import stockade.commands.hook, stockade.hooks.shellrules, stockade.hooks.depcheck\n"
            "print(sorted(m for m in ('re', 'enum', 'typing') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "'re'" not in r.stdout and "'enum'" not in r.stdout, r.stdout
