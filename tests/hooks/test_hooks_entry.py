"""The hook's own entry point (`main_fast`, what `python -m stockade hook`
can route to without argparse) and the record type the hot path uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.commands.hook import main_fast
from stockade.hooks._record import Record


@pytest.mark.parametrize("argv", [[], ["bogus"], ["claude-code", "--timeout"],
                                  ["claude-code", "--timeout", "x"], ["codex", "extra"]])
def test_bad_arguments_are_usage_errors(argv: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main_fast(argv) == 2
    assert "usage: stockade hook" in capsys.readouterr().err


def test_the_hook_process_answers_and_exits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (tmp_path / "managed.yaml").write_text("version: 1\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "STOCKADE_HOME": str(tmp_path / "st"),
           "STOCKADE_MANAGED_POLICY": str(tmp_path / "managed.yaml")}
    payload = {"session_id": "s", "cwd": str(tmp_path), "hook_event_name": "PreToolUse",
               "tool_name": "Bash", "tool_input": {"command": "cat ~/.ssh/id_rsa"},
               "tool_use_id": "toolu_x"}
    code = ("import sys; from stockade.commands.hook import main_fast; "
            "sys.exit(main_fast(['claude-code', '--workspace', sys.argv[1]]))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, timeout=60,
                          input=json.dumps(payload).encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_the_rules_use_the_policy_code_without_loading_the_policy_loader() -> None:
    # the policy loader and YAML cost more than a hook call's budget; the rules
    # need only the pure leaf modules (the package's names load lazily)
    code = ("import sys; from stockade.hooks.view import HookPolicy; "
            "p = HookPolicy('/w', '/h', ('/w',), ('/h/.ssh',), ('*.github.com',)); "
            "print(p.host_allowed('api.github.com', 443), p.host_allowed('github.com.evil.example'), "
            "p.read_denied('/h/.ssh/x'), 'stockade.config.loader' in sys.modules, "
            "'stockade.config.schema' in sys.modules, 'yaml' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.split() == ["True", "False", "/h/.ssh", "False", "False", "False"]


class Point(Record):
    """A doc."""

    x: int
    label: str = "p"

    @property
    def double(self) -> int:
        return self.x * 2


def test_record_behaves_like_a_named_tuple() -> None:
    p = Point(2)
    assert (p.x, p.label, p.double) == (2, "p", 4)
    assert p == Point(x=2, label="p") and hash(p) == hash(Point(2))
    assert p._replace(label="q") == Point(2, "q")
    assert p._asdict() == {"x": 2, "label": "p"}
    assert repr(p) == "Point(x=2, label='p')"
    assert Point.__doc__ == "A doc."
    with pytest.raises(AttributeError):
        p.x = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, "a", "extra")  # type: ignore[call-arg]
