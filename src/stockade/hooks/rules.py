"""PreToolUse: one decision per tool call, from the policy's view.

Pure apart from resolving symlinks and reading ``.git`` metadata.  Deny wins
over ask, ask over warn/allow.  A tool stockade does not know has its
path-, URL- and command-like inputs checked like Read, WebFetch and Bash
calls, then gets ``tools.default``; unless a policy file sets that to
``allow``, a person must approve it.
"""

from __future__ import annotations

import posixpath

from stockade.hooks import commands
from stockade.hooks.depcheck import InstallVerdict, check_packages
from stockade.hooks.paths import glob_may_reach, resolve
from stockade.hooks.protocol import HookInput, Verdict
from stockade.hooks.shellrules import Violation, _Check, check_command
from stockade.hooks.view import HookPolicy, is_under

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stockade.hooks.shellrules import InstallChecker

_SHELL_TOOLS = {"Bash", "exec_command", "shell", "local_shell", "container.exec", "unified_exec"}
_READ_TOOLS = {"Read": "file_path", "NotebookRead": "notebook_path", "view_image": "path",
               "LS": "path"}
_WRITE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
                "NotebookEdit": "notebook_path"}
_INTERNAL = {"Task", "Agent", "TodoWrite", "TodoRead", "ExitPlanMode", "EnterPlanMode",
             "BashOutput", "KillShell", "KillBash", "AskUserQuestion", "Skill", "SlashCommand",
             "TaskOutput", "TaskStop", "update_plan", "ListMcpResourcesTool"}
# Keys of an unknown tool's input that name what it touches (searched at any depth).
_PATH_KEYS = frozenset({"file_path", "path", "notebook_path", "filepath", "filename", "file",
                        "directory", "dir", "cwd", "workdir"})
_URL_KEYS = frozenset({"url", "uri", "href", "endpoint"})
_COMMAND_KEYS = frozenset({"command", "cmd"})
# write_stdin: interrupt / end-of-file / suspend keys are harmless alone
_CONTROL_KEYS = frozenset("\x03\x04\x1a")
_RANK = {"allow": 0, "warn": 1, "ask": 2, "deny": 3}


def decide(violations: list[Violation]) -> Verdict:
    if not violations:
        return Verdict("allow")
    worst = max(violations, key=lambda v: _RANK.get(v.action, 3))
    top = [v for v in violations if v.action == worst.action]
    reason = "; ".join(dict.fromkeys(v.reason for v in top))
    if worst.action == "deny":
        reason = "blocked: " + reason
    elif worst.action == "ask":
        reason = "needs approval: " + reason
    return Verdict(worst.action if worst.action != "warn" else "allow",  # type: ignore[arg-type]
                   reason, tuple(dict.fromkeys(v.rule_id for v in violations)),
                   context=reason if worst.action == "warn" else None)


def pre_tool_use(inp: HookInput, policy: HookPolicy, *,
                 install_check: InstallChecker | None = None,
                 env: dict[str, str] | None = None) -> Verdict:
    if install_check is None:
        install_check = _workspace_checker(policy)
    tool = inp.tool_name or ""
    ti = inp.tool_input
    cwd = inp.cwd or policy.workspace
    out: list[Violation] = []
    if tool in _SHELL_TOOLS:
        cmd = _command_text(ti)
        if cmd is None:
            return Verdict("deny", f"stockade: {tool} call without a command string",
                           ("shell.unanalysable",))
        analysis = commands.analyse(cmd, cwd=_workdir(ti, cwd), home=policy.home, env=env)
        out = check_command(analysis, policy, install_check=install_check)
    elif tool == "write_stdin":
        out = _write_stdin(ti, cwd, policy, install_check=install_check, env=env)
    elif tool == "apply_patch":
        out = _apply_patch(ti, cwd, policy)
    elif tool in _READ_TOOLS:
        out = _read_path(tool, ti.get(_READ_TOOLS[tool]), cwd, policy)
    elif tool in _WRITE_TOOLS:
        out = _write_path(tool, ti.get(_WRITE_TOOLS[tool]), cwd, policy)
    elif tool in ("Glob", "Grep"):
        out = _search(tool, ti, cwd, policy)
    elif tool == "WebFetch":
        out = _web_fetch(ti, policy)
    elif tool == "WebSearch":
        out = _web_search(ti, policy)
    elif tool.startswith("mcp__"):
        out = _mcp(tool, ti, cwd, policy, install_check=install_check, env=env)
    elif tool == "ReadMcpResourceTool":
        server = str(ti.get("server", ""))
        out = _mcp(f"mcp__{server}__resource", ti, cwd, policy, install_check=install_check,
                   env=env, resource=True)
    elif tool not in _INTERNAL:
        out = _unknown(tool, ti, cwd, policy, install_check=install_check, env=env)
        out += _fallback(policy, f"`{tool}` is not a tool stockade knows")
    return decide(out)


