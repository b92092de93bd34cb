"""From a shell syntax tree to the list of programs it would run.

Pure except for reading script files named by ``bash FILE`` / ``source FILE``
(so what runs is what is checked).  Every program started anywhere (pipeline
stages, ``$(...)``, ``bash -c``, ``env``/``sudo``/``xargs``/``timeout``
wrappers, ``find -exec``) becomes one :class:`Invocation` with its words
expanded as far as they can be known before the command runs.  A value only
known at run time keeps a :data:`DYN` marker; rules decide what that means.
"""

from __future__ import annotations

import os
import posixpath

from stockade.hooks import shell
from stockade.hooks._record import Record

DYN = "\x00"
MAX_SCRIPT_FILE = 64 * 1024
MAX_INVOCATIONS = 500
_KNOWN_ENV = ("HOME", "USER", "LOGNAME", "CLAUDE_PROJECT_DIR")
_GLOB = set("*?[")
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox-sh"}


class Arg(Record):
    value: str
    raw: str
    dynamic: bool = False
    glob: bool = False

    @property
    def known(self) -> bool:
        return not self.dynamic


class IO(Record):
    """A redirection: ``kind`` is read, write, append, dup or text (a here-
    document / here-string, whose text is in ``text``)."""

    kind: str
    fd: int | None
    path: Arg | None = None
    text: Arg | None = None


class Invocation(Record):
    argv: tuple[Arg, ...]
    cwd: str | None
    io: tuple[IO, ...] = ()
    wrappers: tuple[str, ...] = ()
    stdin_pipe: bool = False
    stdin_args: bool = False
    depth: int = 0
    # VAR=value words before the program or given to `env` (a proxy or an
    # index URL set for this one command)
    assigns: tuple[tuple[str, Arg], ...] = ()

    @property
    def name(self) -> str:
        return posixpath.basename(self.argv[0].value) if self.argv else ""

    @property
    def args(self) -> tuple[Arg, ...]:
        return self.argv[1:]

    def words(self) -> list[str]:
        return [a.value for a in self.argv]


class Analysis(Record):
    invocations: tuple[Invocation, ...]
    # Why part of the command could not be analysed (the caller fails closed).
    problems: tuple[str, ...]


class _State:
    __slots__ = ("cwd", "env", "home")

    def __init__(self, cwd: str | None, env: dict[str, str | None], home: str):
        self.cwd = cwd
        self.env = env
        self.home = home

    def copy(self) -> _State:
        return _State(self.cwd, dict(self.env), self.home)


class _Out:
    __slots__ = ("invocations", "problems")

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self.problems: list[str] = []


def analyse(command: str, *, cwd: str, home: str, env: dict[str, str] | None = None) -> Analysis:
    """Parse ``command`` and list every program it would start."""
    known: dict[str, str | None] = {"HOME": home, "PWD": cwd}
    src_env = os.environ if env is None else env
    for name in _KNOWN_ENV:
        if name in src_env and name != "HOME":
            known[name] = src_env[name]
    out = _Out()
    state = _State(cwd, known, home)
    try:
        tree = shell.parse(command)
    except shell.ShellSyntaxError as exc:
        return Analysis((), (f"the command could not be parsed ({exc})",))
    _walk(tree, state, out, depth=0, stdin_pipe=False)
    return Analysis(tuple(out.invocations), tuple(out.problems))


# -- expansion -------------------------------------------------------------

def expand(word: shell.Word, state: _State, out: _Out, depth: int) -> Arg:
    value: list[str] = []
    dynamic = False
    glob = False
    for part in word.parts:
        if part.kind == "lit":
            value.append(part.text)
            if not part.quoted and _GLOB & set(part.text):
                glob = True
        elif part.kind == "tilde":
            if part.text in ("", os.environ.get("USER", "\x01")):
                value.append(state.home)
            else:
                expanded = os.path.expanduser("~" + part.text)
                if expanded.startswith("~"):
                    value.append(DYN)
                    dynamic = True
                else:
                    value.append(expanded)
        elif part.kind == "var":
            known = _var(part.text, state)
            if known is None:
                value.append(DYN)
                dynamic = True
            else:
                value.append(known)
        elif part.kind == "sub":
            if part.node is not None:
                _walk(part.node, state.copy(), out, depth=depth, stdin_pipe=False)
            value.append(DYN)
            dynamic = True
        else:  # arith
            value.append(DYN)
            dynamic = True
    return Arg("".join(value), word.raw, dynamic, glob)


