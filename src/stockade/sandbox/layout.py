"""What the sandboxed agent sees of the filesystem: a pure plan.

:func:`plan` turns a :class:`Layout` (paths from the policy, the preset and the
launcher) into bubblewrap mount arguments.  It only *looks* at the host
through a :class:`HostView` so tests can describe a host without building it.

The rules, in mount order (later mounts cover earlier ones):

1. system directories read-only (``/usr``, ``/etc`` ... merged-/usr symlinks
   kept), a fresh ``/proc`` and ``/dev``, private tmpfs ``/tmp``, ``/var/tmp``,
   and an empty tmpfs ``$HOME``: everything else (other homes, ``/var``,
   ``/srv``, ``/mnt``, ``/run``, workspace siblings) simply does not exist;
2. toolchains read-only and their download caches writable, when they exist;
3. the policy's ``filesystem.read`` (read-only) and ``filesystem.write``
   paths and the workspace (writable), shallowest first so nesting works;
4. guards: files that would let the agent persist or switch its guards off
   are read-only even when they do not exist yet, and their parent
   directories are pinned (bound onto themselves) so they cannot be renamed
   away and recreated;
5. masks: every ``filesystem.deny_read`` path, stockade's state and the
   session's own files are covered by an empty read-only directory or
   ``/dev/null`` wherever a previous rule made them visible.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Literal, NamedTuple, Protocol
else:
    from stockade.lite import NamedTuple

    Protocol = object

if TYPE_CHECKING:
    Kind = Literal["dir", "file", "link", "other"]
else:
    Kind = str  # the annotations are strings at run time

# Top-level system entries shown read-only (symlinks are recreated as symlinks).
SYSTEM_TOPS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt", "nix")
# Readable only by root, but the agent may run as (namespaced) root.
ETC_SECRETS = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
    "/etc/sudoers.d", "/etc/ssl/private", "/etc/security/opasswd", "/etc/krb5.keytab",
    "/etc/machine-id", "/etc/wireguard", "/etc/NetworkManager/system-connections",
)

# Home-relative download caches: writable so installs work offline-first.
CACHES_RW = (
    ".npm", ".cache/pip", ".cache/uv", ".cache/go-build", "go/pkg/mod", ".cargo/registry",
    ".cargo/git", ".m2/repository", ".gradle/caches", ".gradle/wrapper", ".cache/yarn",
    ".yarn/berry/cache", ".pnpm-store", ".local/share/pnpm/store", ".bun/install/cache",
    ".cache/pypoetry", ".cache/deno", ".cache/node-gyp", ".cache/ms-playwright",
)
# Home-relative toolchains: read-only, since the user runs them outside too.
TOOLCHAINS_RO = (
    ".rustup", ".cargo/bin", ".local/bin", ".pyenv", ".nvm", ".volta", ".bun/bin",
    ".local/share/uv/python", ".local/share/mise/installs", ".asdf/installs", ".sdkman/candidates",
    ".deno/bin", "go/bin", ".local/share/pnpm",
)

# Guarded relative to the workspace: (path, kind when absent).
if TYPE_CHECKING:
    Absent = Literal["dir", "json", "file", "dot", "inert", "none"]
else:
    Absent = str
WORKSPACE_GUARDS: tuple[tuple[str, Absent], ...] = (
    (".git/hooks", "dir"),
    (".git/config", "file"),
    # where git reads config and hooks from instead (commondir), and the
    # per-worktree config: either could name a program the user's own git
    # runs on the host (core.fsmonitor ...)
    (".git/commondir", "dot"),
    (".git/config.worktree", "file"),
    (".vscode", "dir"),
    (".idea", "dir"),
    (".devcontainer", "dir"),
    (".husky", "dir"),
    # all of it, not only settings*.json: the hook scripts a settings file
    # names, commands, subagents and skills run or instruct the user's own
    # Claude Code on the host (tests/redteam/test_rt_project_claude_folder.py)
    (".claude", "dir"),
    (".mcp.json", "json"),
    # aider's project config (cwd, git root): `load:` runs /run commands at
    # start, `openai-api-base:` sends the user's key elsewhere.  "{}" is an
    # empty YAML mapping, which aider accepts (an empty file it refuses)
    (".aider.conf.yml", "json"),
    ("stockade.yaml", "none"),  # only when it exists: an empty one would not load
)
# Guarded relative to $HOME (inside the tmpfs home: they stop in-session
# tampering with the shell and agent configuration the agent runs under).
HOME_GUARDS: tuple[tuple[str, Absent], ...] = (
    (".bashrc", "file"), (".bash_profile", "file"), (".bash_login", "file"),
    (".bash_logout", "file"), (".profile", "file"), (".zshrc", "file"), (".zshenv", "file"),
    (".zprofile", "file"), (".zlogin", "file"), (".config/fish/config.fish", "file"),
    (".codex", "dir"), (".claude/settings.json", "json"), (".claude/settings.local.json", "json"),
    (".config/git/config", "file"), (".gitconfig", "file"),
)
# Guarded relative to $HOME only where they persist: inside a folder shown
# from the host (a preset's ~/.claude).  The host's Claude Code runs or
# follows each later, outside any sandbox: hook scripts, slash commands,
# subagents, skills, plugins (with their own hooks), output styles, memory.
HOME_BOUND_GUARDS: tuple[tuple[str, Absent], ...] = (
    (".claude/hooks", "dir"), (".claude/commands", "dir"), (".claude/agents", "dir"),
    (".claude/skills", "dir"), (".claude/plugins", "dir"), (".claude/output-styles", "dir"),
    (".claude/CLAUDE.md", "file"), (".claude/rules", "dir"),  # rules: memory, like CLAUDE.md
    # aider loads it with override at every start (AIDER_LOAD runs commands,
    # OPENAI_API_BASE sends the key elsewhere), under the aider preset's ~/.aider
    (".aider/oauth-keys.env", "file"),
    # the launcher of a "local" install (`claude migrate-installer`), which
    # the user's shell alias runs
    (".claude/local", "dir"),
    # Claude Code's global config wherever it exists (MCP servers included),
    # instead of ~/.claude.json.  Absent: an empty stand-in without write
    # bits, which Claude Code passes over, on the host and inside.  Present:
    # the preset shows a copy (presets.py), and the guard leaves it be
    # (tests/sandbox/test_rt_claude_json_copy.py)
    (".claude/.config.json", "inert"),
)


class HostView(Protocol):
    def kind(self, path: str) -> Kind | None: ...
    def readlink(self, path: str) -> str: ...
    def listdir(self, path: str) -> list[str]: ...


class RealHost:
    """The running machine, via ``lstat``."""

    def kind(self, path: str) -> Kind | None:
        import stat

        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISREG(mode):
            return "file"
        return "other"

    def readlink(self, path: str) -> str:
        return os.readlink(path)

    def readable(self, path: str) -> bool:
        """Could this user read it (a directory: list and enter it)?  Root
        always can, so root's sandboxes mask everything."""
        return os.access(path, os.R_OK | (os.X_OK if os.path.isdir(path) else 0))

    def listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(path)
        except OSError:
            return []

    def read_text(self, path: str, limit: int = 1 << 16) -> str:
        """The start of a small regular file (never a FIFO or a link), or ""."""
        from stockade.pathtext import read_regular

        return (read_regular(path, limit) or b"").decode("utf-8", "replace")


