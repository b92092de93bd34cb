"""The built-in secure default policy: what a user gets with no policy file.

``DEFAULT`` is what the loader uses (plain data: loading it needs no YAML
parser, which keeps ``stockade hook`` fast).  ``DEFAULT_POLICY_YAML`` is the
same policy, annotated, as printed by ``stockade policy default``; a test
keeps the two equal.
"""

from __future__ import annotations

from typing import Any

DEFAULT_DENY_READ = [
    "~/.ssh",
    "~/.aws",
    "~/.config/gcloud",
    "~/.azure",
    "~/.kube",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.gnupg",
    "~/.git-credentials",
    "~/.config/gh",
    "~/.npmrc",
    "~/.pypirc",
    "~/.password-store",
    "~/.local/share/keyrings",
    "~/.mozilla",
    "~/.config/google-chrome",
    "~/.config/chromium",
    "~/.config/BraveSoftware",
    "~/.config/microsoft-edge",
    "~/snap/firefox",
    "~/snap/chromium",
    "~/Library/Application Support/Google/Chrome",
    "~/Library/Application Support/Firefox",
    "~/Library/Keychains",
]

DEFAULT_ALLOW = [
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "github.com",
    "*.github.com",
    "*.githubusercontent.com",
    "crates.io",
    "static.crates.io",
    "proxy.golang.org",
    "sum.golang.org",
]

DEFAULT: dict[str, Any] = {
    "version": 1,
    "identity": {"user": None, "team": None},
    "filesystem": {"write": ["${WORKSPACE}"], "read": [], "deny_read": DEFAULT_DENY_READ},
    "network": {"allow": DEFAULT_ALLOW, "allow_private": [], "upstream_proxy": None},
    "models": {
        "upstreams": {
            "anthropic": {
                "url": "https://api.anthropic.com",
                "key_env": "ANTHROPIC_API_KEY",
                "protocol": "anthropic",
            },
            "openai": {
                "url": "https://api.openai.com/v1",
                "key_env": "OPENAI_API_KEY",
                "protocol": "chat",
            },
        },
        "routes": [],
    },
    "dlp": {
        "actions": {"secret": "redact", "pii": "redact"},
        "rules": [],
        "dictionaries": [],
        "allowlist": [],
    },
    "tools": {
        "default": "ask",  # tools no rule covers: a person approves (hooks)
        "deny_commands": [],
        "ask_commands": [],
        "protected_branches": ["main", "master", "release/*"],
        "mcp": {},
        "post_tool_use": {"dlp": "warn", "injection": "warn"},
        "dependencies": {
            "nonexistent": "block",
            "typosquat": "block",
            "malicious": "block",
            "vulnerable": "ask",
            "new": "warn",
            "install_scripts": "warn",
            "unverifiable": "ask",
            "new_days": 30,
            "offline": False,
            "cache_ttl_hours": 24,
            "registries": {
                "pypi": "https://pypi.org/pypi",
                "npm": "https://registry.npmjs.org",
                "crates": "https://crates.io/api/v1/crates",
                "go": "https://proxy.golang.org",
            },
        },
    },
    "ledger": {
        "url": None,
        "content": "redacted",
        "durability": "process",
        "checkpoint_every": 1000,
    },
    "sandbox": {"env_passthrough": []},
}