def _var(body: str, state: _State) -> str | None:
    name = body
    default: str | None = None
    for op in (":-", "-", ":=", "="):
        if op in body:
            name, _, default = body.partition(op)
            break
    if not name.replace("_", "a").isalnum():
        return None
    if name == "PWD":
        return state.cwd
    if name in state.env:
        val = state.env[name]
        if val is None:
            return None
        if val == "" and default is not None and ":" in body:
            return default if DYN not in default and "$" not in default else None
        return val
    return None


# -- walking ---------------------------------------------------------------

def _walk(node: shell.Node, state: _State, out: _Out, *, depth: int, stdin_pipe: bool) -> None:
    if len(out.invocations) > MAX_INVOCATIONS:
        if not out.problems or "too many" not in out.problems[-1]:
            out.problems.append("the command starts too many programs to analyse")
        return
    if isinstance(node, shell.Simple):
        _simple(node, state, out, depth=depth, stdin_pipe=stdin_pipe)
    elif isinstance(node, shell.Pipeline):
        for i, cmd in enumerate(node.commands):
            _walk(cmd, state.copy(), out, depth=depth, stdin_pipe=stdin_pipe or i > 0)
    elif isinstance(node, shell.Sequence):
        for item in node.items:
            _walk(item, state, out, depth=depth, stdin_pipe=stdin_pipe)
    else:
        inner = state.copy() if node.isolated else state
        ios = _redirects(node.redirects, inner, out, depth)
        before = len(out.invocations)
        _walk(node.body, inner, out, depth=depth, stdin_pipe=stdin_pipe)
        if ios:
            # ( ... ) > file: every command inside writes there
            for k in range(before, len(out.invocations)):
                inv = out.invocations[k]
                out.invocations[k] = inv._replace(io=inv.io + ios)
            if before == len(out.invocations):
                out.invocations.append(Invocation((), inner.cwd, ios, depth=depth))


def _redirects(reds: tuple[shell.Redirect, ...], state: _State, out: _Out,
               depth: int) -> tuple[IO, ...]:
    ios: list[IO] = []
    for r in reds:
        text = expand(r.body, state, out, depth) if r.body is not None else None
        target = expand(r.target, state, out, depth) if r.target is not None else None
        if r.op in ("<<", "<<-", "<<<"):
            ios.append(IO("text", r.fd, None, text))
        elif r.op in (">&", "<&") and target is not None and (
            target.value.isdigit() or target.value == "-"
        ):
            ios.append(IO("dup", r.fd, target))
        elif r.op in (">", ">|", "&>", ">&"):
            ios.append(IO("write", r.fd, target))
        elif r.op in (">>", "&>>"):
            ios.append(IO("append", r.fd, target))
        elif r.op == "<>":
            ios.append(IO("write", r.fd, target))
            ios.append(IO("read", r.fd, target))
        else:
            ios.append(IO("read", r.fd, target))
    return tuple(ios)


def _simple(node: shell.Simple, state: _State, out: _Out, *, depth: int, stdin_pipe: bool) -> None:
    assigns = [(name, expand(w, state, out, depth)) for name, w in node.assigns]
    argv = [expand(w, state, out, depth) for w in node.words]
    ios = _redirects(node.redirects, state, out, depth)
    if not argv:
        for name, val in assigns:
            state.env[name] = None if val.dynamic else val.value
        if ios or assigns and _sets_code(assigns):
            # `GIT_SSH_COMMAND=...; export GIT_SSH_COMMAND`: the setting is
            # checked where it is made
            out.invocations.append(Invocation((), state.cwd, ios, depth=depth,
                                              stdin_pipe=stdin_pipe, assigns=tuple(assigns)))
        return
    inv = Invocation(tuple(argv), state.cwd, ios, (), stdin_pipe, False, depth, tuple(assigns))
    _emit(inv, state, out)


def _sets_code(assigns: list[tuple[str, Arg]]) -> bool:
    from stockade.hooks import envcode  # only for lines that assign

    return any(envcode.is_setting_var(name) for name, _ in assigns)


