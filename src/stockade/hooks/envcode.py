"""Settings that make a program run other code: environment variables
(``GIT_SSH_COMMAND=... git fetch``, ``LD_PRELOAD=...``) and git
configuration (``git -c core.sshCommand=...``, ``core.hooksPath``).

Pure tables and classification; :mod:`stockade.hooks.shellrules` acts on
the answer.  A setting is one of:

* ``command``: its value is a shell command the program runs (the value is
  analysed as one, so ``EDITOR=vim`` passes and ``GIT_PAGER='cat ~/.ssh/x'``
  does not);
* ``code``: its value names code or a library loaded into the program
  (``LD_PRELOAD``, ``BASH_ENV``, ``NODE_OPTIONS=--require``): stockade cannot
  read what runs, and the command line hides that anything does, so a person
  must approve it.
"""

from __future__ import annotations

# Environment variables whose value is run as a command (by git, man, less,
# sudo, ssh ...).  LESSOPEN's leading `|` is stripped before analysis.
COMMAND_VARS = frozenset({
    "GIT_SSH_COMMAND", "GIT_SSH", "GIT_PAGER", "PAGER", "MANPAGER", "GIT_EDITOR", "EDITOR",
    "VISUAL", "SUDO_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_EXTERNAL_DIFF", "GIT_ASKPASS",
    "SSH_ASKPASS", "SUDO_ASKPASS", "GIT_PROXY_COMMAND", "LESSOPEN", "LESSCLOSE",
    "PROMPT_COMMAND", "SYSTEMD_PAGER", "BROWSER", "RSYNC_RSH", "RSYNC_CONNECT_PROG",
    "CVS_RSH", "FCEDIT"})

# Environment variables that load code (a file, a library, a module) into the
# program.  Empty and /dev/null values load nothing.
CODE_VARS = frozenset({
    "LD_PRELOAD", "LD_AUDIT", "BASH_ENV", "ENV", "PYTHONSTARTUP", "PERL5OPT", "PERL5DB",
    "RUBYOPT", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM", "GIT_TEMPLATE_DIR", "GIT_EXEC_PATH", "DYLD_INSERT_LIBRARIES"})
_JAVA_VARS = frozenset({"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS"})

# NODE_OPTIONS is mostly memory and warning flags; only these load code.
_NODE_CODE_OPTS = ("-r", "--require", "--import", "--loader", "--experimental-loader",
                   "--experimental-policy", "--env-file", "--inspect")
_JAVA_CODE_OPTS = ("-javaagent", "-agentpath", "-agentlib", "-Xbootclasspath")

# git configuration keys (lower case; `*` is one subsection) whose value is a
# command git runs
GIT_COMMAND_KEYS = (
    "core.sshcommand", "core.pager", "core.editor", "core.askpass", "core.gitproxy",
    "core.fsmonitor", "sequence.editor", "diff.external", "diff.*.textconv", "diff.*.command",
    "merge.*.driver", "filter.*.clean", "filter.*.smudge", "filter.*.process",
    "gpg.program", "gpg.*.program", "pager.*", "alias.*", "credential.helper",
    "credential.*.helper", "uploadpack.packobjectshook", "remote.*.uploadpack",
    "remote.*.receivepack", "interactive.difffilter", "web.browser", "browser.*.cmd",
    "man.*.cmd", "mergetool.*.cmd", "difftool.*.cmd", "sendemail.sendmailcmd",
    "ssh.variant")
# ... and keys that point git at code or at more configuration
GIT_CODE_KEYS = ("core.hookspath", "init.templatedir", "include.path", "includeif.*.path")


def env_setting(var: str, value: str) -> str | None:
    """``command``, ``code`` or None (nothing runs) for ``VAR=value``."""
    if var in COMMAND_VARS:
        return "command" if value.strip() else None
    if var in CODE_VARS or var.startswith("GIT_CONFIG_KEY_"):
        return None if value.strip() in ("", "/dev/null") else "code"
    if var in _JAVA_VARS:
        return "code" if any(w.startswith(_JAVA_CODE_OPTS) for w in value.split()) else None
    if var == "NODE_OPTIONS":
        words = value.split()
        return "code" if any(w.split("=", 1)[0] in _NODE_CODE_OPTS or w.startswith("-r")
                             for w in words) else None
    return None


def is_setting_var(var: str) -> bool:
    """Could ``var`` make a program run code (whatever its value)?"""
    return var in COMMAND_VARS or var in CODE_VARS or var in _JAVA_VARS or \
        var == "NODE_OPTIONS" or var.startswith("GIT_CONFIG_KEY_")


def git_setting(key: str, value: str) -> str | None:
    """``command``, ``code`` or None for git configuration ``key=value``.
    Keys are case-insensitive except for their subsection."""
    from fnmatch import fnmatchcase

    low = key.lower()
    first, _, rest = low.partition(".")
    shape = low if "." not in rest else f"{first}.*.{rest.rpartition('.')[2]}"
    if any(fnmatchcase(low, k) or fnmatchcase(shape, k) for k in GIT_CODE_KEYS):
        return None if value.strip() in ("", "/dev/null") else "code"
    if not any(fnmatchcase(low, k) or fnmatchcase(shape, k) for k in GIT_COMMAND_KEYS):
        return None
    v = value.strip()
    if low.startswith("alias."):
        return "command" if v.startswith("!") else None  # other aliases are git commands
    if low.startswith("credential.") or low == "core.fsmonitor":
        # a helper name runs `git credential-NAME`; true/false are switches
        if v.startswith(("!", "/")) or " " in v:
            return "command"
        return None
    if low == "ssh.variant":
        return None
    return "command" if v else None


def command_text(var_or_key: str, value: str) -> str:
    """The shell command a ``command`` setting runs."""
    v = value.strip()
    if var_or_key.upper() in ("LESSOPEN", "LESSCLOSE"):
        v = v.lstrip("|-").strip().replace("%s", "FILE")
    return v.removeprefix("!")  # git aliases and credential helpers


__all__ = ["CODE_VARS", "COMMAND_VARS", "command_text", "env_setting", "git_setting",
           "is_setting_var"]