DEFAULT_POLICY_YAML = """\
# stockade built-in default policy (what you get with no policy file).
# Layers, strongest first: managed (/etc/stockade/policy.yaml), user
# (--policy FILE, $STOCKADE_POLICY or ~/.config/stockade/policy.yaml),
# this default, then the project's ./stockade.yaml, which can only tighten.
# Reference: docs/policy.md.
version: 1

identity:                 # recorded on every ledger event (managed/user only)
  user: null              # null: your login name ($USER)
  team: null

filesystem:               # paths: absolute, or starting with ~, ${HOME} or ${WORKSPACE}
  write:                  # where the agent may write (allow-list: weaker layers narrow it)
    - ${WORKSPACE}
  read: []                # extra read-only paths visible in the sandbox
  deny_read:              # never readable, whatever else allows (deny-list: layers add to it)
    - ~/.ssh
    - ~/.aws
    - ~/.config/gcloud
    - ~/.azure
    - ~/.kube
    - ~/.docker/config.json
    - ~/.netrc
    - ~/.gnupg
    - ~/.git-credentials
    - ~/.config/gh
    - ~/.npmrc
    - ~/.pypirc
    - ~/.password-store
    - ~/.local/share/keyrings
    - ~/.mozilla                      # browser profiles: cookies and saved passwords
    - ~/.config/google-chrome
    - ~/.config/chromium
    - ~/.config/BraveSoftware
    - ~/.config/microsoft-edge
    - ~/snap/firefox
    - ~/snap/chromium
    - ~/Library/Application Support/Google/Chrome
    - ~/Library/Application Support/Firefox
    - ~/Library/Keychains

network:
  allow:                  # hosts the sandbox may reach: exact, or "*.suffix" (below suffix only)
    - pypi.org
    - files.pythonhosted.org
    - registry.npmjs.org
    - github.com
    - "*.github.com"
    - "*.githubusercontent.com"
    - crates.io
    - static.crates.io
    - proxy.golang.org
    - sum.golang.org
  allow_private: []       # CIDRs, IPs or hosts on private ranges (none by default)
  upstream_proxy: null    # e.g. http://proxy.corp:3128 (managed/user only)

models:
  upstreams:              # managed/user only
    anthropic:
      url: https://api.anthropic.com
      key_env: ANTHROPIC_API_KEY     # the variable holding the real key, never the key
      protocol: anthropic            # anthropic | chat | responses
    openai:
      url: https://api.openai.com/v1
      key_env: OPENAI_API_KEY
      protocol: chat
  routes: []              # ordered: {upstream, label?, team?, repository?: GLOB, model?: GLOB}

dlp:
  actions:                # per finding label: allow < redact < route:<upstream> < block
    secret: redact
    pii: redact           # any other label: block
  rules: []               # custom regexes: {id, label, regex, keywords?, validator?, confidence?}
  dictionaries: []        # {label, terms: [...], case_sensitive?, id?}
  allowlist: []           # managed/user only: {rule?, value_regex?, path?, reason}

tools:
  default: ask            # for tool calls no rule matches: allow | ask | deny
  deny_commands: []       # argv0 / command globs, e.g. ["nmap", "docker *"]
  ask_commands: []
  protected_branches:
    - main
    - master
    - release/*
  mcp: {}                 # server: [allowed tools] or ["*"]; unlisted servers get tools.default
  post_tool_use:          # what to do with tool output: warn | block
    dlp: warn
    injection: warn
  dependencies:           # packages the agent installs: allow | warn | ask | block
    nonexistent: block
    typosquat: block
    malicious: block
    vulnerable: ask
    new: warn
    install_scripts: warn
    unverifiable: ask
    new_days: 30          # "new" = first published fewer than this many days ago
    offline: false        # true: no registry requests (cached answers, else unverifiable)
    cache_ttl_hours: 24   # how long a registry answer is reused (0-720)
    registries:           # managed/user only: mirrors to ask instead (http(s) URLs)
      pypi: https://pypi.org/pypi
      npm: https://registry.npmjs.org
      crates: https://crates.io/api/v1/crates
      go: https://proxy.golang.org

ledger:                   # managed/user only
  url: null               # null: $STOCKADE_HOME/ledger.db (or the XDG data dir); sqlite:///PATH | postgresql://...
  content: redacted       # prompt content kept: full | redacted | hash | none
  durability: process     # process: survives any process crash | power-loss: fsync every commit
  checkpoint_every: 1000  # events between signed checkpoints

sandbox:
  env_passthrough: []     # credential-looking env vars to pass into the sandbox anyway
"""