def _fallback(policy: HookPolicy, what: str) -> list[Violation]:
    """``tools.default`` for what no rule covers.  The built-in default's
    ``allow`` does not count: a tool nobody has looked at needs a person,
    until a policy file says otherwise."""
    action = policy.default_action
    if action == "allow" and policy.default_explicit:
        return []
    if action == "allow":
        return [Violation("ask", "tools.default",
                          f"{what}, and no policy sets tools.default, so a person must approve "
                          "it (set tools.default: allow to let such tools run after stockade's "
                          "checks)")]
    return [Violation(action, "tools.default", f"{what}; the policy's tools.default is {action}")]


def _unknown(tool: str, ti: dict[str, Any], cwd: str, policy: HookPolicy, *,
             install_check: InstallChecker, env: dict[str, str] | None) -> list[Violation]:
    """An unknown tool's inputs that name files, URLs or commands, checked as
    a read (of everything under a directory), a fetch and a shell command."""
    out: list[Violation] = []
    stack: list[tuple[Any, int]] = [(ti, 0)]
    seen = 0
    while stack and seen < 2000:
        cur, depth = stack.pop()
        seen += 1
        if isinstance(cur, list) and depth < 8:
            stack.extend((v, depth + 1) for v in cur)
            continue
        if not isinstance(cur, dict) or depth >= 8:
            continue
        for key, value in cur.items():
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
                continue
            if not isinstance(value, str) or not value:
                continue
            k = key.lower() if isinstance(key, str) else ""
            if k in _PATH_KEYS or k.endswith(("_path", "_file", "_dir")):
                c = _check(policy, out, cwd, tool)
                c.check_read(resolve(_expand(value, policy), cwd=cwd), value, recursive=True)
            elif k in _URL_KEYS or k.endswith("_url"):
                out += _web_fetch({"url": value}, policy, via=tool)
            elif k in _COMMAND_KEYS:
                analysis = commands.analyse(value, cwd=cwd, home=policy.home, env=env)
                out += check_command(analysis, policy, install_check=install_check)
    return out


def _write_stdin(ti: dict[str, Any], cwd: str, policy: HookPolicy, *,
                 install_check: InstallChecker, env: dict[str, str] | None) -> list[Violation]:
    """Codex's write_stdin types into a running session, usually a shell:
    what it types is checked as a shell command."""
    chars = ti.get("chars", ti.get("input", ""))
    if not isinstance(chars, str):
        return [Violation("ask", "shell.unanalysable", "`write_stdin` without text")]
    text = chars.replace("\r\n", "\n").replace("\r", "\n")
    rest = text.strip(" \t\n")
    if not rest or set(rest) <= _CONTROL_KEYS:
        return []
    if any(c < " " and c not in "\t\n" or c == "\x7f" for c in rest):
        # line editing keys (backspace, ^U, ^W, escapes) change what the
        # shell runs from what is written here
        return [Violation("ask", "shell.unanalysable",
                          "`write_stdin` sends control characters that edit the line, so "
                          "stockade cannot tell what would run")]
    analysis = commands.analyse(text, cwd=cwd, home=policy.home, env=env)
    return check_command(analysis, policy, install_check=install_check)


def _command_text(ti: dict[str, Any]) -> str | None:
    cmd = ti.get("command", ti.get("cmd"))
    if isinstance(cmd, list) and all(isinstance(c, str) for c in cmd):
        # Codex `shell` tool: argv; ["bash", "-lc", "script"] is common
        import shlex

        return " ".join(shlex.quote(c) for c in cmd)
    return cmd if isinstance(cmd, str) else None


def _workdir(ti: dict[str, Any], cwd: str) -> str:
    wd = ti.get("workdir") or ti.get("cwd")
    if isinstance(wd, str) and wd:
        return posixpath.normpath(posixpath.join(cwd, wd))
    return cwd


def _workspace_checker(policy: HookPolicy) -> InstallChecker:
    """The dependency check under the workspace's policy (a project
    stockade.yaml applies even when the hook runs from another directory)."""
    def check(ecosystem: str, packages: tuple[str, ...],
              where: str | None = None) -> InstallVerdict:
        return check_packages(ecosystem, packages, cwd=policy.workspace, files_dir=where)
    check.reads_files = True  # type: ignore[attr-defined]  # shellrules passes `where`
    return check


def _check(policy: HookPolicy, out: list[Violation], cwd: str, name: str) -> _Check:
    # a one-word invocation named after the tool, so reasons name the tool
    inv = commands.Invocation((commands.Arg(name, name),), cwd)
    return _Check(inv, policy, out, _workspace_checker(policy))


def _read_path(tool: str, path: Any, cwd: str, policy: HookPolicy) -> list[Violation]:
    out: list[Violation] = []
    if not isinstance(path, str) or not path:
        return out
    _check(policy, out, cwd, tool).check_read(resolve(_expand(path, policy), cwd=cwd), path)
    return out


def _write_path(tool: str, path: Any, cwd: str, policy: HookPolicy) -> list[Violation]:
    out: list[Violation] = []
    if not isinstance(path, str) or not path:
        return [Violation("deny", "fs.write_outside", f"`{tool}` without a file path")]
    c = _check(policy, out, cwd, tool)
    c.check_read(resolve(_expand(path, policy), cwd=cwd), path)
    c.check_write(commands.Arg(_expand(path, policy), path), verb="writes to")
    return out


