"""Rules for shell commands (Claude Code's Bash tool, Codex's exec_command).

Input: the :class:`~stockade.hooks.commands.Analysis` of a command line.
Output: :class:`Violation` s, each with the rule that fired and a reason the
model can act on.  Pure, apart from reading ``.git`` metadata and resolving
symlinks.  A rule that cannot tell (a destination or path known only at run
time) asks rather than allows.
"""

from __future__ import annotations

import os
import posixpath

from stockade.hooks._record import Record
from stockade.hooks.commands import DYN, IO, Analysis, Arg, Invocation
from stockade.hooks.depcheck import InstallVerdict
from stockade.hooks.paths import (
    PathRef,
    glob_may_contain,
    glob_may_reach,
    resolve,
    tail_may_name,
    unknown_base,
)
from stockade.hooks.view import HookPolicy, is_under

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable
    from typing import Any

    InstallChecker = Callable[[str, tuple[str, ...]], InstallVerdict]


class Violation(Record):
    action: str  # deny | ask | warn
    rule_id: str
    reason: str


class _lazy:
    """A regular expression compiled on first use: most hook calls never
    need most of them, and compiling costs start-up time."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.rx: re.Pattern[str] | None = None

    def get(self) -> re.Pattern[str]:
        if self.rx is None:
            import re

            self.rx = re.compile(self.pattern)
        return self.rx

    def match(self, text: str) -> re.Match[str] | None:
        return self.get().match(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.get().search(text)

    def finditer(self, text: str) -> Iterable[re.Match[str]]:
        return self.get().finditer(text)


def fnmatchcase(name: str, pat: str) -> bool:
    from fnmatch import fnmatchcase as f

    return f(name, pat)


def urlsplit(url: str):  # type: ignore[no-untyped-def]
    from urllib.parse import urlsplit as u

    return u(url)


_SAFE_WRITE = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero")
_SAFE_WRITE_PREFIX = ("/dev/fd/", "/proc/self/fd/")
_INTERPRETERS = _lazy(r"^(python[0-9.]*|pypy[0-9.]*|node|nodejs|deno|bun|perl[0-9.]*|"
                           r"ruby[0-9.]*|php[0-9.]*)$")
_INTERPRETER_PREFIXES = ("python", "pypy", "node", "deno", "bun", "perl", "ruby", "php")
_NET_CODE = _lazy(
    r"\b(socket|urllib|urlopen|http\.client|httplib|requests|httpx|aiohttp|ftplib|smtplib|"
    r"telnetlib|paramiko|websocket|pycurl|fetch\s*\(|XMLHttpRequest|WebSocket|axios|"
    r"require\(\s*['\"](?:node:)?(?:https?|net|dgram|tls|http2)['\"]\s*\)|from\s+['\"](?:node:)?"
    r"(?:https?|net|dgram|tls)['\"]|IO::Socket|LWP|HTTP::Tiny|Net::HTTP|Net::FTP|open-uri|"
    r"TCPSocket|UDPSocket|URI\.open|fsockopen|curl_exec|file_get_contents\s*\(\s*['\"]https?)")
_RUNS_COMMANDS = _lazy(
    r"\b(os\.system|system|popen|subprocess|spawn|exec[lv]p?e?|execSync|execFileSync|"
    r"child_process|Popen|check_output|check_call|getoutput|IO\.popen|Open3|qx|shell_exec|"
    r"passthru|proc_open)\b|`")
_URL_IN_CODE = _lazy(r"\b(?:https?|ftp|wss?)://([^/\s'\"`)]+)")
_STR_LIT = _lazy(r"'([^'\n]{1,400})'|\"([^\"\n]{1,400})\"")
_HOSTLIKE = _lazy(r"(?i)^(?:(?:[a-z0-9-]+\.)+[a-z]{2,}|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$")
_WORLD_WRITABLE = _lazy(r"(a|o|ugo|)[+=][rwxXst]*w[rwxXst]*")
_SOCAT_ADDR = _lazy(r"(?i)^(?:tcp[46]?|udp[46]?|openssl|ssl|tcp-connect|udp-connect|"
                    r"proxy|socks4a?|socks5)[:-]([^:,]+):(\d+)")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ssh": 22, "sftp": 22, "ws": 80,
                  "wss": 443, "rsync": 873, "git": 9418}
_DEV_NET = _lazy(r"^/dev/(tcp|udp)/([^/]+)/(\d+)$")
_PIP_NET_OPTS = frozenset({"-i", "--index-url", "--extra-index-url", "-f", "--find-links",
                           "--proxy"})
# shells and eval: their script is analysed as commands, not as words
_SHELLS_C = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox-sh", "su", "eval",
                       "watch", "source", "."})

# options that take a value, per network tool (so the value is not a URL)
_CURL_VALUE_OPTS = frozenset({
    "-d", "-H", "-o", "-u", "-X", "-A", "-e", "-b", "-c", "-F", "-T", "-w", "-x", "-K", "-m",
    "-r", "-C", "-z", "-Y", "-y", "-E", "-U", "-Q", "-t", "-P", "--data", "--data-ascii",
    "--data-binary", "--data-raw", "--data-urlencode", "--json", "--header", "--output",
    "--user", "--request", "--user-agent", "--referer", "--cookie", "--cookie-jar", "--form",
    "--form-string", "--upload-file", "--write-out", "--proxy", "--proxy-user", "--config",
    "--connect-timeout", "--max-time", "--retry", "--retry-delay", "--retry-max-time",
    "--resolve", "--connect-to", "--cacert", "--capath", "--cert", "--key", "--range",
    "--continue-at", "--limit-rate", "--time-cond", "--speed-limit", "--speed-time",
    "--interface", "--dns-servers", "--unix-socket", "--abstract-unix-socket", "--local-port",
    "--url-query", "--variable", "--output-dir", "--max-filesize", "--max-redirs",
    "--oauth2-bearer", "--aws-sigv4", "--trace", "--trace-ascii", "--stderr", "--dump-header",
    "-D", "--telnet-option", "--quote", "--mail-from", "--mail-rcpt", "--preproxy", "--socks4",
    "--socks4a", "--socks5", "--socks5-hostname", "--noproxy", "--url", "--proto",
    "--proto-redir", "--ciphers", "--hostpubmd5", "--pinnedpubkey", "--etag-save",
    "--etag-compare"
})
_WGET_VALUE_OPTS = frozenset({
    "-O", "-o", "-a", "-P", "-U", "-e", "-t", "-T", "-w", "-i", "-B", "-Q", "-l", "-A", "-R",
    "-D", "-I", "-X", "--output-document", "--output-file", "--append-output",
    "--directory-prefix", "--user-agent", "--execute", "--tries", "--timeout", "--wait",
    "--input-file", "--base", "--quota", "--level", "--accept", "--reject", "--domains",
    "--header", "--post-data", "--post-file", "--body-data", "--body-file", "--method",
    "--user", "--password", "--http-user", "--http-password", "--bind-address", "--limit-rate",
    "--load-cookies", "--save-cookies", "--referer", "--ca-certificate", "--certificate",
    "--private-key"
})
_SSH_VALUE_OPTS = frozenset({
    "-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-e", "-m", "-O", "-Q",
    "-S", "-W", "-w", "-E", "-B", "-P"
})
_NET_SIMPLE = {"telnet", "ftp", "lftp", "tftp", "sftp", "ping", "ping6", "traceroute",
               "tracepath", "mtr", "dig", "nslookup", "host", "whois", "nmap", "masscan"}
_CLOUD = {"aws", "gsutil", "gcloud", "az", "rclone", "s3cmd", "azcopy", "b2", "doctl", "oci"}
_URL_TOOLS = {"curl", "wget", "http", "https", "xh", "xhs", "aria2c", "lynx", "w3m", "links",
              "elinks", "httpie", "curlie"}
_RECURSIVE_READERS = {"grep": ("-r", "-R", "--recursive", "--dereference-recursive"),
                      "egrep": ("-r", "-R"), "fgrep": ("-r", "-R"),
                      "cp": ("-r", "-R", "-a", "--recursive", "--archive"),
                      "scp": ("-r",), "zip": ("-r", "--recurse-paths"),
                      "rg": ("",), "ag": ("",), "tar": ("",), "rsync": ("",), "find": ("",),
                      "du": ("",), "ls": ("-R", "--recursive"), "tree": ("",),
                      "7z": ("",), "base64": ()}
_INSTALLERS: dict[str, str] = {"pip": "pypi", "pip3": "pypi", "uv": "pypi", "poetry": "pypi",
                               "pdm": "pypi", "pipx": "pypi", "npm": "npm", "pnpm": "npm",
                               "yarn": "npm", "bun": "npm", "npx": "npm", "bunx": "npm",
                               "cargo": "crates", "go": "go", "gem": "rubygems", "uvx": "pypi",
                               "easy_install": "pypi"}
# npm/pnpm/yarn/bun subcommands that install packages: install and add (and
# npm's aliases of install), update/upgrade, ci and the install-and-test forms
_NPM_INSTALL_SUBS = frozenset({
    "install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "isntall",
    "add", "ci", "clean-install", "ic", "install-clean", "isntall-clean", "update", "up",
    "upgrade", "udpate", "it", "install-test", "cit", "install-ci-test", "clean-install-test",
    "sit", "dlx", "x", "exec"})
# Python project tools' subcommands that install what the project's manifest lists
_PY_PROJECT_SYNCS = frozenset({"install", "sync", "update", "lock"})
# Installer options whose value changes what is installed, handed to the
# dependency check as `--name=value` items (stockade.hooks.depcheck.OPTION_TOKENS).
_PIP_HANDED = {"-r": "--requirement", "--requirement": "--requirement", "-e": "--editable",
               "--editable": "--editable", "-i": "--index-url", "--index-url": "--index-url",
               "--extra-index-url": "--extra-index-url", "-f": "--find-links",
               "--find-links": "--find-links"}
_NPM_HANDED = {"--registry": "--registry"}
# npm options that take a value (so the value is not read as a package); not
# -p: for `npm install` it is --parseable, a flag (`npm i -p evil` installs evil)
_NPM_VALUE_OPTS = frozenset({"--registry", "--tag", "--workspace", "-w", "--prefix", "-C",
                             "--cache", "--userconfig", "--cwd", "--dir", "--filter",
                             "--modules-folder", "--cache-folder"})
# Recursive readers that read the working directory when given no path.
_READS_DOT = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "find", "tree", "du", "ls"})
_GREP_VALUE_OPTS = frozenset({
    "-e", "-f", "-m", "-A", "-B", "-C", "-d", "-D", "-g", "-t", "-T", "-j", "-M", "-E", "-r",
    "--regexp", "--file", "--max-count", "--after-context", "--before-context", "--context",
    "--include", "--exclude", "--exclude-dir", "--label", "--binary-files", "--devices",
    "--directories", "--glob", "--iglob", "--type", "--type-not", "--type-add", "--type-clear",
    "--threads", "--max-columns", "--max-depth", "--max-filesize", "--sort", "--sortr",
    "--encoding", "--color", "--colors", "--replace", "--pre", "--pre-glob", "--engine",
    "--ignore-file", "--context-separator", "--field-match-separator", "--path-separator",
    "--dfa-size-limit", "--regex-size-limit", "--depth", "--ignore", "--ignore-dir", "-G"})
# Options that give grep-likes their pattern (then every operand is a path).
_GREP_PATTERN_OPTS = ("-e", "-f", "--regexp", "--file", "--files", "--type-list")

# Programs that never open a connection: a URL among their arguments is data
# (`echo https://...`, `sed 's|http://a|https://b|'`).
_NO_NETWORK = frozenset({
    "echo", "printf", "grep", "egrep", "fgrep", "rg", "ag", "sed", "gsed", "awk", "gawk",
    "mawk", "jq", "yq", "tr", "cut", "sort", "uniq", "head", "tail", "wc", "cat", "tac", "less",
    "more", "test", "[", "[[", "true", "false", ":", "basename", "dirname", "realpath",
    "readlink", "ls", "tee", "diff", "cmp", "comm", "mkdir", "touch", "rm", "cp", "mv", "ln",
    "chmod", "cd", "pushd", "read", "printenv", "expr", "date", "sleep", "base64", "xxd",
    "od", "hexdump", "column", "fold", "fmt", "nl", "rev", "paste", "join", "split",
    "md5sum", "sha1sum", "sha256sum", "sha512sum", "file", "stat", "which", "type", "alias",
    "unset", "set", "shift", "return", "exit", "wait", "jobs", "kill", "history", "man"})
_ASSIGNERS = frozenset({"export", "declare", "typeset", "local", "readonly"})
# Options whose value is prose (commit messages, PR bodies): a URL in it is data.
_MESSAGE_OPTS = frozenset({"-m", "--message", "-b", "--body", "--title", "--notes",
                           "--description", "--comment", "--subject"})
# Container CLIs: `-e URL=...`, labels and build arguments are data handed to
# the container, not a connection the CLI makes (what the container reaches is
# the container runtime's network, which this hook does not see either way).
_CONTAINER_CLIS = frozenset({"docker", "podman", "nerdctl"})
_CONTAINER_DATA_OPTS = frozenset({"-e", "--env", "-l", "--label", "--build-arg", "--annotation",
                                  "--label-file", "--env-file"})
# git subcommands that never connect (their URLs are messages or history).
_GIT_LOCAL = frozenset({"commit", "tag", "notes", "merge", "log", "show", "grep", "stash",
                        "shortlog", "blame", "diff", "status", "add", "mv", "rm", "restore",
                        "switch", "checkout", "reset", "revert", "cherry-pick", "rebase"})
_URL_ANY = _lazy(r"(?i)\b([a-z][a-z0-9+.-]*)://([^\s'\"`<>]*)")
_LOCAL_SCHEMES = frozenset({"file", "unix", "jar", "data"})
# user@host:path, what scp, rsync, git and many others read as a remote
_SCP_LIKE = _lazy(r"^[^@/\s:=]+@(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\x00-]+):")
_DB_CLIENTS = frozenset({
    "psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_isready", "pg_basebackup",
    "pg_receivewal", "createdb", "dropdb", "vacuumdb", "reindexdb", "clusterdb", "mysql",
    "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mariadb",
    "mariadb-dump", "redis-cli", "valkey-cli", "mongo", "mongosh", "mongodump", "mongorestore",
    "mongoexport", "mongoimport", "clickhouse-client", "cqlsh", "influx"})
_CONNINFO_HOST = _lazy(r"(?:^|\s)(?:host|hostaddr)\s*=\s*'?([^\s']+)")
_HOST_PORT = _lazy(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\x00-]+):(\d{1,5})$")
# interpreter code that changes files; its string literals are then checked
# against stockade's own files
_WRITES_CODE = _lazy(
    r"\bopen\w*\s*\([^)]*,\s*(?:mode\s*=\s*|flags\s*:\s*)?['\"][^'\"]*[wax+]|"
    r"\.open\s*\(\s*(?:mode\s*=\s*)?['\"][^'\"]*[wax+]|"
    r"\bopen\s*\(?\s*[\w$]+\s*,\s*['\"]\s*\+?[>|]|"
    r"\b(?:write|writeFile|writeFileSync|write_text|write_bytes|writelines|appendFile|"
    r"appendFileSync|createWriteStream|outputFile|outputFileSync|truncate|truncateSync|"
    r"copy|copy2|copyfile|copytree|copyFile|copyFileSync|cp|cpSync|symlink|symlinkSync|link|"
    r"linkSync|chmod|chmodSync|chown|mkdir|makedirs|mkdirSync|touch|sysopen|dump|save)\s*\(|"
    r"\bFile\.(?:write|open|new)|\bIO\.write|\bFileUtils\b|\bprint\s*\{?\s*[A-Z$]")
# ... and code that deletes or moves them (then a literal naming a directory
# that holds one of stockade's files counts too)
_DELETES_CODE = _lazy(
    r"\b(?:os|shutil|fs|fse|fsp|File|FileUtils|Dir|Deno)(?:\.\w+)*\.(?:remove|removeSync|"
    r"unlink|unlinkSync|rmtree|rmdir|rmdirSync|rm|rm_r|rm_rf|rmSync|rename|renameSync|replace|"
    r"move|moveSync|mv|delete|emptyDir|emptyDirSync)\s*\(|"
    r"\.(?:unlink|unlinkSync|rmdir|rmdirSync|rename|renameSync|rmSync|rmtree)\s*\(|"
    r"\b(?:rmtree|unlink|rename|rmdir)\b")


def check_command(analysis: Analysis, policy: HookPolicy, *,
                  install_check: InstallChecker) -> list[Violation]:
    out: list[Violation] = []
    for problem in analysis.problems:
        out.append(Violation("ask", "shell.unanalysable",
                             f"{problem}; stockade cannot check it, so a person must approve it"))
    for inv in analysis.invocations:
        _Check(inv, policy, out, install_check).run()
    return out


class _Check:
    def __init__(self, inv: Invocation, policy: HookPolicy, out: list[Violation],
                 install_check: InstallChecker):
        self.inv = inv
        self.p = policy
        self.out = out
        self.install_check = install_check
        self.cwd = inv.cwd
        # the interpreter's code argument (checked as code, not as a word)
        self.code_arg: Arg | None = None

    def add(self, action: str, rule: str, reason: str) -> None:
        v = Violation(action, rule, reason)
        if v not in self.out:
            self.out.append(v)

    # -- entry -------------------------------------------------------------
    def run(self) -> None:
        inv = self.inv
        for io in inv.io:
            self.check_io(io)
        if not inv.argv:
            for var, value in inv.assigns:
                self.env_code(var, value, via="the shell")
            return
        name = inv.name
        words = inv.words()
        self.policy_lists(words)
        self.read_args()
        if "stockade" in words[:3] and any(w in ("uninstall",) for w in words[1:4]):
            self.add("deny", "shell.tamper",
                     "`stockade uninstall` would switch off the stockade hooks; only a person "
                     "may do that, outside the agent")
        if _is_python(name) and [w for w in words[1:5] if w != "-P"][:3] == \
                ["-m", "stockade", "uninstall"]:
            self.add("deny", "shell.tamper", "`stockade uninstall` would switch off the stockade "
                     "hooks; only a person may do that, outside the agent")
        handler = getattr(self, "cmd_" + name.replace("-", "_").replace(".", "_"), None)
        if name in _URL_TOOLS:
            self.url_tool()
        elif name in ("nc", "ncat", "netcat", "socat"):
            self.netcat()
        elif name in ("ssh", "scp", "sftp", "rsync", "autossh", "mosh"):
            self.ssh_like()
        elif name in _NET_SIMPLE:
            self.net_simple()
        elif name in _CLOUD:
            self.add("ask", "shell.network.cloud",
                     f"`{name}` talks to a cloud API whose destination stockade cannot check "
                     "against network.allow")
        elif name.startswith(_INTERPRETER_PREFIXES) and _INTERPRETERS.match(name):
            self.interpreter()
        elif name in _DB_CLIENTS:
            self.db_client()
        elif handler is not None:
            handler()
        self.destinations()
        self.writes()
        self.installs()

    # -- policy lists ------------------------------------------------------
    def policy_lists(self, words: list[str]) -> None:
        name = self.inv.name
        line = " ".join(w.replace(DYN, "*") for w in words)
        for pat in self.p.deny_commands:
            if fnmatchcase(name, pat) or fnmatchcase(line, pat) or fnmatchcase(line, pat + " *"):
                self.add("deny", "tools.deny_commands",
                         f"`{name}` is on the policy's deny list (tools.deny_commands: {pat!r})")
        for pat in self.p.ask_commands:
            if fnmatchcase(name, pat) or fnmatchcase(line, pat) or fnmatchcase(line, pat + " *"):
                self.add("ask", "tools.ask_commands",
                         f"`{name}` needs approval (tools.ask_commands: {pat!r})")

    # -- reading -----------------------------------------------------------
    def path_values(self, arg: Arg) -> Iterable[tuple[str, bool]]:
        v = arg.value
        yield v, arg.glob
        if "=" in v:
            val = v.partition("=")[2]
            yield val, arg.glob
            if val[:1] in ("@", "<") and len(val) > 1:
                yield val[1:], arg.glob  # curl -F name=@file / name=<file
        if v.startswith("@") and len(v) > 1:
            yield v[1:], arg.glob
        if v.startswith("-") and not v.startswith("--") and len(v) > 2 and v[2] in "/~.":
            yield v[2:], arg.glob  # -I/path, -f~/x

    def read_args(self) -> None:
        inv = self.inv
        recursive = _RECURSIVE_READERS.get(inv.name)
        is_rec = recursive is not None and (
            "" in recursive or any(_has_flag(inv, f) for f in recursive))
        for arg in inv.argv[1:]:
            for value, glob in self.path_values(arg):
                if not value:
                    continue
                ref = resolve(value, cwd=self.cwd, glob=glob)
                self.check_read(ref, arg.raw, recursive=is_rec)
        if is_rec and inv.name in _READS_DOT and not self.has_path_operand():
            if self.cwd is None:
                self.add("ask", "fs.read_unknown",
                         f"`{inv.name}` reads everything under the working directory, which is "
                         "only known at run time")
            else:
                self.check_read(resolve(".", cwd=self.cwd), ".", recursive=True)

    def has_path_operand(self) -> bool:
        """Does this recursive reader name what it reads?  Without a path,
        grep -r, rg, find, tree, du and ls -R read the working directory."""
        inv = self.inv
        name = inv.name
        args = list(inv.args)
        if name in ("grep", "egrep", "fgrep", "rg", "ag"):
            if name in ("rg", "ag") and inv.stdin_pipe:
                return True  # without a path they search the pipe
            pos = _positional(args, value_opts=_GREP_VALUE_OPTS)
            pattern_given = any(a.value in _GREP_PATTERN_OPTS or a.value.startswith(
                ("--regexp=", "--file=")) for a in args)
            return len(pos) > (0 if pattern_given else 1)
        if name == "find":
            i = 0
            while i < len(args) and args[i].value in ("-H", "-L", "-P", "-D") or (
                    i < len(args) and args[i].value.startswith("-O")):
                i += 2 if args[i].value == "-D" else 1
            return i < len(args) and not args[i].value.startswith(("-", "(", "!"))
        return bool(_positional(args))

    def check_read(self, ref: PathRef, raw: str, *, recursive: bool = False) -> None:
        for cand in ref.candidates:
            hit = self.p.read_denied(cand)
            if hit:
                self.deny_read(raw, hit)
                return
            if recursive:
                inside = self.p.read_denied_inside(cand)
                if inside:
                    shown = raw if raw.startswith(("/", "~")) else f"{raw}` (`{cand}"
                    self.deny_read(shown, inside, recursive=True)
                    return
        if ref.prefix:
            hit = self.p.read_denied(ref.prefix)
            if hit:
                self.deny_read(raw, hit)
                return
        if ref.pattern:
            for root in self.p.deny_read:
                if glob_may_reach(ref.pattern, root):
                    self.deny_read(raw, root)
                    return
                if recursive and glob_may_contain(ref.pattern, root):
                    self.deny_read(raw, root, recursive=True)
                    return
        elif recursive and ref.prefix:
            inside = self.p.read_denied_inside(ref.prefix)
            if inside:
                self.add("ask", "fs.read_unknown",
                         f"`{self.inv.name}` reads everything under `{_short(raw)}`, known only "
                         f"at run time, which may contain {_tilde(inside, self.p)}")
        if not ref.candidates:
            comps = unknown_base(ref.raw, cwd=self.cwd)
            if comps is not None:
                self.read_unknown_base(comps, raw, recursive=recursive and ref.prefix is None)

    def read_unknown_base(self, comps: list[str], raw: str, *, recursive: bool) -> None:
        """A path relative to a directory known only at run time (after
        `cd $X`, or `$X/...`): it could be anywhere, so what it spells out is
        matched against the end of each denied path, as a glob would be."""
        for root in self.p.deny_read:
            if tail_may_name(comps, root):
                self.add("deny", "fs.read_denied",
                         f"`{self.inv.name}` reads `{_short(raw)}` in a directory only known at "
                         f"run time, which names {_tilde(root, self.p)}, a path the policy keeps "
                         "from the agent (filesystem.deny_read)")
                return
        if recursive and not raw.startswith("-"):
            self.add("ask", "fs.read_unknown",
                     f"`{self.inv.name}` reads everything under a directory only known at run "
                     "time, which may hold a path the policy keeps from the agent")

    def deny_read(self, raw: str, root: str, *, recursive: bool = False) -> None:
        where = (f"reads everything under `{_short(raw)}`, which contains" if recursive
                 else f"reads `{_short(raw)}`, which is inside")
        self.add("deny", "fs.read_denied",
                 f"`{self.inv.name}` {where} {_tilde(root, self.p)}, "
                 "a path the policy keeps from the agent (filesystem.deny_read)")

    # -- writing -----------------------------------------------------------
    def check_io(self, io: IO) -> None:
        if io.path is None:
            return
        m = _DEV_NET.match(io.path.value) if io.path.value.startswith(("/dev/tcp/",
                                                                         "/dev/udp/")) else None
        if m:
            self.host(m.group(2), int(m.group(3)), via=f"/dev/{m.group(1)}")
            return
        if io.kind == "read":
            self.check_read(resolve(io.path.value, cwd=self.cwd, glob=io.path.glob), io.path.raw)
        elif io.kind in ("write", "append"):
            self.check_write(io.path, verb="writes to")

    def check_write(self, arg: Arg, *, verb: str) -> None:
        value = arg.value
        if value in _SAFE_WRITE or value.startswith(_SAFE_WRITE_PREFIX):
            return
        ref = resolve(value, cwd=self.cwd, glob=arg.glob)
        name = self.inv.name or "the shell"
        for cand in ref.candidates:
            prot = self.p.protected_hit(cand)
            if prot:
                self.add("deny", "shell.tamper",
                         f"`{name}` {verb} `{_short(arg.raw)}`, one of stockade's own files "
                         "(hook settings, policy or ledger); the agent may not change them")
                return
        if ref.candidates:
            for cand in ref.candidates:
                if cand in _SAFE_WRITE:
                    return
            self.git_exec_write(ref.candidates, arg.raw, verb=verb)
            if all(self.p.write_allowed(c) for c in ref.candidates):
                return
            self.add("deny", "fs.write_outside",
                     f"`{name}` {verb} `{_short(arg.raw)}` ({ref.candidates[-1]}), outside the "
                     "paths the agent may write (filesystem.write: "
                     f"{', '.join(_tilde(w, self.p) for w in self.p.write) or 'nothing'})")
            return
        if ref.prefix and self.p.write_allowed(ref.prefix):
            return
        self.add("ask", "fs.write_unknown",
                 f"`{name}` {verb} `{_short(arg.raw)}`, a location only known at run time")

    def git_exec_write(self, cands: tuple[str, ...], raw: str, *, verb: str) -> None:
        """git runs what is in `.git/hooks` (and what `.git/config` names)
        on its own, outside these checks: writing there asks."""
        if not verb.startswith("deletes") and any(_git_exec_file(c) for c in cands):
            self.add("ask", "shell.git_exec",
                     f"`{self.inv.name or 'the shell'}` {verb} `{_short(raw)}`; git runs hooks "
                     "and configured commands from there without stockade seeing them, so a "
                     "person must approve it")

    def writes(self) -> None:
        inv = self.inv
        name = inv.name
        args = inv.args
        pos = _positional(args)
        targets: list[Arg] = []
        verb = "writes to"
        if name == "tee":
            targets = pos
        elif name in ("cp", "mv", "install", "ln", "rsync") and name != "rsync" or (
                name == "rsync" and not any(_remote_spec(a.value) for a in pos)):
            t = _opt_value(args, ("-t", "--target-directory"))
            if t is not None:
                targets = [t]
            elif len(pos) >= 2 or (name == "install" and _has_flag(inv, "-d")):
                targets = [pos[-1]] if not (name == "install" and _has_flag(inv, "-d")) else pos
            elif name == "ln" and len(pos) == 1:
                targets = [Arg(posixpath.basename(pos[0].value), pos[0].raw, pos[0].dynamic)]
            if name == "ln":
                for src in (pos if t is not None or len(pos) == 1 else pos[:-1]):
                    self.links_protected(src)
            if name == "mv":
                sources = pos if t is not None else pos[:-1]
                targets = targets + sources
                verb = "moves"
                for src in sources:
                    self.takes_along(src, verb="moves")
            if name == "rsync" and targets and any(
                    a.value.startswith(("--del", "--remove-")) for a in args):
                self.rsync_delete(targets[-1])
        elif name == "dd":
            targets = [Arg(a.value[3:], a.raw, a.dynamic, a.glob) for a in args
                       if a.value.startswith("of=")]
        elif name in ("sed", "gsed") and any(_sed_in_place(a.value) for a in args):
            has_script = any(a.value in ("-e", "-f", "--expression", "--file") for a in args)
            targets = pos if has_script else pos[1:]
            verb = "edits"
        elif name in ("perl",) and any(a.value.startswith("-") and "i" in a.value[1:3]
                                       for a in args):
            targets = [a for a in pos]
            verb = "edits"
        elif name in ("truncate", "touch", "mkdir", "rmdir", "shred", "unlink", "mkfifo",
                      "gzip", "gunzip", "bzip2", "xz", "unxz", "zstd"):
            targets = pos
        elif name == "rm":
            targets = pos
            verb = "deletes"
            self.rm(pos)
        elif name in ("chmod", "chown", "chgrp", "setfacl", "chattr"):
            targets = pos[1:]
            verb = "changes permissions of"
            self.chmod(pos)
        elif name == "sort":
            t = _opt_value(args, ("-o", "--output"))
            targets = [t] if t else []
        elif name in ("tar", "bsdtar", "gtar"):
            self.tar_commands(args)
            from stockade.hooks import fileops

            if fileops.tar_extracts(args):
                t = _opt_value(args, ("-C", "--directory"))
                targets = [t or Arg(".", ".")]
                verb = "extracts into"
                from stockade.hooks import archives

                self.extract(targets[0], archives.tar_archive(args), kind="tar",
                             absolute=_has_flag(inv, "-P") or _has_flag(inv, "--absolute-names"))
        elif name == "unzip":
            t = _opt_value(args, ("-d",))
            targets = [t or Arg(".", ".")]
            verb = "extracts into"
            if not any(a.value in ("-l", "-t", "-v", "-Z", "-p", "-c", "-z") for a in args):
                from stockade.hooks import archives

                self.extract(targets[0], archives.zip_archive(args), kind="zip", absolute=False)
            else:
                targets = []
        elif name == "find":
            from stockade.hooks.commands import find_roots

            if any(a.value in ("-delete",) for a in args):
                targets = find_roots(args)
                verb = "deletes under"
            from stockade.hooks import fileops

            if targets or fileops.find_destroys(args):
                self.find_deletes(find_roots(args))
            fp = _opt_value(args, ("-fprint", "-fprint0", "-fprintf", "-fls"))
            if fp:
                targets.append(fp)
        elif name in ("curl",):
            t = _opt_value(args, ("-o", "--output"))
            targets = [t] if t else []
            d = _opt_value(args, ("--output-dir",))
            if d:
                targets.append(d)
        elif name == "wget":
            t = _opt_value(args, ("-O", "--output-document"))
            d = _opt_value(args, ("-P", "--directory-prefix"))
            targets = [x for x in (t, d) if x is not None]
        elif name == "git" and _git_sub(args)[0] == "clone":
            sub_pos = _positional(_git_sub(args)[1])
            if len(sub_pos) >= 2:
                targets = [sub_pos[1]]
        for t in targets:
            if t.value == "-":
                continue
            self.check_write(t, verb=verb)

    # -- destructive -------------------------------------------------------
    def takes_along(self, arg: Arg, *, verb: str) -> None:
        """Deleting or moving ``arg`` takes everything under it along: refuse
        when one of stockade's own files is there (`rm -rf .claude`)."""
        ref = resolve(arg.value, cwd=self.cwd, glob=arg.glob)
        if any(self.p.protected_hit(c) for c in ref.candidates):
            return  # itself one of them: check_write says so
        hits = [self.p.protected_inside(c) for c in ref.candidates]
        if ref.pattern:
            hits += [p for p in self.p.protected
                     if glob_may_contain(ref.pattern, p) or glob_may_reach(ref.pattern, p)]
        hit = next((h for h in hits if h), None)
        if hit:
            self.add("deny", "shell.tamper",
                     f"`{self.inv.name}` {verb} `{_short(arg.raw)}`, which holds "
                     f"{_tilde(hit, self.p)}, one of stockade's own files (hook settings, "
                     "policy or ledger); the agent may not change them")

    def links_protected(self, src: Arg) -> None:
        """`ln -s .claude/settings.json x && echo > x`: at check time `x`
        does not exist, so the write through it would pass."""
        ref = resolve(src.value, cwd=self.cwd, glob=src.glob)
        hit = next((h for c in ref.candidates
                    for h in (self.p.protected_hit(c), self.p.protected_inside(c)) if h), None)
        if hit:
            self.add("deny", "shell.tamper",
                     f"`ln` makes `{_short(src.raw)}` ({_tilde(hit, self.p)}), stockade's own "
                     "files, reachable under another name; the agent may not change them")

    def rsync_delete(self, dst: Arg) -> None:
        """`rsync --delete SRC DST` deletes (or replaces) whatever in DST the
        source lacks: refuse when DST holds one of stockade's files; with
        filters, which files survive depends on them, so ask."""
        ref = resolve(dst.value, cwd=self.cwd, glob=dst.glob)
        hit = next((h for c in ref.candidates if (h := self.p.protected_inside(c))), None)
        if not hit:
            return
        filtered = any(a.value.startswith(("--exclude", "--filter", "-f", "--include", "-F"))
                       for a in self.inv.args)
        self.add("ask" if filtered else "deny", "shell.tamper",
                 f"`rsync --delete` into `{_short(dst.raw)}` deletes or replaces "
                 f"{_tilde(hit, self.p)}, one of stockade's own files, unless a filter keeps "
                 "it; the agent may not change them")

    def find_deletes(self, roots: list[Arg]) -> None:
        """`find DIR -delete` / `-exec rm {} +` deletes what the expression
        matches: refuse when one of stockade's files under DIR can match."""
        from stockade.hooks import fileops

        args = list(self.inv.args)
        for root in roots:
            ref = resolve(root.value, cwd=self.cwd, glob=root.glob)
            for cand in ref.candidates:
                for prot in self.p.protected:
                    if not is_under(prot, cand) or not fileops.find_may_match(args, prot, cand):
                        continue
                    self.add("deny", "shell.tamper",
                             f"`find {_short(root.raw)}` deletes what it matches, and can match "
                             f"{_tilde(prot, self.p)}, one of stockade's own files (hook "
                             "settings, policy or ledger); the agent may not change them")
                    return

    def tar_commands(self, args: tuple[Arg, ...]) -> None:
        """tar options that run commands (`--to-command`, `-I`,
        `--checkpoint-action=exec=`): checked as commands."""
        for k, a in enumerate(args):
            v = a.value
            opt, eq, val = v.partition("=")
            if opt in ("--to-command", "--use-compress-program", "--info-script",
                       "--new-volume-script", "--rsh-command", "-I", "-F") and not eq:
                if k + 1 >= len(args):
                    continue
                val, dyn = args[k + 1].value, args[k + 1].dynamic
            elif opt in ("--to-command", "--use-compress-program", "--info-script",
                         "--new-volume-script", "--rsh-command"):
                dyn = a.dynamic
            elif opt == "--checkpoint-action" and val.startswith("exec="):
                val, dyn = val[5:], a.dynamic
            else:
                continue
            self.setting_runs("command", setting=opt, text=val, dynamic=dyn, via="tar")

    def extract(self, target: Arg, archive: Arg | None, *, kind: str, absolute: bool) -> None:
        """An archive can carry `.claude/settings.json`, `.git/hooks/...`,
        `../` and absolute members.  Its members are listed when the archive
        is a readable file; otherwise extracting where such files live asks."""
        from stockade.hooks import archives

        ref = resolve(target.value, cwd=self.cwd, glob=target.glob)
        if not ref.candidates:
            return  # check_write asks for a target known only at run time
        base = ref.candidates[0]
        members = None
        if archive is not None and not archive.dynamic and archive.value != "-":
            path = resolve(archive.value, cwd=self.cwd).candidates
            members = archives.members(path[-1], kind=kind) if path else None
        if members is None:
            held = self.p.protected_inside(base) or next(
                (c for c in ref.candidates if _git_exec_file(c + "/.git/hooks")
                 and _exists(c + "/.git")), None)
            if held:
                self.add("ask", "fs.extract_unchecked",
                         f"`{self.inv.name}` extracts an archive stockade cannot list into "
                         f"`{_short(target.raw)}`, where it could replace "
                         f"{_tilde(held, self.p) if held in self.p.protected else '.git/hooks'}"
                         "; a person must approve it")
            return
        for name, how in members:
            # tar strips a leading `/` unless told -P; `..` and links leaving
            # the tree are asked about whatever the tool would do with them
            if how in ("dotdot", "link") or (how == "absolute" and (absolute or kind != "tar")):
                self.add("ask", "fs.extract_unchecked",
                         f"`{self.inv.name}` extracts `{_short(name)}`, a member that points "
                         "outside the target directory; a person must approve it")
                continue
            dest = Arg(posixpath.join(base, name.lstrip("/")), f"{target.raw}: {name}")
            self.check_write(dest, verb="extracts")
            if len(self.out) > 40:
                return

    def rm(self, pos: list[Arg]) -> None:
        ws = self.p.workspace
        for a in pos:
            if a.dynamic and a.value.strip(DYN + "/") == "":
                self.add("ask", "shell.destructive.rm",
                         f"`rm {_short(a.raw)}` deletes a path only known at run time")
                continue
            self.takes_along(a, verb="deletes")
            ref = resolve(a.value, cwd=self.cwd, glob=a.glob)
            for cand in ref.candidates:
                if is_under(ws, cand):
                    self.add("deny", "shell.destructive.rm",
                             f"`rm {_short(a.raw)}` would delete the whole workspace ({cand})")
                    break

    def chmod(self, pos: list[Arg]) -> None:
        inv = self.inv
        if inv.name != "chmod" or not pos:
            return
        mode = pos[0].value
        recursive = _has_flag(inv, "-R") or _has_flag(inv, "--recursive")
        world = mode in ("777", "0777", "666", "0666") or bool(
            _WORLD_WRITABLE.get().fullmatch(mode))
        if recursive and world:
            self.add("deny", "shell.destructive.chmod",
                     f"`chmod -R {mode}` makes a whole tree writable by everyone")

    # -- network -----------------------------------------------------------
    def host(self, host: str | None, port: int | None, *, via: str) -> None:
        if host and DYN in host:
            # `$(cat .env).attacker.example`: the domain is known even if the
            # name below it is not (DNS exfiltration)
            suffix = host.rsplit(DYN, 1)[1].strip(".")
            if "." in suffix:
                if self.p.host_allowed("x." + suffix, port):
                    return
                host = suffix
            else:
                host = None
        if host is None or not host:
            self.add("ask", "net.unknown_host",
                     f"`{via}` connects to a destination only known at run time")
            return
        h = host.strip("[]")
        if self.p.host_allowed(h, port):
            return
        allow = ", ".join(self.p.network_allow[:6]) + (" ..." if len(self.p.network_allow) > 6
                                                       else "")
        self.add("deny", "net.host_not_allowed",
                 f"`{via}` connects to {h}{':' + str(port) if port else ''}, which is not in "
                 f"network.allow ({allow or 'empty'})")

    def url(self, value: str, *, via: str) -> None:
        v = value
        if "://" not in v:
            v = "http://" + v
        authority = v.split("://", 1)[1]
        for stop in "/?#":
            authority = authority.split(stop, 1)[0]
        if DYN not in authority and (_ambiguous(authority) or "\\" in v.split("?", 1)[0]):
            # URL parsers disagree on where such a URL goes (Python, curl and
            # WHATWG read `https://a.example\@b.example` differently)
            self.add("deny", "net.bad_url",
                     f"`{via}` is given a URL with a backslash, a control character or white "
                     "space before its path, which programs read as different hosts")
            return
        try:
            parts = urlsplit(v)
            host, port = parts.hostname, parts.port
            if port is None:
                port = _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            host, port = None, None
        if DYN in value.split("://", 1)[-1].split("/", 1)[0]:
            host = None
        self.host(host, port, via=via)

    def url_tool(self) -> None:
        inv = self.inv
        name = inv.name
        opts = _CURL_VALUE_OPTS if name in ("curl", "curlie") else _WGET_VALUE_OPTS
        args = inv.args
        i = 0
        urls: list[Arg] = []
        while i < len(args):
            a = args[i]
            v = a.value
            if v in ("--url",) and i + 1 < len(args):
                urls.append(args[i + 1])
                i += 2
                continue
            if v.startswith("--url="):
                urls.append(Arg(v[6:], a.raw, a.dynamic))
            elif v in ("-x", "--proxy", "--preproxy") and i + 1 < len(args):
                urls.append(args[i + 1])
            elif v in ("--resolve", "--connect-to") and i + 1 < len(args):
                # host:port:address -- the connection really goes to `address`
                target = args[i + 1].value.rsplit(":", 1)[-1] if v == "--resolve" else \
                    args[i + 1].value.split(":")[2] if args[i + 1].value.count(":") >= 3 else ""
                if target:
                    self.host(target, None, via=f"{name} {v}")
            elif v in ("-K", "--config", "-i", "--input-file") and name != "http":
                self.add("ask", "net.unknown_host",
                         f"`{name} {v}` reads its destinations from a file stockade does not check")
            elif v in ("-e", "--execute") and name == "wget" and i + 1 < len(args):
                # wgetrc commands: `-e https_proxy=host:port` sends everything there
                var, _, val = args[i + 1].value.partition("=")
                self.assigned(var.strip(), Arg(val.strip(), args[i + 1].raw,
                                               args[i + 1].dynamic), via="wget -e")
            if v.startswith("-") and v in opts:
                i += 2
                continue
            if v.startswith("-") and v != "-":
                i += 1
                continue
            if name in ("http", "https", "xh", "xhs", "httpie") and (
                    v.isupper() or "=" in v or ":" in v and "//" not in v and not urls):
                if v.isupper():
                    i += 1
                    continue
            urls.append(a)
            i += 1
        if name in ("http", "https", "xh", "xhs", "httpie"):
            urls = urls[:1]
        if not urls and inv.stdin_args:
            urls = [Arg(DYN, "(from stdin)", True)]
        for u in urls:
            self.url(u.value, via=name)

    def destinations(self) -> None:
        """Hosts any program may reach: URLs (`gh api https://...`, `npm
        publish --registry ...`, `psql postgresql://...`), scp-style
        `user@host:path`, and proxy or index URLs set in the environment of
        the command.  Only programs known never to connect are skipped."""
        inv = self.inv
        name = inv.name
        for var, value in inv.assigns:
            self.assigned(var, value, via=name)
            self.env_code(var, value, via=name)
        if name in _ASSIGNERS:
            for a in inv.args:
                if "=" in a.value and not a.value.startswith("-"):
                    var, _, val = a.value.partition("=")
                    self.assigned(var, Arg(val, a.raw, a.dynamic), via=name)
                    self.env_code(var, Arg(val, a.raw, a.dynamic), via=name)
            return
        if name in _NO_NETWORK or name in _URL_TOOLS or name in _SHELLS_C or (
                name == "git" and _git_sub(inv.args)[0] in _GIT_LOCAL):
            return
        skip_next = False
        for a in inv.args:
            v = a.value
            if skip_next or a is self.code_arg:
                skip_next = False
                continue
            if v in _MESSAGE_OPTS or (name in _CONTAINER_CLIS and v in _CONTAINER_DATA_OPTS):
                skip_next = True
                continue
            if v.startswith("--") and (v.partition("=")[0] in _MESSAGE_OPTS or (
                    name in _CONTAINER_CLIS and v.partition("=")[0] in _CONTAINER_DATA_OPTS)):
                continue
            self.arg_destinations(a, via=name)

    def arg_destinations(self, a: Arg, *, via: str) -> None:
        v = a.value
        if "://" in v:
            for m in _URL_ANY.finditer(v):
                if m.group(1).lower() not in _LOCAL_SCHEMES:
                    self.url(m.group(0), via=via)
            return
        remote = _SCP_LIKE.match(v) if "@" in v else None
        if remote:
            self.host(remote.group(1), None, via=via)

    def assigned(self, var: str, value: Arg, *, via: str) -> None:
        """``VAR=value`` for a command: a URL, or any proxy setting."""
        lower = var.lower()
        if "://" in value.value:
            self.arg_destinations(value, via=f"{var}= for {via}")
        elif "proxy" in lower and not lower.startswith("no_") and value.value:
            if value.dynamic:
                self.host(None, None, via=f"{var}= for {via}")
            else:
                self.url(value.value, via=f"{var}= for {via}")

    def env_code(self, var: str, value: Arg, *, via: str) -> None:
        """``GIT_SSH_COMMAND=... git fetch``, ``LD_PRELOAD=x.so ls``: a
        variable that makes the program run other code."""
        from stockade.hooks import envcode

        if not envcode.is_setting_var(var):
            return
        kind = envcode.env_setting(var, value.value.replace(DYN, "x"))
        if kind is not None:
            self.setting_runs(kind, setting=f"{var}=", text=envcode.command_text(
                var, value.value), dynamic=value.dynamic, via=via)

    def setting_runs(self, kind: str, *, setting: str, text: str, dynamic: bool,
                     via: str) -> None:
        """A setting whose value is a command is checked as one; one that
        loads code stockade cannot read (or a command known only at run
        time) asks."""
        if kind == "code" or dynamic:
            what = "loads code" if kind == "code" else "runs a command only known at run time"
            self.add("ask", "shell.env_code",
                     f"`{_short(setting, 40)}` for `{via}` {what}, which stockade cannot "
                     "check and the command line does not show; a person must approve it")
            return
        self.nested_command(text)

    def nested_command(self, text: str) -> None:
        """Check ``text`` as a shell command run by this one."""
        if self.inv.depth >= 8:
            self.add("ask", "shell.unanalysable", "commands nested too deeply; stockade cannot "
                     "check them, so a person must approve it")
            return
        from stockade.hooks.commands import analyse

        sub = analyse(text, cwd=self.cwd or self.p.workspace, home=self.p.home, env={})
        for problem in sub.problems:
            self.add("ask", "shell.unanalysable",
                     f"{problem}; stockade cannot check it, so a person must approve it")
        for inv in sub.invocations:
            nested = inv._replace(depth=self.inv.depth + 1)
            _Check(nested, self.p, self.out, self.install_check).run()

    def host_port(self, arg: Arg, *, via: str) -> None:
        if arg.dynamic:
            self.host(None, None, via=via)
            return
        m = _HOST_PORT.match(arg.value)
        if m:
            self.host(m.group(1), int(m.group(2)), via=via)
        else:
            self.host(_user_host(arg.value), None, via=via)

    def db_client(self) -> None:
        """`psql -h HOST`, `mysql --host=HOST`, `redis-cli -h HOST`, libpq
        `host=...` strings (URLs are seen by :meth:`destinations`)."""
        inv = self.inv
        args = inv.args
        for k, a in enumerate(args):
            v = a.value
            host: Arg | None = None
            if v in ("-h", "--host", "--hostname") and k + 1 < len(args):
                host = args[k + 1]
            elif v.startswith(("--host=", "--hostname=")):
                host = Arg(v.partition("=")[2], a.raw, a.dynamic)
            elif v.startswith("-h") and len(v) > 2 and not v.startswith("--"):
                host = Arg(v[2:], a.raw, a.dynamic)
            if host is not None:
                self.db_host(host)
            if "=" in v:
                for m in _CONNINFO_HOST.finditer(v):
                    self.db_host(Arg(m.group(1), a.raw, a.dynamic))

    def db_host(self, arg: Arg) -> None:
        via = self.inv.name
        if arg.dynamic:
            self.host(None, None, via=via)
            return
        # libpq and mongo take lists (h1,h2:5433; mongo: replset/h1,h2)
        for part in arg.value.split("/", 1)[-1].split(",") if not arg.value.startswith("/") \
                else ():
            if part:
                self.host_port(Arg(part, arg.raw), via=via)

    def cmd_docker(self) -> None:
        """`docker run -v ~/.ssh:/keys`: a bind mount reads its whole source."""
        args = self.inv.args
        for k, a in enumerate(args):
            v = a.value
            src: str | None = None
            if v in ("-v", "--volume") and k + 1 < len(args):
                src = args[k + 1].value.split(":", 1)[0]
            elif v.startswith("--volume="):
                src = v.partition("=")[2].split(":", 1)[0]
            elif v in ("--mount",) and k + 1 < len(args) or v.startswith("--mount="):
                spec = args[k + 1].value if v == "--mount" else v.partition("=")[2]
                for field in spec.split(","):
                    key, _, val = field.partition("=")
                    if key in ("source", "src"):
                        src = val
            if src and src.startswith(("/", ".", "~", DYN)):
                if src.startswith("~"):
                    src = self.p.home + src[1:]
                self.check_read(resolve(src, cwd=self.cwd), src, recursive=True)

    cmd_podman = cmd_nerdctl = cmd_docker

    def cmd_sqlite3(self) -> None:
        """The database a sqlite3 command opens is written to (any statement
        may change it) unless -readonly says otherwise: stockade's ledger and
        caches are SQLite files."""
        args = self.inv.args
        if any(a.value in ("-readonly", "--readonly") for a in args):
            return
        db = next((a for a in args if not a.value.startswith("-")), None)
        if db is not None and db.value != ":memory:":
            self.check_write(db, verb="open for writing")

    def cmd_openssl(self) -> None:
        args = self.inv.args
        sub = args[0].value if args else ""
        if sub not in ("s_client", "s_time"):
            return
        k = 1
        while k < len(args):
            v = args[k].value
            if v in ("-connect", "-proxy", "-host") and k + 1 < len(args):
                self.host_port(args[k + 1], via=f"openssl {sub} {v}")
                k += 2
                continue
            if _HOST_PORT.match(v):  # OpenSSL 3: `s_client host:port`
                self.host_port(args[k], via=f"openssl {sub}")
            k += 1

    def netcat(self) -> None:
        inv = self.inv
        if inv.name == "socat":
            for a in inv.args:
                m = _SOCAT_ADDR.match(a.value)
                if m:
                    self.host(m.group(1), int(m.group(2)), via="socat")
                elif a.dynamic and not a.value.startswith("-"):
                    self.host(None, None, via="socat")
            return
        if _has_flag(inv, "-l") or _has_flag(inv, "--listen"):
            return
        pos = _positional(inv.args, value_opts={"-p", "-s", "-w", "-i", "-q", "-x", "-X", "-e",
                                                "-c", "-o", "-O", "-P", "-g", "-G", "-T", "-I"})
        if pos:
            port = pos[1].value if len(pos) > 1 and pos[1].value.isdigit() else None
            self.host(pos[0].value, int(port) if port else None, via=inv.name)

    def ssh_like(self) -> None:
        inv = self.inv
        name = inv.name
        for k, a in enumerate(inv.args):
            if a.value in ("-J",) and k + 1 < len(inv.args):
                self.host(_user_host(inv.args[k + 1].value.split(",")[0]), None, via=f"{name} -J")
            if a.value == "-o" and k + 1 < len(inv.args):
                opt = inv.args[k + 1].value.lower()
                if opt.startswith(("proxycommand", "localcommand", "permitlocalcommand")):
                    self.add("ask", "net.unknown_host",
                             f"`{name} -o {opt.split('=')[0]}` runs a command stockade "
                             "cannot check")
        pos = _positional(inv.args, value_opts=_SSH_VALUE_OPTS | {"-e", "--rsh", "--rsync-path"})
        if name in ("ssh", "sftp", "autossh", "mosh"):
            if pos:
                v = pos[0].value
                if v.startswith(("ssh://", "sftp://")):
                    self.url(v, via=name)
                else:
                    self.host(_user_host(v), None, via=name)
            return
        for a in pos:
            spec = _remote_spec(a.value)
            if spec is not None:
                if "://" in a.value:
                    self.url(a.value, via=name)
                else:
                    self.host(_user_host(spec), None, via=name)
            elif a.dynamic and a.value.startswith(DYN):
                self.host(None, None, via=name)

    def net_simple(self) -> None:
        inv = self.inv
        pos = _positional(inv.args, value_opts={"-p", "-P", "-c", "-i", "-W", "-t", "-q", "-u",
                                                "-o", "-e", "-type", "-port", "-s", "-I", "-b",
                                                "-l", "-w", "-f", "-4", "-6"})
        hosts = [a for a in pos if not a.value.startswith(("+", "@"))]
        if inv.name in ("dig",):
            hosts = [a for a in pos if not a.value.startswith("+") and "." in a.value or a.dynamic]
        if not hosts:
            return
        if inv.name in ("nslookup", "dig", "host"):
            for h in hosts[:1]:
                self.host(_user_host(h.value), None, via=inv.name)
            return
        first = hosts[0].value
        if "://" in first:
            self.url(first, via=inv.name)
        else:
            self.host(_user_host(first), None, via=inv.name)

    def interpreter(self) -> None:
        inv = self.inv
        name = inv.name
        code: Arg | None = None
        module: str | None = None
        args = inv.args
        for k, a in enumerate(args):
            v = a.value
            if v in ("-c", "-e", "-E", "--eval", "-p", "--print", "-r") and k + 1 < len(args):
                if v == "-p" and not name.startswith(("node", "deno", "bun")):
                    continue
                code = self.code_arg = args[k + 1]
                break
            if v.startswith("-") and len(v) > 2 and v[1] in "ce" and not v.startswith("--") \
                    and name.startswith(("perl", "ruby")):
                code = Arg(v[2:], a.raw, a.dynamic) if v[2:] else (
                    args[k + 1] if k + 1 < len(args) else None)
                self.code_arg = a if v[2:] else code
                break
            if v == "-m" and k + 1 < len(args):
                module = args[k + 1].value
                break
            if v.startswith("-m") and len(v) > 2 and _is_python(name):  # `python -mpip`
                module = v[2:]
                break
            if not v.startswith("-"):
                break  # a script file: its code is not inspected here
            if v == "-":
                break
        if module is not None:
            if _is_python(name) and _unversioned(module) in _INSTALLERS:
                at = next(k for k, a in enumerate(args) if a.value in ("-m", f"-m{module}"))
                rest = list(args[at + (2 if args[at].value == "-m" else 1):])
                self.installs(module, rest)
            return
        if code is None:
            texts = [io.text for io in inv.io if io.kind == "text" and io.text is not None]
            script_arg = next((a for a in args if not a.value.startswith("-")), None)
            if texts and script_arg is None or (script_arg is not None and script_arg.value == "-"
                                                and texts):
                code = texts[-1]
            elif script_arg is None and inv.stdin_pipe and not any(
                    a.value in ("-V", "--version", "-h", "--help") for a in args):
                self.add("ask", "shell.unanalysable",
                         f"`{name}` runs code read from a pipe, which stockade cannot inspect")
                return
        if code is None:
            return
        self.check_code(code, via=name)

    def check_code(self, code: Arg, *, via: str) -> None:
        text = code.value
        if code.dynamic and DYN in text and text.strip(DYN) == "":
            self.add("ask", "shell.unanalysable", f"`{via}` runs code only known at run time")
            return
        from stockade.hooks import codepaths

        # `open('/home/u/.ss' + 'h/id_rsa')`, `process.env.HOME + '/.aws/x'`:
        # folded into the literal they spell before literals are checked
        text = codepaths.fold(text, home=self.p.home)
        literals = [m.group(1) or m.group(2) or "" for m in _STR_LIT.finditer(text)]
        for lit in literals:
            if lit.startswith(("~", "/", "./", "../")) or "/." in lit or (
                    lit.startswith(".") and "/" in lit and " " not in lit):
                path = self.p.home + lit[1:] if lit.startswith("~") else lit
                self.check_read(resolve(path, cwd=self.cwd), lit)
        if codepaths.touches_files(text) and codepaths.builds_at_run_time(text):
            self.add("ask", "fs.read_unknown",
                     f"`{via}` code opens files through a path it builds at run time, which "
                     "stockade cannot read from the code; a person must approve it")
        deletes = _DELETES_CODE.search(text) is not None
        if deletes or _WRITES_CODE.search(text):
            for lit in literals:
                self.code_write(lit, via=via, deletes=deletes)
        if _RUNS_COMMANDS.search(text) and self.inv.depth < 8:
            # os.system("curl ..."), subprocess.run("..."), `...`: the string
            # literals that look like commands are checked as shell commands
            from stockade.hooks.commands import analyse

            for lit in literals:
                if " " not in lit.strip():
                    continue
                sub = analyse(lit, cwd=self.cwd or self.p.workspace, home=self.p.home, env={})
                for inv in sub.invocations:
                    nested = inv._replace(depth=self.inv.depth + 1)
                    _Check(nested, self.p, self.out, self.install_check).run()
        if not _NET_CODE.search(text):
            return
        if codepaths.url_built_at_run_time(text):
            self.add("ask", "net.unknown_host",
                     f"`{via}` code adds to a URL's host at run time, so stockade cannot tell "
                     "where it connects; a person must approve it")
            return
        hosts = [m.group(1) for m in _URL_IN_CODE.finditer(text)]
        hosts += [m.group(1) or m.group(2) for m in _STR_LIT.finditer(text)
                  if _HOSTLIKE.match(m.group(1) or m.group(2) or "")]
        if not hosts:
            self.add("ask", "net.unknown_host",
                     f"`{via}` code uses the network toward a destination stockade cannot "
                     "read from the code")
            return
        for h in dict.fromkeys(hosts):
            hostpart = h.rpartition("@")[2]
            port = None
            if hostpart.count(":") == 1:
                hostpart, _, ps = hostpart.partition(":")
                port = int(ps) if ps.isdigit() else None
            self.host(hostpart, port, via=f"{via} code")

    def code_write(self, lit: str, *, via: str, deletes: bool) -> None:
        """A string literal in code that writes (or deletes) files: refuse
        when it names one of stockade's own files (or, for code that deletes
        or moves, a directory holding one).  Which literal the code writes
        to is not known, so only stockade's files are checked: any other
        path may be one the code only reads."""
        path = lit.strip()
        if path[:1] in "+<>|" and not path.startswith("//"):
            path = path.lstrip("+<>|").strip()  # perl: open(F, ">path")
        if not path or "://" in path or len(path) > 400:
            return
        if path == "~" or path.startswith("~/"):
            path = self.p.home + path[1:]
        for var in ("$HOME", "${HOME}"):
            if path.startswith(var):
                path = self.p.home + path[len(var):]
        ref = resolve(path, cwd=self.cwd or self.p.workspace)
        for cand in ref.candidates:
            hit = self.p.protected_hit(cand) or (self.p.protected_inside(cand) if deletes
                                                 else None)
            if hit:
                self.add("deny", "shell.tamper",
                         f"`{via}` code changes files and names `{_short(lit)}` "
                         f"({_tilde(hit, self.p)}), one of stockade's own files (hook settings, "
                         "policy or ledger); the agent may not change them")
                return

    # -- git -----------------------------------------------------------------
    def cmd_git(self) -> None:
        inv = self.inv
        sub, rest = _git_sub(inv.args)
        cwd = self.cwd
        gc = _opt_value(list(inv.args), ("-C",))
        if gc is not None and cwd is not None and not gc.dynamic:
            cwd = posixpath.normpath(posixpath.join(cwd, gc.value))
        self.git_settings(inv.args, sub, rest)
        if sub in ("push", "fetch", "pull", "clone", "ls-remote", "archive") or (
                sub == "remote" and rest[:1] and rest[0].value == "update"):
            self.git_remote(sub, rest, cwd)

    def git_settings(self, args: tuple[Arg, ...], sub: str, rest: tuple[Arg, ...]) -> None:
        """`git -c core.sshCommand=...`, `git clone -c ...`, `git config
        core.hooksPath DIR`: configuration that makes git run code."""
        pairs: list[tuple[str, Arg]] = []
        k = 0
        while k < len(args) and args[k].value != sub:
            v = args[k].value
            if v == "-c" and k + 1 < len(args):
                pairs.append(_split_setting(args[k + 1]))
                k += 1
            elif v.startswith("--config-env="):
                pairs.append(_split_setting(Arg(v.partition("=")[2], args[k].raw, True)))
            k += 1
        if sub == "clone":
            pairs += [_split_setting(a) for a in _opt_values(rest, ("-c", "--config"))]
        elif sub == "config":
            pos = _positional(rest, value_opts={"-f", "--file", "--blob", "--type", "--default",
                                                "--comment", "--value", "--url"})
            words = [a.value for a in pos]
            reads = any(a.value.startswith(("--get", "--unset", "--remove-section", "-l",
                                             "--list", "--rename-section")) for a in rest)
            if words[:1] == ["set"] and len(pos) >= 3:
                pairs.append((words[1], pos[2]))
            elif not reads and len(pos) >= 2 and words[0] not in (
                    "get", "list", "unset", "rename-section", "remove-section", "edit"):
                pairs.append((words[0], pos[1]))
        from stockade.hooks import envcode

        for key, value in pairs:
            kind = envcode.git_setting(key, value.value.replace(DYN, "x"))
            if kind is None:
                continue
            if kind == "code":
                self.add("ask", "shell.git_exec",
                         f"`git` setting `{_short(key, 40)}` points git at hooks, templates or "
                         "configuration that run code stockade cannot check; a person must "
                         "approve it")
                continue
            self.setting_runs(kind, setting=key, text=envcode.command_text(key, value.value),
                              dynamic=value.dynamic, via=f"git {sub}".strip())

    def git_remote(self, sub: str, rest: tuple[Arg, ...], cwd: str | None) -> None:
        value_opts = {"-o", "--push-option", "--repo", "--receive-pack", "--exec", "-b",
                      "--branch", "--depth", "--reference", "--origin", "-u", "--upload-pack",
                      "--filter", "--config", "-c", "-j", "--jobs", "--shallow-since",
                      "--separate-git-dir", "--template", "--remote"}
        pos = _positional(list(rest), value_opts=value_opts)
        if sub == "archive":
            r = _opt_value(list(rest), ("--remote",))
            if r is not None:
                self.git_target(r.value, cwd, via="git archive")
            return
        if sub == "clone":
            if pos:
                self.git_target(pos[0].value, cwd, via="git clone", dynamic=pos[0].dynamic)
            return
        from stockade.hooks import gitinfo

        branch = gitinfo.current_branch(cwd) if cwd else None
        remote = pos[0].value if pos else (
            gitinfo.branch_remote(cwd, branch) if cwd else "origin")
        if pos and pos[0].dynamic:
            self.host(None, None, via=f"git {sub}")
            return
        self.git_target(remote, cwd, via=f"git {sub}")
        if sub == "push":
            self.force_push(rest, pos[1:], branch)

    def git_target(self, remote: str, cwd: str | None, *, via: str, dynamic: bool = False) -> None:
        if dynamic:
            self.host(None, None, via=via)
            return
        from stockade.hooks import gitinfo

        looks_url = "://" in remote or (":" in remote and not remote.startswith(("/", ".")))
        url = remote if looks_url else (gitinfo.remote_url(cwd, remote) if cwd else None)
        if url is None:
            if remote.startswith(("/", ".", "~")):
                return  # a local repository path
            self.add("ask", "net.unknown_host",
                     f"`{via}` uses remote `{remote}`, whose URL stockade cannot find")
            return
        hp = gitinfo.url_host(url)
        if hp is None:
            return  # local
        self.host(hp[0], hp[1], via=via)

    def force_push(self, rest: tuple[Arg, ...], refspecs: list[Arg], branch: str | None) -> None:
        flags = [a.value for a in rest]
        force = any(f in ("-f", "--force", "--mirror", "--delete", "-d") or
                    f.startswith(("--force-with-lease", "--force-if-includes")) or
                    (f.startswith("-") and not f.startswith("--") and "f" in f[1:])
                    for f in flags)
        dests: list[str] = []
        for r in refspecs:
            v = r.value
            if v.startswith("+"):
                force = True
                v = v[1:]
            if v.startswith(":"):
                force = True
            dst = v.rpartition(":")[2] if ":" in v else v
            if dst == "HEAD" and branch:
                dst = branch
            dests.append(dst.removeprefix("refs/heads/"))
        if not force:
            return
        if not dests:
            dests = [branch] if branch else ["(current branch)"]
        for d in dests:
            if any(fnmatchcase(d, pat) for pat in self.p.protected_branches) or \
                    d == "(current branch)" or "--mirror" in flags or DYN in d:
                self.add("deny", "shell.destructive.force_push",
                         f"a forced push to `{d}` would rewrite a protected branch "
                         f"(tools.protected_branches: {', '.join(self.p.protected_branches)})")

    # -- installs ------------------------------------------------------------
    def installs(self, name: str | None = None, argv: list[Arg] | None = None) -> None:
        """``name``/``argv``: an installer run through another program
        (``python -m uv ...``, ``corepack yarn ...``); else this invocation."""
        inv = self.inv
        name = inv.name if name is None else name
        name = _unversioned(name)
        if name == "corepack":
            lead = [a for a in (inv.args if argv is None else argv) if not a.value.startswith("-")]
            if lead:
                rest = list(inv.args if argv is None else argv)
                # `corepack pnpm@8.15.0 add x`: the package manager, at a version
                tool = lead[0].value.split("@", 1)[0] or lead[0].value
                self.installs(tool, rest[rest.index(lead[0]) + 1:])
            return
        eco = _INSTALLERS.get(name)
        if eco is None:
            return
        args = list(inv.args if argv is None else argv)
        pos = [a.value for a in _positional(args)]
        packages: tuple[str, ...] | None = None
        if name in ("pip", "pip3"):
            self.pip(args)
            return
        if name == "uv":
            if pos[:1] == ["pip"]:
                self.pip(args[args.index(next(a for a in args if a.value == "pip")) + 1:])
                return
            if pos[:1] == ["add"] or pos[:2] == ["tool", "install"]:
                packages = tuple(pos[1:] if pos[0] == "add" else pos[2:])
                packages += tuple(_handed_options(args, _PIP_HANDED))
            elif pos[:2] == ["tool", "run"]:
                packages = _uvx(args[[a.value for a in args].index("run") + 1:])
            elif pos[:1] == ["run"]:  # `uv run --with X script.py`: only the --with packages
                packages = tuple(v.value for v in _opt_values(args, ("--with",))) or None
            elif pos[:1] == ["sync"] or pos[:1] == ["lock"]:
                packages = ()  # what the project's manifest lists
        elif name == "uvx":
            packages = _uvx(args)
        elif name in ("poetry", "pdm") and pos[:1] == ["add"]:
            packages = tuple(pos[1:])
        elif name in ("poetry", "pdm") and pos[:1] and pos[0] in _PY_PROJECT_SYNCS:
            packages = ()  # what the project's manifest lists
        elif name == "easy_install":
            packages = tuple(pos)
        elif name == "pipx" and pos[:1] in (["install"], ["run"]):
            spec = _opt_value(args, ("--spec",))
            packages = (spec.value,) if spec is not None else tuple(pos[1:2])
        elif name in ("npm", "pnpm", "yarn", "bun") and (
                (npm_pos := [a.value for a in _positional(args, value_opts=_NPM_VALUE_OPTS)])[:1]
                and npm_pos[0] in _NPM_INSTALL_SUBS or npm_pos[:2] == ["global", "add"]):
            # (the subcommand found past the options: `npm --prefix /tmp install x`)
            pos = npm_pos
            if pos[:2] == ["global", "add"]:
                pos = pos[1:]
            p = _opt_value(args, ("-p", "--package"))
            packages = tuple(pos[1:]) if pos[0] not in ("dlx", "x", "exec") \
                else ((p.value,) if p is not None else tuple(pos[1:2]))
            packages += tuple(_handed_options(args, _NPM_HANDED))
        elif name == "yarn" and not pos:
            packages = ()
        elif name in ("npx", "bunx"):
            p = _opt_value(args, ("-p", "--package"))
            pos = [a.value for a in _positional(args, value_opts=_NPM_VALUE_OPTS)]
            packages = (p.value,) if p is not None else tuple(pos[:1])
            packages += tuple(_handed_options(args, _NPM_HANDED))
        elif name == "cargo" and pos[:1] in (["add"], ["install"]):
            packages = tuple(pos[1:])
        elif name == "go" and pos[:1] in (["get"], ["install"]):
            packages = tuple(p for p in pos[1:] if not p.startswith("."))
        elif name == "go" and pos[:1] == ["run"] and len(pos) > 1 and "@" in pos[1]:
            packages = (pos[1],)  # `go run MODULE@VERSION` fetches and runs it
        elif name == "gem" and pos[:1] == ["install"]:
            packages = tuple(pos[1:])
        if packages is None:
            return
        self.install(eco, packages, via=f"{name} {pos[0] if pos else ''}".strip())

    def pip(self, args: list[Arg]) -> None:
        vals = [a.value for a in args]
        # index, find-links and proxy options, whatever the subcommand
        # (download, wheel, index, install ...)
        for k, a in enumerate(args):
            opt, eq, val = a.value.partition("=")
            if opt not in _PIP_NET_OPTS:
                if a.value[:2] in ("-i", "-f") and len(a.value) > 2:
                    opt, val, eq = a.value[:2], a.value[2:], "="
                else:
                    continue
            if not eq:
                if k + 1 >= len(args):
                    continue
                target = args[k + 1]
            else:
                target = Arg(val, a.raw, a.dynamic)
            if "://" in target.value or opt == "--proxy":
                self.url(target.value, via=f"pip {opt}")
            elif target.dynamic:
                self.host(None, None, via=f"pip {opt}")
        if "sync" in vals and "install" not in vals:  # `uv pip sync requirements.txt`
            files = _positional(args[vals.index("sync") + 1:])
            reqs = tuple(f"--requirement={a.value}" for a in files) or ("--requirement=",)
            self.install("pypi", reqs, via="pip sync")
            return
        if "install" not in vals:
            return
        rest = args[vals.index("install") + 1:]
        pos = _positional(rest, value_opts={"-r", "--requirement", "-c", "--constraint", "-i",
                                            "--index-url", "--extra-index-url", "-f",
                                            "--find-links", "-t", "--target", "--prefix",
                                            "--root", "-e", "--editable", "--python-version",
                                            "--platform"})
        # `pip install .` installs the project here (its manifest is read); any
        # other path (an archive, a directory elsewhere) goes to the guard too
        pkgs = tuple(a.value for a in pos if a.value not in (".", "./"))
        pkgs += tuple(_handed_options(rest, _PIP_HANDED))
        self.install("pypi", pkgs, via="pip install")

    def install(self, eco: str, packages: tuple[str, ...], *, via: str) -> None:
        check: Any = self.install_check
        # the manifests and -r files an install reads are where it runs
        verdict = check(eco, packages, where=self.cwd) if getattr(check, "reads_files", False) \
            else check(eco, packages)
        if verdict.action in ("deny", "block", "ask", "warn"):
            action = "deny" if verdict.action == "block" else verdict.action
            self.add(action, verdict.rule_id, f"`{via}`: {verdict.reason}")