# NamedTuple, not a dataclass: on `stockade run`'s start-up path (see seccomp.Insn)
class Extra(NamedTuple):
    """A path a preset or the launcher adds: ``mode`` ro | rw."""

    path: str
    mode: Literal["ro", "rw"]
    src: str | None = None  # defaults to ``path``


class Layout(NamedTuple):
    workspace: str
    home: str | None
    runtime_dir: str  # host dir with the session's sockets, shown at /run/stockade
    empty_dir: str  # an empty, read-only host dir used to mask directories
    empty_json: str  # a read-only host file holding "{}" for absent JSON configs
    empty_file: str  # an empty read-only host file (not /dev/null: device nodes are
    #                  unreadable on the nodev mounts a user namespace makes)
    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    deny_read: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()  # stockade state, session files: masked if visible
    extras: tuple[Extra, ...] = ()
    gitconfig: str | None = None  # sanitised ~/.gitconfig to show instead of the real one
    interpreter_prefix: str | None = None


class Plan(NamedTuple):
    args: tuple[str, ...]
    # Mount points the launcher creates on the host before start and removes
    # afterwards if they are still empty (guards in a workspace that lacks them).
    create_dirs: tuple[str, ...] = ()
    create_files: tuple[str, ...] = ()
    visible: tuple[str, ...] = ()  # host paths shown (for diagnostics)
    # files created holding ".\n" (DOT_FILE), shown read-only as they are
    create_dot_files: tuple[str, ...] = ()
    # files created holding "{}\n" (JSON_FILE): valid to the user's own tools
    # (Claude Code on the host reads .mcp.json) while the session runs
    create_json_files: tuple[str, ...] = ()
    # empty files created without write bits (INERT_MODE): what a program
    # that only adopts a writable or non-empty file passes over
    create_inert_files: tuple[str, ...] = ()