def _emit(inv: Invocation, state: _State, out: _Out) -> None:
    """Record ``inv`` after peeling wrappers and following nested scripts."""
    inv = _unwrap(inv, out)
    if not inv.argv:
        if inv.io:
            out.invocations.append(inv)
        return
    name = inv.name
    words = inv.words()
    if inv.argv[0].dynamic:
        out.problems.append(f"the program name `{inv.argv[0].raw}` is only known at run time")
    out.invocations.append(inv)
    if name in ("cd", "pushd"):
        target = words[1] if len(words) > 1 and words[1] != "--" else (
            words[2] if len(words) > 2 else state.home)
        arg = inv.argv[words.index(target)] if target in words[1:] else None
        if arg is not None and arg.dynamic and state.cwd is not None and \
                arg.raw.strip("\"") in _TOPLEVEL:
            # the common `cd "$(git rev-parse --show-toplevel)"` is known here
            state.cwd = _git_toplevel(state.cwd)
        elif len(words) == 1:
            state.cwd = state.home
        elif DYN in target or target == "-" or state.cwd is None and not target.startswith("/"):
            state.cwd = None
        else:
            state.cwd = posixpath.normpath(posixpath.join(state.cwd or "/", target))
    elif name == "popd":
        state.cwd = None
    elif name in ("export", "declare", "typeset", "local", "readonly"):
        for a in inv.args:
            if "=" in a.value and not a.value.startswith("-"):
                k, _, v = a.value.partition("=")
                state.env[k] = None if a.dynamic else v
    elif name == "unset":
        for a in inv.args:
            state.env.pop(a.value, None)
    elif name == "read":
        for a in inv.args:
            if not a.value.startswith("-"):
                state.env[a.value] = None
    elif name == "for" and len(words) > 1:
        state.env[words[1]] = None
    _nested(inv, state, out)


_TOPLEVEL = ("$(git rev-parse --show-toplevel)", "`git rev-parse --show-toplevel`")


def _git_toplevel(cwd: str) -> str | None:
    """The work tree holding ``cwd`` (what `git rev-parse --show-toplevel`
    prints), or None (git fails, the cd target is unknown)."""
    d = cwd
    while True:
        if os.path.lexists(posixpath.join(d, ".git")):
            return d
        parent = posixpath.dirname(d)
        if parent == d:
            return None
        d = parent


def _nested(inv: Invocation, state: _State, out: _Out) -> None:
    """Scripts a program runs as shell code: bash -c, eval, su -c, watch,
    find -exec, bash FILE, a shell reading a here-document."""
    name = inv.name
    args = inv.args
    depth = inv.depth + 1
    if depth > shell.MAX_DEPTH:
        out.problems.append("commands nested too deeply")
        return
    if name in _SHELLS or name == "su":
        script = None
        i = 0
        while i < len(args):
            a = args[i]
            if a.value == "-c" or (a.value.startswith("-") and not a.value.startswith("--")
                                   and "c" in a.value[1:] and name != "su"):
                if i + 1 < len(args):
                    script = args[i + 1]
                break
            if name == "su" and a.value in ("-c", "--command") and i + 1 < len(args):
                script = args[i + 1]
                break
            if not a.value.startswith("-") and name != "su":
                # bash FILE: analyse the file when we can read it
                _script_file(a, inv, state, out, depth)
                return
            i += 1
        if script is not None:
            _sub_script(script, inv, state, out, depth)
            return
        if name == "su":
            return
        text = [io.text for io in inv.io if io.kind == "text" and io.text is not None]
        if text:
            _sub_script(text[-1], inv, state, out, depth)
        elif inv.stdin_pipe or inv.stdin_args:
            out.problems.append(
                f"`{name}` runs a script read from a pipe, which stockade cannot inspect")
        return
    if name in ("source", "."):
        if args:
            _script_file(args[0], inv, state, out, depth)
        return
    if name == "eval":
        _sub_script(Arg(" ".join(a.value for a in args), " ".join(a.raw for a in args),
                        any(a.dynamic for a in args)), inv, state, out, depth)
        return
    if name == "watch":
        rest = list(args)
        while rest and rest[0].value.startswith("-"):
            opt = rest.pop(0).value
            if opt in ("-n", "--interval", "-d", "--differences") and opt in ("-n", "--interval"):
                if rest:
                    rest.pop(0)
        if rest:
            _sub_script(Arg(" ".join(a.value for a in rest), " ".join(a.raw for a in rest),
                            any(a.dynamic for a in rest)), inv, state, out, depth)
        return
    if name == "find":
        # `{}` is a path under one of find's start points: with a single
        # known start point the command it runs is checked against that
        # directory (`find .claude -exec rm {} +` deletes under .claude)
        roots = find_roots(args)
        found = DYN
        if len(roots) == 1 and not roots[0].dynamic:
            found = roots[0].value.rstrip("/") + "/" + DYN if roots[0].value != "/" else "/" + DYN
        i = 0
        while i < len(args):
            if args[i].value in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                sub: list[Arg] = []
                while j < len(args) and args[j].value not in (";", "+"):
                    a = args[j]
                    sub.append(Arg(a.value.replace("{}", found), a.raw, True)
                               if "{}" in a.value else a)
                    j += 1
                if sub:
                    _emit(Invocation(tuple(sub), inv.cwd, (), ("find",), False, True, depth),
                          state.copy(), out)
                i = j
            i += 1