# -- helpers ------------------------------------------------------------------

def _unversioned(name: str) -> str:
    """``pip3.11``, ``pip-3.12``, ``easy_install-3.11`` -> ``pip`` /
    ``easy_install``: the versioned names every venv has.  (No ``re``: it is
    ~10 ms of every hook call.)"""
    for base, plain in (("pip", "pip"), ("easy_install", "easy_install")):
        rest = name[len(base):].lstrip("-") if name.startswith(base) else ""
        if rest and all(part.isdigit() for part in rest.split(".")):
            return plain
    return name


def _git_exec_file(path: str) -> bool:
    """Is ``path`` where git finds code to run: a `.git/hooks` entry, a
    repository's `.git/config`, or a `.git` directory as a whole?"""
    parts = path.split("/")
    for k, part in enumerate(parts):
        if part == ".git":
            rest = parts[k + 1:]
            return not rest or rest[0] == "hooks" or rest == ["config"]
    return False


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def _sed_in_place(v: str) -> bool:
    return v.startswith(("-i", "--in-place")) or (
        v.startswith("-") and not v.startswith("--") and "i" in v[1:])


def _is_python(name: str) -> bool:
    return name.startswith(("python", "pypy"))


def _has_flag(inv: Invocation, flag: str) -> bool:
    for a in inv.args:
        v = a.value
        if v == "--":
            return False
        if v == flag:
            return True
        if flag.startswith("-") and not flag.startswith("--") and len(flag) == 2 and \
                v.startswith("-") and not v.startswith("--") and flag[1] in v[1:]:
            return True
    return False