# What a missing ``.git/commondir`` stands in as: "the common directory is
# this one", what git assumes without the file (an empty one breaks git).
DOT_FILE = ".\n"
JSON_FILE = "{}\n"
INERT_MODE = 0o444


RUN_DIR = "/run/stockade"


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _depth(path: str) -> int:
    return path.rstrip("/").count("/")


def plan(layout: Layout, host: HostView | None = None) -> Plan:
    h = host or RealHost()
    args: list[str] = []
    visible: list[str] = []
    create_dirs: list[str] = []
    create_files: list[str] = []
    create_dot_files: list[str] = []
    create_json_files: list[str] = []
    create_inert_files: list[str] = []
    ws = layout.workspace

    # 1. system, fresh /proc and /dev, private tmp, empty home
    for top in SYSTEM_TOPS:
        p = "/" + top
        k = h.kind(p)
        if k == "link":
            args += ["--symlink", h.readlink(p), p]
        elif k == "dir":
            args += ["--ro-bind", p, p]
            visible.append(p)
    # A secret this user cannot read on the host (the usual /etc/shadow,
    # gshadow, ssl/private of a non-root developer) cannot be read inside
    # either (same uid, no capabilities): no mask needed, and each bind mount
    # is ~0.3 ms of every session.  A HostView without readable() masks all.
    # (The masks themselves are made last, in 5: a policy's read grant of a
    # part of /etc, /etc/ssl say, binds it again from the host and would
    # uncover a mask made here.)
    readable = getattr(h, "readable", None)
    etc_masks: list[tuple[str, str]] = []  # (stand-in, path)
    for p in ETC_SECRETS:
        k = h.kind(p)
        if k in ("dir", "file") and readable is not None and not readable(p):
            continue
        if k == "dir":
            etc_masks.append((layout.empty_dir, p))
        elif k == "file":
            etc_masks.append((layout.empty_file, p))
    for name in sorted(h.listdir("/etc/ssh")):
        key = f"/etc/ssh/{name}"
        if name.startswith("ssh_host_") and name.endswith("_key") and \
                (readable is None or readable(key)):
            etc_masks.append((layout.empty_file, key))
    # /proc/sys and /proc/sysrq-trigger read-only: bubblewrap makes them so
    # only where access(W_OK) says they are writable, which it does not say
    # of the 0555 /proc/sys; yet a global sysctl is writable by host uid 0,
    # whatever the capabilities, and stockade run as root maps the agent to
    # it: kernel.core_pattern = "|/workspace/evil" ran the agent's program
    # as host root (tests/redteam/test_rt_proc_sys_read_only.py)
    args += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
             "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
             "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp",
             "--dir", "/run", "--symlink", "../run", "/var/run"]
    if h.kind("/sys/devices/system/cpu") == "dir":  # CPU count for build tools
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    home = layout.home if layout.home and layout.home != "/" else None
    if home:
        args += ["--perms", "0700", "--tmpfs", home]

    # 2 + 3. toolchains, caches, interpreter, policy paths, extras, workspace
    binds: list[tuple[str, str, str]] = []  # (dest, src, mode)
    read_only: list[tuple[str, str]] = []  # (dest, src) of the read-only binds made
    if home:
        for rel in TOOLCHAINS_RO:
            binds.append((f"{home}/{rel}", f"{home}/{rel}", "ro"))
        for rel in CACHES_RW:
            binds.append((f"{home}/{rel}", f"{home}/{rel}", "rw"))
    if layout.interpreter_prefix and not any(
        _under(layout.interpreter_prefix, "/" + t) for t in SYSTEM_TOPS
    ):
        binds.append((layout.interpreter_prefix, layout.interpreter_prefix, "ro"))
    for p in layout.read:
        binds.append((p, p, "ro"))
    for p in layout.write:
        binds.append((p, p, "rw"))
    for e in layout.extras:
        binds.append((e.path, e.src or e.path, e.mode))
    binds.append((ws, ws, "rw"))
    # shallowest first; at equal depth a read-only entry wins (applied last)
    binds.sort(key=lambda b: (_depth(b[0]), b[2] == "ro"))
    seen: set[str] = set()
    applied: list[tuple[str, str, str]] = []
    for dest, src, mode in binds:
        if h.kind(src) not in ("dir", "file"):
            continue  # absent or a symlink: nothing to show (bwrap would follow a link)
        if any(_under(dest, x) for x in layout.hidden) or any(
            _under(dest, d) for d in layout.deny_read
        ):
            continue
        if mode == "ro" and src == dest:
            # already shown, read-only and in place, by the bind that covers it
            # (the interpreter under ~/.pyenv): each mount is ~0.3 ms of a start.
            # Still listed as read-only: a guard pinning a directory above it
            # must make it read-only again (4b).
            cover = next((a for a in reversed(applied) if _under(dest, a[0])), None)
            if cover is not None and cover[2] == "ro" and cover[0] == cover[1]:
                read_only.append((dest, src))
                continue
        applied.append((dest, src, mode))
        seen.add(dest)
        args += ["--bind" if mode == "rw" else "--ro-bind", src, dest]
        visible.append(src)
        if mode == "ro":
            read_only.append((dest, src))

    # 4. guards
    def pin(d: str) -> list[str]:
        """Bind ``d`` onto itself, so that it cannot be renamed away and
        recreated: as writable as what showed it (a policy's read-only
        ``~/.config`` stays read-only when a guard inside pins it)."""
        mode = next((a[2] for a in reversed(applied) if _under(d, a[0])), "rw")
        return ["--ro-bind" if mode == "ro" else "--bind", d, d]

    def guard(base: str, rel: str, absent: str, *, on_host: bool) -> None:
        target = f"{base}/{rel}"
        if target in copied:
            return  # a copy made for the session: nothing of it reaches the host
        if any(_under(target, d) for d in whole):
            # read-only as a whole already (core.hooksPath = .husky/_): pinning
            # the folders up to it would make that folder writable again
            return
        k = h.kind(target)
        # pin intermediate directories (e.g. .git, .claude) so they cannot be
        # renamed away and recreated with a writable guard file inside
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = f"{base}/{'/'.join(parts[:i])}"
            if d in pinned:
                continue
            if d in seen:
                # bound already (the workspace, a preset's ~/.claude): a mount
                # point cannot be renamed, and binding it again would cover
                # every guard made inside it so far (the workspace's, when it
                # lies in there)
                pinned.add(d)
                not_rebound.add(d)
                continue
            dk = h.kind(d)
            if dk not in ("dir", None):
                return  # e.g. .git is a file (a worktree): its git dir lives elsewhere
            if dk == "dir":
                args.extend(pin(d))
            elif dk is None and on_host:
                create_dirs.append(d)
                args.extend(pin(d))
            elif dk is None:
                args.extend(["--dir", d])
            pinned.add(d)
        if k in ("dir", "file"):
            args.extend(["--ro-bind", target, target])
            if k == "dir":
                whole.append(target)
        elif k is None:
            if absent == "none":
                return
            if absent == "dot":
                if on_host:
                    create_dot_files.append(target)
                    args.extend(["--ro-bind", target, target])
                return
            if absent == "dir":
                if on_host:
                    create_dirs.append(target)
                args.extend(["--ro-bind", layout.empty_dir, target])
                whole.append(target)
            else:
                if on_host:
                    {"json": create_json_files, "inert": create_inert_files}.get(
                        absent, create_files).append(target)
                # (empty_file has no write bits: inert inside too)
                src = layout.empty_json if absent == "json" else layout.empty_file
                args.extend(["--ro-bind", src, target])
        # a symlink at a guard path: left as it is (a mount would follow it);
        # see docs/sandbox.md, Known gaps

    copied = {dest for dest, src, _ in applied if src != dest}
    pinned: set[str] = set()
    whole: list[str] = []  # guarded read-only as a whole (nothing inside needs its own)
    not_rebound: set[str] = set()  # pinned by the bind that showed them, not bound again
    git_kind = h.kind(f"{ws}/.git")
    # not a repository (yet), or only a stand-in another session left: all
    # of .git is one read-only stand-in, its hooks and config with it (`git
    # init` could not have written its config in any case)
    no_repo = git_kind is None or (git_kind == "dir" and h.kind(f"{ws}/.git/HEAD") is None)
    if no_repo:
        if git_kind is None:
            create_dirs.append(f"{ws}/.git")
        args.extend(["--ro-bind", layout.empty_dir, f"{ws}/.git"])
        whole.append(f"{ws}/.git")
    elif git_kind == "file":
        # a linked worktree's or a submodule's pointer to its git directory:
        # read-only, or the agent points it at a directory of its making
        args.extend(["--ro-bind", f"{ws}/.git", f"{ws}/.git"])
    for rel, absent in WORKSPACE_GUARDS:
        if not (no_repo and rel.startswith(".git/")):
            guard(ws, rel, absent, on_host=True)
    # submodules carry their own hooks and config under .git/modules/<name>
    if no_repo:
        pass
    elif h.kind(f"{ws}/.git/modules") == "dir":
        args.extend(pin(f"{ws}/.git/modules"))
        pinned.add(f"{ws}/.git/modules")
        # a submodule named a/b has its git directory at modules/a/b, and a
        # submodule's own submodules theirs at modules/a/modules/c
        todo = [(f"{ws}/.git/modules/{name}", 1)
                for name in sorted(h.listdir(f"{ws}/.git/modules"))]
        while todo:
            mdir, depth = todo.pop(0)
            if h.kind(mdir) != "dir" or mdir in pinned:
                continue
            args.extend(pin(mdir))  # pinned: cannot be swapped out
            pinned.add(mdir)
            if h.kind(f"{mdir}/HEAD") != "file":
                if depth < _MAX_MODULE_DEPTH:
                    todo += [(f"{mdir}/{n}", depth + 1) for n in sorted(h.listdir(mdir))]
                continue
            for part in ("hooks", "config"):
                t = f"{mdir}/{part}"
                if h.kind(t) in ("dir", "file"):
                    args.extend(["--ro-bind", t, t])
            for part, absent in (("commondir", "dot"), ("config.worktree", "file")):
                guard(mdir, part, absent, on_host=True)
            if h.kind(f"{mdir}/modules") == "dir" and depth < _MAX_MODULE_DEPTH:
                args.extend(pin(f"{mdir}/modules"))
                pinned.add(f"{mdir}/modules")
                todo += [(f"{mdir}/modules/{n}", depth + 1)
                         for n in sorted(h.listdir(f"{mdir}/modules"))]
    else:
        guard(ws, ".git/modules", "dir", on_host=True)
    # Linked worktrees (outside the workspace, as a rule) read their
    # commondir, gitdir and config.worktree here: the same redirection
    if not no_repo and h.kind(f"{ws}/.git/worktrees") == "dir":
        for name in sorted(h.listdir(f"{ws}/.git/worktrees")):
            wdir = f"{ws}/.git/worktrees/{name}"
            if h.kind(wdir) != "dir" or wdir in pinned:
                continue
            args.extend(pin(wdir))
            pinned.add(wdir)
            for part, absent in (("commondir", "none"), ("gitdir", "none"),
                                 ("config.worktree", "file"), ("hooks", "none")):
                guard(wdir, part, absent, on_host=True)
    # Submodule checkouts: the superproject's `git status` runs git in each,
    # so a `.git` pointer rewritten (or one made where there was none) would
    # have the user's own git read a config of the agent's making.  Their
    # `.git` is read-only, and the folders up to it are pinned.
    read_text = getattr(h, "read_text", None)
    if not no_repo and read_text is not None:
        for rel in submodule_paths(read_text(f"{ws}/.gitmodules")):
            if h.kind(f"{ws}/{rel}") in ("dir", None):
                guard(ws, f"{rel}/.git", "dir", on_host=True)
        # git's config (system, the user's, the repository's, with every
        # file they include) may send git to hooks in the work tree
        # (core.hooksPath = .githooks): those run on the host like
        # .git/hooks (one that does not exist yet gets a read-only stand-in:
        # the agent could otherwise make it and fill it).  And a file it
        # includes from the workspace (include.path = ../.gitconfig, a
        # shared project config) is config the host's git reads: read-only,
        # a stand-in where absent (tests/redteam/test_rt_git_config_chain.py)
        from stockade.sandbox.gitconfig import chain_pairs

        pairs, included = chain_pairs(
            ("/etc/gitconfig", *((f"{home}/.config/git/config", f"{home}/.gitconfig")
                                 if home else ()),
             f"{ws}/.git/config", f"{ws}/.git/config.worktree"), read_text, home=home)
        real_ws = os.path.realpath(ws)
        for inc in dict.fromkeys(included):
            real = os.path.realpath(inc)
            if _under(real, real_ws) and real != real_ws:
                guard(ws, real[len(real_ws) + 1:], "file", on_host=True)
        hooks_path = configured_hooks_path(pairs, ws)
        if hooks_path is not None:
            # git follows symbolic links on the way: the folder it ends at is
            # what must not change
            real = os.path.realpath(f"{ws}/{hooks_path}")
            hooks_path = real[len(ws) + 1:] if _under(real, ws) and real != ws else None
        if hooks_path is not None and h.kind(f"{ws}/{hooks_path}") in ("dir", "file", None):
            guard(ws, hooks_path, "dir", on_host=True)
    if home:
        bound_home = [d for d in seen if _under(d, home) and d != home]
        for rel, absent in HOME_GUARDS:
            target = f"{home}/{rel}"
            if rel == ".gitconfig" and layout.gitconfig:
                args += ["--ro-bind", layout.gitconfig, target]
                continue
            if any(_under(target, d) for d in bound_home):
                # inside a directory shown from the host (a preset's ~/.claude)
                if not _under(ws, target):  # never the workspace itself
                    guard(home, rel, absent, on_host=True)
            else:  # in the tmpfs home: an empty read-only stand-in
                src = {"dir": layout.empty_dir, "json": layout.empty_json}.get(absent, layout.empty_file)
                args += ["--ro-bind", src, target]
        for rel, absent in HOME_BOUND_GUARDS:
            target = f"{home}/{rel}"
            # not one that holds the workspace (a skill developed in place)
            if any(_under(target, d) for d in bound_home) and not _under(ws, target):
                guard(home, rel, absent, on_host=True)

    # 4b. a guard pins a directory (~/.config under a read-only grant) by
    # binding it again, which covers every read-only bind made inside it
    # before: those would be writable.  Bind them read-only once more, on top
    # (tests/sandbox/test_rt_pinned_dir_uncovers_read_only.py).  A directory
    # bound in step 3 (a preset's ~/.claude) is a mount point already, and
    # is not bound again.
    for dest, src in read_only:
        if any(_under(dest, d) and dest != d for d in pinned - not_rebound):
            args += ["--ro-bind", src, dest]

    # 5. masks over whatever became visible
    for stand_in, p in etc_masks:
        args += ["--ro-bind", stand_in, p]
    masked: list[str] = []
    for p in sorted((*layout.deny_read, *layout.hidden), key=_depth):
        if not any(_under(p, v) for v in visible):
            continue
        if any(_under(p, m) for m in masked):
            continue  # gone with a mask above it (bwrap could not even make its mount point)
        k = h.kind(p)
        if k == "dir":
            args += ["--ro-bind", layout.empty_dir, p]
        elif k in ("file", "other"):
            args += ["--ro-bind", layout.empty_file, p]
        else:
            continue
        masked.append(p)

    args += ["--ro-bind", layout.runtime_dir, RUN_DIR, "--chdir", ws]
    return Plan(tuple(args), tuple(create_dirs), tuple(create_files), tuple(visible),
                tuple(create_dot_files), tuple(create_json_files), tuple(create_inert_files))


