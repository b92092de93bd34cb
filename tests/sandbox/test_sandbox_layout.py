"""The mount plan, against a described host (no bubblewrap needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.sandbox.layout import Extra, Kind, Layout, build_argv, plan


class FakeHost:
    def __init__(self, entries: dict[str, Kind], links: dict[str, str] | None = None) -> None:
        self.entries = entries
        self.links = links or {"/bin": "usr/bin", "/lib": "usr/lib"}

    def kind(self, path: str) -> Kind | None:
        return self.entries.get(path)

    def readlink(self, path: str) -> str:
        return self.links[path]

    def listdir(self, path: str) -> list[str]:
        pre = path.rstrip("/") + "/"
        return sorted({p[len(pre):].split("/")[0] for p in self.entries if p.startswith(pre)})


BASE: dict[str, Kind] = {
    "/usr": "dir", "/etc": "dir", "/bin": "link", "/lib": "link", "/etc/shadow": "file",
    "/etc/ssh": "dir", "/etc/ssh/ssh_host_ed25519_key": "file", "/etc/ssh/ssh_config": "file",
    "/home/u": "dir", "/home/u/.ssh": "dir", "/home/u/.npm": "dir", "/home/u/.cargo/bin": "dir",
    "/home/u/proj": "dir", "/home/u/proj/.git": "dir", "/home/u/proj/.git/HEAD": "file",
    "/home/u/proj/.git/hooks": "dir",
    "/home/u/proj/.git/config": "file", "/home/u/proj/stockade.yaml": "file",
    "/home/u/proj/secrets": "dir", "/home/u/.local/share/stockade": "dir",
}


def layout(**kw: object) -> Layout:
    base: dict[str, object] = {
        "workspace": "/home/u/proj", "home": "/home/u", "runtime_dir": "/run/user/1/stk",
        "empty_dir": "/rt/empty", "empty_json": "/rt/empty.json", "empty_file": "/rt/empty.file",
        "deny_read": ("/home/u/.ssh", "/home/u/proj/secrets"),
        "hidden": ("/home/u/.local/share/stockade",)}
    base.update(kw)
    return Layout(**base)  # type: ignore[arg-type]


def triples(args: tuple[str, ...]) -> list[tuple[str, str, str]]:
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--bind", "--ro-bind", "--symlink"):
            out.append((a, args[i + 1], args[i + 2]))
            i += 3
        elif a in ("--tmpfs", "--dir", "--proc", "--dev", "--chdir", "--perms"):
            out.append((a, "", args[i + 1]))
            i += 2
        else:
            i += 1
    return out


def last_mount(args: tuple[str, ...], dest: str) -> tuple[str, str]:
    for op, src, d in reversed(triples(args)):
        if d == dest and op != "--chdir":
            return op, src
    raise AssertionError(f"{dest} not mounted")


def test_system_read_only_home_empty_workspace_writable() -> None:
    p = plan(layout(), FakeHost(dict(BASE), {"/bin": "usr/bin", "/lib": "usr/lib"}))
    assert last_mount(p.args, "/usr") == ("--ro-bind", "/usr")
    assert last_mount(p.args, "/bin") == ("--symlink", "usr/bin")
    assert last_mount(p.args, "/home/u") == ("--tmpfs", "")
    assert last_mount(p.args, "/home/u/proj") == ("--bind", "/home/u/proj")
    assert last_mount(p.args, "/tmp") == ("--tmpfs", "")
    assert last_mount(p.args, "/etc/shadow") == ("--ro-bind", "/rt/empty.file")
    assert last_mount(p.args, "/etc/ssh/ssh_host_ed25519_key") == ("--ro-bind", "/rt/empty.file")
    dests = {d for _, _, d in triples(p.args)}
    assert "/var" not in dests and "/home/u/.ssh" not in dests  # simply absent
    assert last_mount(p.args, "/home/u/.npm") == ("--bind", "/home/u/.npm")
    assert last_mount(p.args, "/home/u/.cargo/bin") == ("--ro-bind", "/home/u/.cargo/bin")


def test_guards_are_read_only_and_pinned_even_when_absent() -> None:
    p = plan(layout(), FakeHost(dict(BASE)))
    assert last_mount(p.args, "/home/u/proj/.git/hooks") == ("--ro-bind", "/home/u/proj/.git/hooks")
    assert last_mount(p.args, "/home/u/proj/.git") == ("--bind", "/home/u/proj/.git")  # pinned
    assert last_mount(p.args, "/home/u/proj/stockade.yaml")[0] == "--ro-bind"
    assert last_mount(p.args, "/home/u/proj/.vscode") == ("--ro-bind", "/rt/empty")
    assert last_mount(p.args, "/home/u/proj/.mcp.json") == ("--ro-bind", "/rt/empty.json")
    # the project's .claude: all of it (hook scripts, commands, agents, skills)
    assert last_mount(p.args, "/home/u/proj/.claude") == ("--ro-bind", "/rt/empty")
    assert "/home/u/proj/.vscode" in p.create_dirs and "/home/u/proj/.claude" in p.create_dirs
    assert not [f for f in (*p.create_files, *p.create_json_files) if "/.claude/" in f]
    assert "/home/u/proj/.mcp.json" in p.create_json_files  # "{}": valid to tools on the host
    assert last_mount(p.args, "/home/u/.bashrc") == ("--ro-bind", "/rt/empty.file")


def test_an_existing_project_claude_folder_is_shown_read_only_as_it_is() -> None:
    host = dict(BASE, **{"/home/u/proj/.claude": "dir", "/home/u/proj/.claude/hooks": "dir",
                         "/home/u/proj/.claude/settings.json": "file"})
    p = plan(layout(), FakeHost(host))
    assert last_mount(p.args, "/home/u/proj/.claude") == ("--ro-bind", "/home/u/proj/.claude")
    # one mount: nothing inside needs its own, and nothing is made on the host
    assert sum("/proj/.claude" in d for _, _, d in triples(p.args)) == 1
    assert not [x for x in (*p.create_dirs, *p.create_files, *p.create_json_files)
                if "/.claude" in x]


def test_not_yet_a_repo_still_gets_read_only_hooks_and_config() -> None:
    # all of .git is one read-only stand-in (one mount, one folder on the host)
    host = {k: v for k, v in BASE.items() if "/proj/.git" not in k}
    p = plan(layout(), FakeHost(host))
    assert [d for d in p.create_dirs if "/.git" in d] == ["/home/u/proj/.git"]
    for inside in (".git/config", ".git/hooks/pre-commit", ".git/modules/x/hooks/post-checkout"):
        assert effective_mode(p.args, f"/home/u/proj/{inside}") == "empty"
    assert sum(d.startswith("/home/u/proj/.git") for _, _, d in triples(p.args)) == 1


def test_deny_read_and_state_are_masked_where_visible() -> None:
    p = plan(layout(read=("/home/u",)), FakeHost(dict(BASE)))
    assert last_mount(p.args, "/home/u/.ssh") == ("--ro-bind", "/rt/empty")
    assert last_mount(p.args, "/home/u/proj/secrets") == ("--ro-bind", "/rt/empty")
    assert last_mount(p.args, "/home/u/.local/share/stockade") == ("--ro-bind", "/rt/empty")


def test_nested_policy_paths_apply_shallowest_first() -> None:
    host = dict(BASE, **{"/data": "dir", "/data/out": "dir"})
    p = plan(layout(read=("/data",), write=("/data/out",)), FakeHost(host))
    ops = [(op, d) for op, _, d in triples(p.args) if d.startswith("/data")]
    assert ops == [("--ro-bind", "/data"), ("--bind", "/data/out")]


def test_extras_and_argv_shape() -> None:
    host = dict(BASE, **{"/home/u/.claude": "dir"})
    p = plan(layout(extras=(Extra("/home/u/.claude", "rw"),)), FakeHost(host))
    assert last_mount(p.args, "/home/u/.claude") == ("--bind", "/home/u/.claude")
    assert last_mount(p.args, "/home/u/.claude/settings.json") == ("--ro-bind", "/rt/empty.json")
    argv = build_argv(bwrap="/usr/bin/bwrap", plan_args=p.args, seccomp_fd=5, status_fd=6,
                      command=["true"])
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                 "--new-session", "--die-with-parent"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--seccomp") + 1] == "5"
    assert argv[-2:] == ["--", "true"]


def test_a_secret_this_user_cannot_read_needs_no_mask() -> None:
    # (same uid inside, no capabilities: unreadable outside is unreadable inside)
    class Unreadable(FakeHost):
        def readable(self, path: str) -> bool:
            return path not in ("/etc/shadow", "/etc/ssh/ssh_host_ed25519_key")

    entries = dict(BASE, **{"/etc/gshadow": "file"})
    masked = plan(layout(), Unreadable(entries))
    dests = [d for _op, _src, d in triples(masked.args)]
    assert "/etc/shadow" not in dests and "/etc/ssh/ssh_host_ed25519_key" not in dests
    assert last_mount(masked.args, "/etc/gshadow") == ("--ro-bind", "/rt/empty.file")
    # a host that cannot say (and root, who reads everything) masks them all
    every = plan(layout(), FakeHost(entries))
    assert last_mount(every.args, "/etc/shadow") == ("--ro-bind", "/rt/empty.file")
    assert last_mount(every.args, "/etc/ssh/ssh_host_ed25519_key") == ("--ro-bind",
                                                                       "/rt/empty.file")


def test_a_read_only_path_already_shown_read_only_in_place_is_not_mounted_again() -> None:
    # the interpreter under ~/.pyenv (a toolchain): one mount, not two; each
    # is ~0.3 ms of every start
    host = dict(BASE, **{"/home/u/.pyenv": "dir", "/home/u/.pyenv/versions/3.11": "dir",
                         "/data": "dir", "/data/out": "dir", "/data/out/ro": "dir"})
    p = plan(layout(interpreter_prefix="/home/u/.pyenv/versions/3.11", read=("/data",
                    "/data/out/ro"), write=("/data/out",)), FakeHost(host))
    mounted = [(op, d) for op, _, d in triples(p.args)]
    assert ("--ro-bind", "/home/u/.pyenv") in mounted
    assert ("--ro-bind", "/home/u/.pyenv/versions/3.11") not in mounted
    # under a writable bind, a read-only one is still made: it changes something
    assert mounted.index(("--bind", "/data/out")) < mounted.index(("--ro-bind", "/data/out/ro"))
    # and under the workspace (writable), the interpreter stays read-only
    ws_host = dict(BASE, **{"/home/u/proj/.venv": "dir"})
    p = plan(layout(interpreter_prefix="/home/u/proj/.venv"), FakeHost(ws_host))
    assert last_mount(p.args, "/home/u/proj/.venv") == ("--ro-bind", "/home/u/proj/.venv")


def effective_mode(args: tuple[str, ...], path: str) -> str | None:
    """What the sandbox makes of ``path`` after the plan's mounts, in order: a
    bind brings the host's tree (hiding the sandbox's own mounts beneath it);
    "ro", "rw", "empty" (a stand-in) or None (not shown)."""
    mounts: list[tuple[str, str]] = []
    for op, src, dest in triples(args):
        if op not in ("--bind", "--ro-bind", "--tmpfs"):
            continue
        mounts = [m for m in mounts if not (m[0] == dest or m[0].startswith(dest + "/"))]
        if op == "--ro-bind" and src.startswith("/rt/"):
            mounts.append((dest, "empty"))
        else:
            mounts.append((dest, "ro" if op == "--ro-bind" else "rw"))
    for dest, mode in reversed(mounts):
        if path == dest or path.startswith(dest + "/"):
            return mode
    return None


def test_a_skipped_read_only_bind_is_read_only_again_under_a_pinned_dir() -> None:
    # the claude preset (~/.claude writable, its hooks read-only) and a policy
    # that also lists ~/.claude read-only: the hooks run on the host, outside
    # any sandbox, so they must never be writable inside
    host = dict(BASE, **{"/home/u/.claude": "dir", "/home/u/.claude/hooks": "dir"})
    p = plan(layout(read=("/home/u/.claude",), extras=(
        Extra("/home/u/.claude", "rw"), Extra("/home/u/.claude/hooks", "ro"))), FakeHost(host))
    assert effective_mode(p.args, "/home/u/.claude/hooks/x.sh") == "ro"
    assert effective_mode(p.args, "/home/u/.claude/settings.json") == "empty"


def test_a_read_only_grant_stays_read_only_when_a_guard_inside_pins_it() -> None:
    # ~/.config/fish/config.fish and ~/.config/git/config are guarded: pinning
    # ~/.config must not make the policy's read-only ~/.config writable
    host: dict[str, Kind] = dict(BASE, **{"/home/u/.config": "dir", "/home/u/.config/fish": "dir",
                         "/home/u/.config/fish/functions": "dir"})
    p = plan(layout(read=("/home/u/.config", "/home/u/.config/fish/functions")),
             FakeHost(host))
    assert effective_mode(p.args, "/home/u/.config/x") == "ro"
    assert effective_mode(p.args, "/home/u/.config/fish/functions/f.fish") == "ro"
    assert effective_mode(p.args, "/home/u/.config/fish/config.fish") == "empty"
    # and the workspace's pinned .git stays writable, its hooks not
    assert effective_mode(p.args, "/home/u/proj/.git/objects") == "rw"
    assert effective_mode(p.args, "/home/u/proj/.git/hooks/pre-commit") == "ro"


def test_a_read_grant_of_part_of_etc_does_not_uncover_its_secrets() -> None:
    host: dict[str, Kind] = dict(BASE, **{"/etc/ssl": "dir", "/etc/ssl/private": "dir"})
    p = plan(layout(read=("/etc/ssl",)), FakeHost(host))
    assert effective_mode(p.args, "/etc/ssl/private/key.pem") == "empty"
    assert effective_mode(p.args, "/etc/shadow") == "empty"
    assert effective_mode(p.args, "/etc/ssh/ssh_host_ed25519_key") == "empty"
    assert effective_mode(p.args, "/etc/ssl/certs/ca.pem") == "ro"


def test_git_cannot_be_pointed_at_a_config_of_the_agents_making() -> None:
    # .git/commondir (or config.worktree) would make the user's own git read
    # config and hooks the agent wrote (core.fsmonitor runs a program)
    p = plan(layout(), FakeHost(dict(BASE)))
    git = "/home/u/proj/.git"
    assert f"{git}/commondir" in p.create_dot_files  # what git assumes without it
    assert last_mount(p.args, f"{git}/commondir") == ("--ro-bind", f"{git}/commondir")
    assert effective_mode(p.args, f"{git}/config.worktree") == "empty"
    assert effective_mode(p.args, f"{git}/objects/ab/cdef") == "rw"  # git still works
    # a worktree's or submodule's `gitdir:` file is read-only itself
    host = {k: v for k, v in BASE.items() if not k.startswith(f"{git}/")}
    host[git] = "file"
    p = plan(layout(), FakeHost(host))
    assert last_mount(p.args, git) == ("--ro-bind", git)
    assert not [d for d in (*p.create_dirs, *p.create_files, *p.create_json_files,
                            *p.create_dot_files) if d.startswith(f"{git}/")]


def test_a_stand_in_git_left_by_another_session_is_no_repository() -> None:
    # an empty .git (no HEAD), left while another session ran, must not be
    # taken for a repository and shown writable
    host = {k: v for k, v in BASE.items() if not k.startswith("/home/u/proj/.git/")}
    p = plan(layout(), FakeHost(host))
    assert "/home/u/proj/.git" not in p.create_dirs  # it exists
    assert effective_mode(p.args, "/home/u/proj/.git/config") == "empty"
    assert effective_mode(p.args, "/home/u/proj/.git/commondir") == "empty"


def test_submodule_checkouts_keep_their_git_pointers() -> None:
    class WithFiles(FakeHost):
        def read_text(self, path: str) -> str:
            return GITMODULES if path == "/home/u/proj/.gitmodules" else ""

    host: dict[str, Kind] = dict(BASE, **{
        "/home/u/proj/.gitmodules": "file", "/home/u/proj/vendor": "dir",
        "/home/u/proj/vendor/lib": "dir", "/home/u/proj/vendor/lib/.git": "file",
        "/home/u/proj/tools": "dir", "/home/u/proj/.git/modules": "dir",
        "/home/u/proj/.git/modules/lib": "dir", "/home/u/proj/.git/modules/lib/config": "file",
        "/home/u/proj/.git/modules/lib/HEAD": "file"})
    p = plan(layout(), WithFiles(host))
    proj = "/home/u/proj"
    assert last_mount(p.args, f"{proj}/vendor/lib/.git") == ("--ro-bind", f"{proj}/vendor/lib/.git")
    assert effective_mode(p.args, f"{proj}/tools/.git/config") == "empty"  # not initialised
    assert f"{proj}/tools/.git" in p.create_dirs
    assert effective_mode(p.args, f"{proj}/vendor/lib/src/x.c") == "rw"  # still the work tree
    # the submodule's own git directory cannot be redirected either
    assert f"{proj}/.git/modules/lib/commondir" in p.create_dot_files
    assert effective_mode(p.args, f"{proj}/.git/modules/lib/config.worktree") == "empty"
    assert not any("evil" in a or a.startswith("/etc/passwd") for a in p.create_dirs)


def test_a_gitmodules_entry_cannot_unguard_a_guarded_path() -> None:
    # the agent edits .gitmodules in one session: the next must not pin
    # (bind writable again) .git/hooks, .vscode or .git/modules under a guard
    evil = ("[submodule \"a\"]\n\tpath = .git/hooks\n[submodule \"b\"]\n\tpath = .vscode\n"
            "[submodule \"c\"]\n\tpath = .git/modules/m/hooks\n"
            "[submodule \"d\"]\n\tpath = x/.git/y\n")

    class WithFiles(FakeHost):
        def read_text(self, path: str) -> str:
            return evil if path.endswith("/.gitmodules") else ""

    host: dict[str, Kind] = dict(BASE, **{
        "/home/u/proj/.gitmodules": "file", "/home/u/proj/.git/modules": "dir",
        "/home/u/proj/.git/modules/m": "dir", "/home/u/proj/.git/modules/m/HEAD": "file",
        "/home/u/proj/.git/modules/m/hooks": "dir",
        "/home/u/proj/.git/modules/m/modules": "dir",
        "/home/u/proj/.git/modules/m/modules/n": "dir",
        "/home/u/proj/.git/modules/m/modules/n/HEAD": "file",
        "/home/u/proj/.git/modules/m/modules/n/config": "file",
        "/home/u/proj/.git/worktrees": "dir", "/home/u/proj/.git/worktrees/wt": "dir",
        "/home/u/proj/.git/worktrees/wt/commondir": "file",
        "/home/u/proj/.git/worktrees/wt/gitdir": "file"})
    p = plan(layout(), WithFiles(host))
    proj = "/home/u/proj"
    assert effective_mode(p.args, f"{proj}/.git/hooks/pre-commit") == "ro"
    assert effective_mode(p.args, f"{proj}/.vscode/tasks.json") == "empty"
    assert effective_mode(p.args, f"{proj}/.git/modules/m/hooks/post-checkout") == "ro"
    # a submodule's own submodule, and a linked worktree's pointers
    assert effective_mode(p.args, f"{proj}/.git/modules/m/modules/n/config") == "ro"
    assert f"{proj}/.git/modules/m/modules/n/commondir" in p.create_dot_files
    for part in ("commondir", "gitdir"):
        assert effective_mode(p.args, f"{proj}/.git/worktrees/wt/{part}") == "ro"
    assert effective_mode(p.args, f"{proj}/.git/worktrees/wt/config.worktree") == "empty"


GITMODULES = """[submodule "lib"]
\tpath = vendor/lib
\turl = https://example.invalid/lib.git
[submodule "tools"]
\tpath = "tools"
[submodule "bad"]
\tpath = ../evil
[submodule "abs"]
\tpath = /etc/passwd/..
"""


def test_hooks_the_repositorys_config_points_into_the_work_tree_are_read_only() -> None:
    class WithFiles(FakeHost):
        def read_text(self, path: str) -> str:
            if path.endswith("/.git/config"):
                return '[core]\n\tbare = false\n[core] hooksPath = ".githooks"\n'
            return ""

    host: dict[str, Kind] = dict(BASE, **{"/home/u/proj/.githooks": "dir"})
    p = plan(layout(), WithFiles(host))
    assert effective_mode(p.args, "/home/u/proj/.githooks/pre-commit") == "ro"
    assert effective_mode(p.args, "/home/u/proj/src/main.c") == "rw"


def test_a_configured_hooks_folder_that_does_not_exist_yet_gets_a_read_only_stand_in() -> None:
    """Else the agent could make .githooks/pre-commit, and the user's next
    commit would run it on the host."""
    class WithConfig(FakeHost):
        def read_text(self, path: str) -> str:
            return "[core]\n\thooksPath = ./.githooks # team hooks\n" \
                if path.endswith("/.git/config") else ""

    p = plan(layout(), WithConfig(dict(BASE)))
    assert "/home/u/proj/.githooks" in p.create_dirs
    # an empty read-only stand-in, as for a missing .git/hooks
    assert effective_mode(p.args, "/home/u/proj/.githooks/pre-commit") == "empty"


def test_configured_hooks_path_stays_inside_the_work_tree() -> None:
    from stockade.sandbox.layout import configured_hooks_path

    assert configured_hooks_path("[core]\n\thooksPath = tools/hooks/\n") == "tools/hooks"
    assert configured_hooks_path("[core]\n\thookspath = /etc/hooks\n") is None
    assert configured_hooks_path("[core]\n\thooksPath = ../x\n") is None
    assert configured_hooks_path("[user]\n\thooksPath = x\n") is None
    # the spellings git accepts for a folder in the work tree
    assert configured_hooks_path("[core]\n\thooksPath = ./.githooks\n") == ".githooks"
    assert configured_hooks_path("[core]\n\thooksPath = .githooks # shared\n") == ".githooks"
    assert configured_hooks_path("[core]\n\thooksPath = .githooks ; x\n") == ".githooks"
    assert configured_hooks_path('[core]\n\thooksPath = "hooks dir"\n') == "hooks dir"
    assert configured_hooks_path("[core]\n\thooksPath = /home/u/proj/tools/hooks\n",
                                 "/home/u/proj") == "tools/hooks"
    assert configured_hooks_path("[core]\n\thooksPath = /home/u/projX/h\n", "/home/u/proj") is None
    assert configured_hooks_path("[core]\n\thooksPath = ./\n") is None


def test_submodule_paths_are_read_as_git_reads_gitmodules() -> None:
    """A path on the header line, after a comment, quoted; only submodule
    sections; never one leaving the work tree or through .git."""
    from stockade.sandbox.layout import submodule_paths

    text = ('[submodule "a"] path = "vendor/a" # on the header line\n'
            "[submodule \"b\"]\n\tpath = lib/b ; comment\n"
            "[core]\n\tpath = not/a/submodule\n" + GITMODULES)
    assert submodule_paths(text) == ["vendor/a", "lib/b", "vendor/lib", "tools"]


def test_a_hooks_path_is_found_as_git_finds_it(tmp_path: Path) -> None:
    """Review (fail open): "x/../hooks", "//" and an absolute path through a
    symbolic link to the workspace named a folder git would use, and were left
    unguarded."""
    from stockade.sandbox.layout import configured_hooks_path

    ws = tmp_path / "ws"
    (ws / "tools" / "hooks").mkdir(parents=True)
    alias = tmp_path / "alias"
    alias.symlink_to(ws)
    w = str(ws)
    assert configured_hooks_path("[core]\n\thooksPath = x/../hooks\n", w) == "hooks"
    assert configured_hooks_path(f"[core]\n\thooksPath = {w}//tools/hooks\n", w) == "tools/hooks"
    assert configured_hooks_path(f"[core]\n\thooksPath = {w}/x/../tools/hooks\n", w) == "tools/hooks"
    assert configured_hooks_path(f"[core]\n\thooksPath = {alias}/tools/hooks\n", w) == "tools/hooks"
    assert configured_hooks_path(f"[core]\n\thooksPath = {w}/../elsewhere\n", w) is None


def test_a_hooks_path_through_a_link_guards_the_folder_it_names(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from stockade.sandbox.layout import Layout, RealHost, plan

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    ws = tmp_path / "ws"
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / "real-hooks").mkdir()
    (ws / "hooks-link").symlink_to("real-hooks")
    with open(ws / ".git" / "config", "a") as f:
        f.write("[core]\n\thooksPath = hooks-link\n")
    rt = tmp_path / "rt"
    rt.mkdir()
    lay = Layout(workspace=str(ws), home=None, runtime_dir=str(rt), empty_dir=f"{rt}/empty",
                 empty_json=f"{rt}/empty.json", empty_file=f"{rt}/empty.file")
    p = plan(lay, RealHost())
    real = str(ws / "real-hooks")
    assert any(tuple(p.args[i:i + 3]) == ("--ro-bind", real, real) for i in range(len(p.args)))


def test_a_hooks_path_inside_a_read_only_guard_folder_pins_nothing() -> None:
    # Husky v9: core.hooksPath = .husky/_; a pin of .husky would be a writable
    # bind over its read-only guard (tests/redteam/test_rt_guard_folders_stay_read_only.py)
    class WithConfig(FakeHost):
        def read_text(self, path: str) -> str:
            return "[core]\n\thooksPath = .husky/_\n" if path.endswith("/.git/config") else ""

    host = dict(BASE, **{"/home/u/proj/.husky": "dir", "/home/u/proj/.husky/_": "dir"})
    p = plan(layout(), WithConfig(host))
    assert last_mount(p.args, "/home/u/proj/.husky") == ("--ro-bind", "/home/u/proj/.husky")
    assert [d for _, _, d in triples(p.args) if "/.husky" in d] == ["/home/u/proj/.husky"]
    assert len(p.create_dirs) == len(set(p.create_dirs))



def test_a_folder_bound_already_is_not_pinned_again() -> None:
    # a preset's ~/.claude (bound read-write) holding the workspace: a second
    # bind of it, made for the settings guard after the workspace's guards,
    # would cover them (.git/config writable again)
    from stockade.sandbox.layout import Extra

    host = {k.replace("/home/u/proj", "/home/u/.claude"): v for k, v in BASE.items()}
    p = plan(layout(workspace="/home/u/.claude", deny_read=(),
                    extras=(Extra("/home/u/.claude", "rw"),)), FakeHost(host))
    binds = [(op, d) for op, _, d in triples(p.args)]
    guard_at = binds.index(("--ro-bind", "/home/u/.claude/.git/config"))
    assert ("--bind", "/home/u/.claude") not in binds[guard_at:]
    assert last_mount(p.args, "/home/u/.claude/.git/config")[0] == "--ro-bind"


def test_the_config_chain_reads_includes_in_place_and_stops_at_loops() -> None:
    from stockade.sandbox.gitconfig import MAX_CONFIG_FILES, chain_pairs

    files = {
        "/etc/gitconfig": "[core]\n\thooksPath = sys\n",
        "/h/.gitconfig": '[includeIf "gitdir:/w/"]\n\tpath = ~/team.cfg\n[core]\n\tx = 1\n',
        "/h/team.cfg": "[include]\n\tpath = sub/more.cfg\n\tpath = ~other/x\n",
        "/h/sub/more.cfg": "[core]\n\thooksPath = team\n[include]\n\tpath = ../team.cfg\n",
        "/w/.git/config": "[include]\n\tpath = ../shared.cfg\n",
    }
    pairs, included = chain_pairs(
        ("/etc/gitconfig", "/h/.gitconfig", "/w/.git/config"),
        lambda p: files.get(p, ""), home="/h")
    # in git's order, included files read where they are included
    hooks = [v for k, v in pairs if k == "core.hookspath"]
    assert hooks[0] == "sys" and hooks[1] == "team"
    assert pairs[-1] == ("include.path", "../shared.cfg")
    assert included[:2] == ["/h/team.cfg", "/h/sub/more.cfg"]
    assert "/w/shared.cfg" in included  # absent, but the agent could make it
    assert not any(p.startswith("~") for p in included)  # another user's: not ours
    # a loop ends, within the bound on files read
    assert len(included) <= MAX_CONFIG_FILES