def _opt_value(args: Iterable[Arg], names: tuple[str, ...]) -> Arg | None:
    seq = list(args)
    for k, a in enumerate(seq):
        v = a.value
        if v in names and k + 1 < len(seq):
            return seq[k + 1]
        for n in names:
            if n.startswith("--") and v.startswith(n + "="):
                return Arg(v[len(n) + 1:], a.raw, a.dynamic, a.glob)
            if not n.startswith("--") and v.startswith(n) and len(v) > len(n) and len(n) == 2:
                return Arg(v[2:], a.raw, a.dynamic, a.glob)
    return None


def _handed_options(args: Iterable[Arg], names: dict[str, str]) -> list[str]:
    """``--name=value`` for each option in ``names`` (``-r f``, ``-rf``,
    ``--requirement=f``, ``--requirement f``), before any ``--``."""
    out: list[str] = []
    seq = list(args)
    for k, a in enumerate(seq):
        v = a.value
        if v == "--":
            break
        opt, eq, val = v.partition("=")
        if eq and opt in names:
            out.append(f"{names[opt]}={val}")
        elif v in names and k + 1 < len(seq):
            out.append(f"{names[v]}={seq[k + 1].value}")
        elif len(v) > 2 and not v.startswith("--") and v[:2] in names:
            out.append(f"{names[v[:2]]}={v[2:]}")
    return out