def find_roots(args: tuple[Arg, ...] | list[Arg]) -> list[Arg]:
    """The start points of ``find`` (``.`` when none is named)."""
    i = 0
    while i < len(args) and (args[i].value in ("-H", "-L", "-P", "-D")
                             or args[i].value.startswith("-O")):
        i += 2 if args[i].value == "-D" else 1
    roots: list[Arg] = []
    while i < len(args) and not args[i].value.startswith(("-", "(", "!", ")", ",")):
        roots.append(args[i])
        i += 1
    return roots or [Arg(".", ".")]


def _sub_script(script: Arg, inv: Invocation, state: _State, out: _Out, depth: int) -> None:
    if script.dynamic:
        out.problems.append(f"`{inv.name}` runs a script only known at run time")
        return
    try:
        tree = shell.parse(script.value)
    except shell.ShellSyntaxError as exc:
        out.problems.append(f"the script given to `{inv.name}` could not be parsed ({exc})")
        return
    _walk(tree, state.copy(), out, depth=depth, stdin_pipe=False)


def _script_file(arg: Arg, inv: Invocation, state: _State, out: _Out, depth: int) -> None:
    if arg.dynamic:
        out.problems.append(f"`{inv.name}` runs a script file only known at run time")
        return
    base = state.cwd or "/"
    path = posixpath.join(base, arg.value)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SCRIPT_FILE + 1)
    except OSError:
        return  # nothing there to run yet; the file rules still apply to it
    if len(data) > MAX_SCRIPT_FILE:
        out.problems.append(f"the script {arg.value} is too large to analyse")
        return
    _sub_script(Arg(data.decode("utf-8", "replace"), arg.raw), inv, state, out, depth)


# -- wrappers --------------------------------------------------------------

# option -> takes a value
_SUDO_OPTS = {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group",
              "--chdir", "--prompt", "--role", "--type", "--other-user", "--host",
              "--close-from", "--command-timeout"}
_XARGS_OPTS = {"-I", "-L", "-n", "-P", "-d", "-E", "-s", "-a", "--arg-file", "--delimiter",
               "--max-args", "--max-procs", "--max-lines", "--replace", "--eof", "--max-chars"}