def _search(tool: str, ti: dict[str, Any], cwd: str, policy: HookPolicy) -> list[Violation]:
    out: list[Violation] = []
    base = ti.get("path")
    base = _expand(base, policy) if isinstance(base, str) and base else cwd
    c = _check(policy, out, cwd, tool)
    ref = resolve(base, cwd=cwd)
    pattern = ti.get("pattern") if tool == "Glob" else ti.get("glob")
    # Grep reads every file below its root; Glob lists below it only with **
    recursive = tool == "Grep" or not isinstance(pattern, str) or "**" in pattern
    c.check_read(ref, str(ti.get("path") or "."), recursive=recursive)
    if isinstance(pattern, str) and pattern and not out:
        full = pattern if pattern.startswith("/") else posixpath.join(
            ref.candidates[0] if ref.candidates else cwd, pattern)
        full = _expand(full, policy)
        for root in policy.deny_read:
            if glob_may_reach(full.replace("**", "*"), root) or (
                    "**" in full and is_under(root, full.split("**")[0].rstrip("/") or "/")):
                c.deny_read(pattern, root)
                break
    return out


def _expand(path: str, policy: HookPolicy) -> str:
    if path == "~" or path.startswith("~/"):
        return policy.home + path[1:]
    for var in ("$HOME", "${HOME}"):
        if path.startswith(var):
            return policy.home + path[len(var):]
    return path


def _web_fetch(ti: dict[str, Any], policy: HookPolicy, *,
               via: str = "WebFetch") -> list[Violation]:
    url = ti.get("url")
    out: list[Violation] = []
    if not isinstance(url, str) or not url:
        return [Violation("deny", "net.unknown_host", f"`{via}` without a URL")]
    # Python's urlsplit and the client's URL parser (Node's WHATWG) disagree
    # on these: `https://evil.example\\@pypi.org/` is pypi.org to one and
    # evil.example to the other.  Refused before any parsing.
    if any(c == "\\" or c <= " " or c == "\x7f" for c in url):
        return [Violation("deny", "net.bad_url",
                          f"`{via}` URL contains a backslash, a control character or white "
                          "space, which URL parsers read differently")]
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
        if "@" in parts.netloc:
            return [Violation("deny", "net.bad_url",
                              f"`{via}` URL carries a user name or password before its host; "
                              "fetch the URL without them")]
        host, port = parts.hostname, parts.port
        if port is None:
            port = 80 if parts.scheme == "http" else 443
    except ValueError:
        host, port = None, None
    _check(policy, out, policy.workspace, via).host(host, port, via=via)
    return out


def _web_search(ti: dict[str, Any], policy: HookPolicy) -> list[Violation]:
    allowed = ti.get("allowed_domains")
    if isinstance(allowed, list) and allowed:
        bad = [d for d in allowed if not isinstance(d, str) or not policy.host_allowed(d)]
        if bad:
            return [Violation("deny", "net.host_not_allowed",
                              f"`WebSearch` would read {', '.join(map(str, bad[:5]))}, not in "
                              "network.allow")]
        return []
    return [Violation("ask", "net.unknown_host",
                      "`WebSearch` without allowed_domains can read any site; pass "
                      "allowed_domains from network.allow or get approval")]


def _mcp(tool: str, ti: dict[str, Any], cwd: str, policy: HookPolicy, *,
         install_check: InstallChecker, env: dict[str, str] | None,
         resource: bool = False) -> list[Violation]:
    rest = tool[len("mcp__"):]
    server, _, name = rest.partition("__")
    allowed = policy.mcp.get(server)
    if allowed is None:
        # an unlisted server's tools are tools stockade does not know
        out = _unknown(tool, ti, cwd, policy, install_check=install_check, env=env)
        return out + [v._replace(rule_id="tools.mcp") for v in _fallback(
            policy, f"MCP server `{server}` is not listed in tools.mcp")]
    if "*" in allowed or name in allowed or resource:
        return []
    return [Violation("deny", "tools.mcp",
                      f"MCP tool `{name}` of server `{server}` is not in its allow-list "
                      f"(tools.mcp.{server}: {', '.join(allowed) or 'none'})")]


def _apply_patch(ti: dict[str, Any], cwd: str, policy: HookPolicy) -> list[Violation]:
    text = ti.get("command", ti.get("input", ti.get("patch")))
    if isinstance(text, list):
        text = "\n".join(str(t) for t in text)
    out: list[Violation] = []
    if not isinstance(text, str):
        return [Violation("ask", "shell.unanalysable", "`apply_patch` without patch text")]
    c = _check(policy, out, cwd, "apply_patch")
    for line in text.splitlines():
        for marker in ("*** Add File: ", "*** Update File: ", "*** Delete File: ",
                       "*** Move to: "):
            if line.startswith(marker):
                path = _expand(line[len(marker):].strip(), policy)
                c.check_write(commands.Arg(path, path), verb="patches")
    return out


__all__ = ["decide", "pre_tool_use"]