def _opt_values(args: Iterable[Arg], names: tuple[str, ...]) -> list[Arg]:
    """Every value of a repeatable option (``--with a --with b``)."""
    seq = list(args)
    out: list[Arg] = []
    for k, a in enumerate(seq):
        if a.value in names and k + 1 < len(seq):
            out.append(seq[k + 1])
        for n in names:
            if a.value.startswith(n + "="):
                out.append(Arg(a.value[len(n) + 1:], a.raw, a.dynamic, a.glob))
    return out


def _uvx(args: list[Arg]) -> tuple[str, ...]:
    """``uvx [--from SPEC] [--with X]... TOOL``: the tool (or its --from
    spec) and every --with package."""
    frm = _opt_value(args, ("--from",))
    pos = _positional(args, value_opts={"--from", "--with", "--python", "-p", "--index-url",
                                        "--extra-index-url", "-i"})
    first = (frm.value,) if frm is not None else tuple(a.value for a in pos[:1])
    return first + tuple(a.value for a in _opt_values(args, ("--with",))) + \
        tuple(_handed_options(args, _PIP_HANDED))


def _positional(args: Iterable[Arg], *, value_opts: set[str] | frozenset[str] = frozenset()
                ) -> list[Arg]:
    out: list[Arg] = []
    seq = list(args)
    i = 0
    only_pos = False
    while i < len(seq):
        a = seq[i]
        v = a.value
        if only_pos:
            out.append(a)
        elif v == "--":
            only_pos = True
        elif v.startswith("-") and v != "-" and not a.value.startswith(DYN):
            if v in value_opts:
                i += 1
        else:
            out.append(a)
        i += 1
    return out