_MAX_SUBMODULES = 256
_GUARD_TOPS = frozenset(rel.split("/")[0] for rel, _ in WORKSPACE_GUARDS)
_MAX_MODULE_DEPTH = 4  # submodule names with up to three "/"


def submodule_paths(gitmodules: str) -> list[str]:
    """The ``path =`` entries of a ``.gitmodules`` text that stay inside the
    workspace (relative, no ``..``), at most :data:`_MAX_SUBMODULES`."""
    from stockade.sandbox.gitconfig import lenient_pairs

    out: list[str] = []
    for key, value in lenient_pairs(gitmodules):
        if key != "submodule.x.path":
            continue
        rel = value.strip("/")
        parts = rel.split("/")
        # git refuses a path through a .git; and none may overlap a guard (the
        # folders up to a submodule are bound writable again, onto a guard)
        if not rel or any(p in ("", ".", "..", ".git") for p in parts) or "\0" in rel \
                or parts[0] in _GUARD_TOPS:
            continue
        if rel not in out:
            out.append(rel)
        if len(out) >= _MAX_SUBMODULES:
            break
    return out


def configured_hooks_path(config: str | Sequence[tuple[str, str]],
                          workspace: str | None = None) -> str | None:
    """``core.hooksPath`` of a config text (or its pairs), relative to the
    work tree, when it names a folder inside it (``./x``, ``x/``, or an
    absolute path under ``workspace``; no ``..``); read leniently, the last
    one winning as in git."""
    from stockade.sandbox.gitconfig import lenient_pairs

    pairs = lenient_pairs(config) if isinstance(config, str) else config
    found = next((v for k, v in reversed(pairs) if k == "core.hookspath"), "")
    if not found or found.startswith("~"):
        return None
    if found.startswith("/"):
        # as git finds it: "..", "//" and symbolic links in the way resolved
        ws = os.path.realpath(workspace) if workspace else None
        real = os.path.realpath(found)
        if not ws or not real.startswith(ws.rstrip("/") + "/"):
            return None
        found = real[len(ws.rstrip("/")) + 1:]
    rel = os.path.normpath(found)
    if rel in (".", "") or rel.startswith(("../", "/")) or rel == "..":
        return None
    return rel


def namespace_args(*, hostname: str = "stockade") -> list[str]:
    """Every namespace bubblewrap can make; no capabilities, even for root."""
    return [
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--hostname", hostname,
    ]


def build_argv(
    *,
    bwrap: str,
    plan_args: Sequence[str],
    seccomp_fd: int,
    status_fd: int,
    command: Sequence[str],
) -> list[str]:
    """The full bubblewrap command line."""
    return [
        bwrap, *namespace_args(), *plan_args, "--seccomp", str(seccomp_fd),
        "--json-status-fd", str(status_fd), "--", *command,
    ]


__all__ = [
    "DOT_FILE",
    "HOME_BOUND_GUARDS",
    "HOME_GUARDS",
    "INERT_MODE",
    "JSON_FILE",
    "RUN_DIR",
    "WORKSPACE_GUARDS",
    "Extra",
    "HostView",
    "Layout",
    "Plan",
    "RealHost",
    "build_argv",
    "configured_hooks_path",
    "namespace_args",
    "plan",
    "submodule_paths",
]