_TIMEOUT_OPTS = {"-s", "-k", "--signal", "--kill-after"}
_NICE_OPTS = {"-n", "--adjustment"}
_IONICE_OPTS = {"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}
_STDBUF_OPTS = {"-i", "-o", "-e", "--input", "--output", "--error"}
_EXEC_OPTS = {"-a"}
_SIMPLE_WRAPPERS = {"nohup", "builtin", "setsid", "unbuffer", "catchsegv", "time", "exec",
                    "command", "nice", "ionice", "stdbuf", "sudo", "doas", "env", "xargs",
                    "timeout", "chronic", "busybox", "flock", "torsocks", "proxychains",
                    "proxychains4", "strace", "ltrace", "faketime", "caffeinate"}


def _skip_opts(args: list[Arg], with_value: set[str]) -> list[Arg]:
    i = 0
    while i < len(args):
        v = args[i].value
        if v == "--":
            return args[i + 1 :]
        if not v.startswith("-") or v == "-":
            break
        if v in with_value:
            i += 2
            continue
        if v.startswith("--") and "=" in v:
            i += 1
            continue
        if len(v) > 2 and not v.startswith("--") and v[:2] in with_value:
            i += 1  # -uroot
            continue
        i += 1
    return args[i:]


def _unwrap(inv: Invocation, out: _Out) -> Invocation:
    wrappers = list(inv.wrappers)
    argv = list(inv.argv)
    stdin_args = inv.stdin_args
    assigns = list(inv.assigns)
    for _ in range(20):
        if not argv or argv[0].dynamic:
            break
        name = posixpath.basename(argv[0].value)
        if name not in _SIMPLE_WRAPPERS:
            break
        rest = argv[1:]
        if name in ("sudo", "doas"):
            rest = _skip_opts(rest, _SUDO_OPTS)
        elif name == "env":
            i = 0
            while i < len(rest):
                v = rest[i].value
                if v in ("-u", "--unset", "-C", "--chdir"):
                    i += 2
                elif v in ("-S", "--split-string") and i + 1 < len(rest):
                    # env -S "cmd args": the string is split into words
                    split = rest[i + 1]
                    try:
                        tree = shell.parse(split.value) if not split.dynamic else None
                    except shell.ShellSyntaxError:
                        tree = None
                    if tree is None or not isinstance(tree, shell.Simple):
                        out.problems.append("`env -S` with a string stockade cannot split")
                        return inv._replace(argv=tuple(argv), wrappers=tuple(wrappers),
                                            stdin_args=stdin_args, assigns=tuple(assigns))
                    state = _State(inv.cwd, {}, "")
                    rest = [expand(w, state, out, inv.depth) for w in tree.words] + rest[i + 2 :]
                    i = 0
                elif v.startswith("-") and v != "-":
                    i += 1
                elif "=" in v and not v.startswith("="):
                    name_, _, value = v.partition("=")
                    assigns.append((name_, Arg(value, rest[i].raw, rest[i].dynamic)))
                    i += 1
                else:
                    break
            rest = rest[i:]
        elif name == "xargs":
            replace = None
            for k, a in enumerate(rest):
                if a.value in ("-I", "--replace") and k + 1 < len(rest):
                    replace = rest[k + 1].value
                elif a.value.startswith("-I") and len(a.value) > 2:
                    replace = a.value[2:]
            rest = _skip_opts(rest, _XARGS_OPTS)
            if replace:
                rest = [Arg(DYN, a.raw, True) if replace in a.value else a for a in rest]
            if not rest:
                rest = [Arg("echo", "echo")]
            stdin_args = True
        elif name == "timeout":
            rest = _skip_opts(rest, _TIMEOUT_OPTS)
            rest = rest[1:]  # the duration
        elif name == "nice":
            rest = _skip_opts(rest, _NICE_OPTS)
        elif name == "ionice":
            rest = _skip_opts(rest, _IONICE_OPTS)
        elif name == "stdbuf":
            rest = _skip_opts(rest, _STDBUF_OPTS)
        elif name == "exec":
            rest = _skip_opts(rest, _EXEC_OPTS)
        elif name == "command":
            if any(a.value in ("-v", "-V") for a in rest[:2]):
                break  # `command -v x` only looks x up
            rest = _skip_opts(rest, set())
        elif name == "flock":
            rest = _skip_opts(rest, {"-w", "--timeout", "-E", "--conflict-exit-code"})
            rest = rest[1:]  # the lock file
            if rest and rest[0].value in ("-c", "--command"):
                rest = [Arg("sh", "sh"), Arg("-c", "-c")] + rest[1:]
        elif name in ("strace", "ltrace"):
            rest = _skip_opts(rest, {"-o", "-e", "-p", "-s", "-u", "-E"})
        elif name != "busybox":  # busybox APPLET ...: the applet is the program
            rest = _skip_opts(rest, set())
        wrappers.append(name)
        argv = rest
    return inv._replace(argv=tuple(argv), wrappers=tuple(wrappers), stdin_args=stdin_args,
                        assigns=tuple(assigns))


__all__ = ["DYN", "IO", "Analysis", "Arg", "Invocation", "analyse", "expand", "find_roots"]