def _git_sub(args: tuple[Arg, ...]) -> tuple[str, tuple[Arg, ...]]:
    i = 0
    while i < len(args):
        v = args[i].value
        if v in ("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"):
            i += 2
            continue
        if v.startswith("-"):
            i += 1
            continue
        return v, args[i + 1:]
    return "", ()


def _split_setting(arg: Arg) -> tuple[str, Arg]:
    key, _, value = arg.value.partition("=")
    return key.strip(), Arg(value, arg.raw, arg.dynamic)


def _remote_spec(value: str) -> str | None:
    """``[user@]host:path`` / ``host::module`` / ``rsync://`` -> the host part."""
    if "://" in value:
        try:
            return urlsplit(value).hostname or ""
        except ValueError:
            return ""
    colon = value.find(":")
    slash = value.find("/")
    if colon > 0 and (slash < 0 or colon < slash) and not value.startswith(("/", ".", "~")):
        return value[:colon]
    return None


def _user_host(value: str) -> str | None:
    host = value.rpartition("@")[2]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host or None


def _ambiguous(text: str) -> bool:
    """White space or a control character (``DYN`` aside)."""
    return any((c <= " " and c != DYN) or c == "\x7f" for c in text)


def _short(text: str, limit: int = 80) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tilde(path: str, p: HookPolicy) -> str:
    if p.home and is_under(path, p.home) and p.home != "/":
        return "~" + path[len(p.home):]
    return path


__all__ = ["Violation", "check_command"]
