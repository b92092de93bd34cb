"""Each class of invalid policy: the error names the file, line, key and fix."""

from __future__ import annotations

import pytest

from stockade.errors import EXIT_USAGE, PolicyError

# (name, file body, line, key, words the message must contain)
CASES = [
    (
        "unknown-key-suggests",
        "version: 1\nnetwork:\n  alow: [pypi.org]\n",
        3,
        "network.alow",
        ["unknown key", "did you mean 'allow'"],
    ),
    (
        "unknown-section-suggests",
        "version: 1\nnetwrok: {}\n",
        2,
        "netwrok",
        ["unknown key", "did you mean 'network'"],
    ),
    (
        "unknown-key-in-list-item",
        "version: 1\ndlp:\n  rules:\n    - {id: r, label: x, regex: 'a+', keyword: [a]}\n",
        4,
        "dlp.rules[0].keyword",
        ["unknown key", "did you mean 'keywords'"],
    ),
    (
        "type-list-expected",
        "version: 1\nnetwork:\n  allow: pypi.org\n",
        3,
        "network.allow",
        ["expected a list, got a string"],
    ),
    (
        "type-string-expected",
        "version: 1\nfilesystem:\n  write: [~/a, 12]\n",
        3,
        "filesystem.write[1]",
        ["expected a string", "quote it"],
    ),
    (
        "type-int-expected",
        "version: 1\nledger:\n  checkpoint_every: often\n",
        3,
        "ledger.checkpoint_every",
        ["expected a whole number"],
    ),
    (
        "type-bool-expected",
        "version: 1\ndlp:\n  dictionaries:\n    - {label: p, terms: [x], case_sensitive: maybe}\n",
        4,
        "dlp.dictionaries[0].case_sensitive",
        ["expected true or false"],
    ),
    ("section-not-mapping", "version: 1\ntools: [deny]\n", 2, "tools", ["expected a mapping"]),
    (
        "bad-enum-suggests",
        "version: 1\ndlp:\n  actions:\n    secret: redcat\n",
        4,
        "dlp.actions.secret",
        ["'redcat' is not one of", "did you mean 'redact'"],
    ),
    (
        "yaml-boolean-word",
        "version: 1\ntools:\n  default: no\n",
        3,
        "tools.default",
        ["a boolean", "quote"],
    ),
    (
        "bad-regex",
        "version: 1\ndlp:\n  rules:\n    - id: r\n      label: regulated\n      regex: 'ACME-[0-9{8}'\n",
        6,
        "dlp.rules[0].regex",
        ["regex does not compile", "unterminated character set"],
    ),
    (
        "regex-matches-empty",
        "version: 1\ndlp:\n  rules:\n    - {id: r, label: l, regex: 'x*'}\n",
        4,
        "dlp.rules[0].regex",
        ["matches the empty string"],
    ),
    (
        "star-domain",
        "version: 1\nnetwork:\n  allow:\n    - pypi.org\n    - github.com\n    - crates.io\n    - '*'\n",
        7,
        "network.allow[3]",
        ["'*' would allow every domain", "list the domains the agent needs"],
    ),
    (
        "bare-tld",
        "version: 1\nnetwork:\n  allow: [com]\n",
        3,
        "network.allow[0]",
        ["bare top-level domain"],
    ),
    (
        "star-dot-tld",
        "version: 1\nnetwork:\n  allow:\n  - '*.com'\n",
        4,
        "network.allow[0]",
        ["every domain under .com"],
    ),
    (
        "registry-suffix",
        "version: 1\nnetwork:\n  allow: ['*.co.uk']\n",
        3,
        "network.allow[0]",
        ["every domain registered under .co.uk"],
    ),
    (
        "multi-tenant-wildcard",
        "version: 1\nnetwork:\n  allow: ['*.ngrok.io']\n",
        3,
        "network.allow[0]",
        ["anyone can publish", "exact hosts"],
    ),
    (
        "scheme-in-domain",
        "version: 1\nnetwork:\n  allow: ['https://api.example.com/v1']\n",
        3,
        "network.allow[0]",
        ["has a scheme", "write the domain only: api.example.com"],
    ),
    (
        "path-in-domain",
        "version: 1\nnetwork:\n  allow: [example.com/api]\n",
        3,
        "network.allow[0]",
        ["has a path", "write the domain only: example.com"],
    ),
    (
        "wildcard-mid-label",
        "version: 1\nnetwork:\n  allow: ['api.*.example.com']\n",
        3,
        "network.allow[0]",
        ["wildcard may only be the whole first label"],
    ),
    (
        "bad-port",
        "version: 1\nnetwork:\n  allow: ['example.com:99999']\n",
        3,
        "network.allow[0]",
        ["bad port"],
    ),
    (
        "cidr-host-bits",
        "version: 1\nnetwork:\n  allow_private: [10.0.0.1/8]\n",
        3,
        "network.allow_private[0]",
        ["host bits set", "10.0.0.0/8"],
    ),
    (
        "bad-url-scheme",
        "version: 1\nmodels:\n  upstreams:\n    local: {url: 'ftp://host/v1'}\n",
        4,
        "models.upstreams.local.url",
        ["URL scheme must be"],
    ),
    (
        "url-with-credentials",
        "version: 1\nnetwork:\n  upstream_proxy: 'http://u:pw@proxy:3128'\n",
        3,
        "network.upstream_proxy",
        ["URL must not contain a user or password"],
    ),
    (
        "url-bad-port",
        "version: 1\nmodels:\n  upstreams:\n    local: {url: 'http://host:port/v1'}\n",
        4,
        "models.upstreams.local.url",
        ["port is not a number"],
    ),
    (
        "upstream-without-url",
        "version: 1\nmodels:\n  upstreams:\n    local: {key_env: X}\n",
        4,
        "models.upstreams.local",
        ["needs `url`"],
    ),
    (
        "ledger-url",
        "version: 1\nledger:\n  url: /var/lib/ledger.db\n",
        3,
        "ledger.url",
        ["sqlite:///ABSOLUTE/PATH"],
    ),
    (
        "relative-path",
        "version: 1\nfilesystem:\n  deny_read: [secrets]\n",
        3,
        "filesystem.deny_read[0]",
        ["relative path", "${WORKSPACE}"],
    ),
    (
        "unknown-variable",
        "version: 1\nfilesystem:\n  write: [$TMPDIR/x]\n",
        3,
        "filesystem.write[0]",
        ["unknown variable"],
    ),
    (
        "glob-path",
        "version: 1\nfilesystem:\n  deny_read: ['~/.ssh/*']\n",
        3,
        "filesystem.deny_read[0]",
        ["globs are not supported"],
    ),
    (
        "root-writable",
        "version: 1\nfilesystem:\n  write: [/]\n",
        3,
        "filesystem.write[0]",
        ["write anywhere"],
    ),
    (
        "allowlist-without-scope",
        "version: 1\ndlp:\n  allowlist:\n    - {reason: noisy}\n",
        4,
        "dlp.allowlist[0]",
        ["would accept every finding"],
    ),
    (
        "duplicate-rule-id",
        "version: 1\ndlp:\n  rules:\n    - {id: r, label: l, regex: a}\n    - {id: r, label: l, regex: b}\n",
        5,
        "dlp.rules[1].id",
        ["already used on line 4"],
    ),
    (
        "bad-env-name",
        "version: 1\nsandbox:\n  env_passthrough: [MY-TOKEN]\n",
        3,
        "sandbox.env_passthrough[0]",
        ["not an environment variable name"],
    ),
    (
        "duplicate-key",
        "version: 1\nnetwork:\n  allow: [pypi.org]\n  allow: [evil.example]\n",
        4,
        "network.allow",
        ["duplicate key (first set on line 3)"],
    ),
    (
        "invalid-yaml",
        "version: 1\nnetwork:\n  allow: [pypi.org\ntools: {}\n",
        4,
        None,
        ["invalid YAML"],
    ),
    (
        "bad-indent",
        "version: 1\nnetwork:\n  allow:\n    - a.com\n   - b.com\n",
        5,
        None,
        ["invalid YAML"],
    ),
    ("missing-version", "network:\n  allow: [pypi.org]\n", 1, "version", ["missing `version: 1`"]),
    ("wrong-version", "version: 2\n", 1, "version", ["unsupported version 2"]),
    ("string-version", "version: '1'\n", 1, "version", ["unsupported version '1'"]),
    ("empty-file", "", 1, None, ["the policy file is empty"]),
    ("comments-only", "# nothing yet\n", 1, None, ["the policy file is empty"]),
    ("root-not-mapping", "- version: 1\n", 1, None, ["top level must be a mapping"]),
    (
        "alias",
        "version: 1\ntools:\n  deny_commands: &d [nmap]\n  ask_commands: *d\n",
        4,
        "tools.ask_commands",
        ["aliases"],
    ),
    ("merge-key", "version: 1\ntools:\n  <<: {default: deny}\n", 3, "tools", ["merge keys"]),
    (
        "python-tag",
        "version: 1\ntools: !!python/object/apply:os.system [id]\n",
        2,
        "tools",
        ["unsupported YAML tag"],
    ),
    (
        "route-without-upstream",
        "version: 1\nmodels:\n  routes:\n    - {label: pii}\n",
        4,
        "models.routes[0]",
        ["needs `upstream`"],
    ),
]


@pytest.mark.parametrize("body,line,key,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_policy_is_reported_precisely(layers, body, line, key, words):
    path = layers.write(layers.root / "bad.yaml", body)
    with pytest.raises(PolicyError) as info:
        from stockade.config import load_policy_file

        load_policy_file(path, workspace=layers.workspace, env=layers.env)
    err = info.value
    shown = err.diagnostic()
    assert err.exit_code == EXIT_USAGE
    assert err.file == "./bad.yaml"
    assert err.line == line, shown
    assert err.key == key, shown
    assert f"./bad.yaml:{line}: " in shown
    for w in words:
        assert w in shown, shown
    assert err.hint, "every policy error says how to fix it"


def test_invalid_user_file_stops_the_load(layers):
    layers.write_user("version: 1\nnetwork:\n  allow: ['*']\n")
    with pytest.raises(PolicyError) as info:
        layers.load()
    assert "./home/.config/stockade/policy.yaml:3: network.allow[0]" in str(info.value)


def test_named_policy_file_must_exist(layers):
    from stockade.config import load_policy

    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(
            policy_file=layers.root / "nope.yaml",
            workspace=layers.workspace,
            managed_file=layers.managed,
            env=layers.env,
        )
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(
            workspace=layers.workspace,
            env={**layers.env, "STOCKADE_MANAGED_POLICY": str(layers.root / "nope.yaml")},
        )


def test_unreadable_and_non_utf8_files(layers):
    bad = layers.root / "latin1.yaml"
    bad.write_bytes(b"version: 1\nidentity: {team: caf\xe9}\n")
    from stockade.config import load_policy_file

    with pytest.raises(PolicyError, match="not UTF-8") as info:
        load_policy_file(bad, env=layers.env)
    assert info.value.line == 2


def test_secret_values_in_bad_urls_are_not_echoed(layers):
    fake = "pw" + "x" * 12
    path = layers.write(
        layers.root / "p.yaml",
        f"version: 1\nnetwork:\n  upstream_proxy: 'http://u:{fake}@proxy:3128'\n",
    )
    from stockade.config import load_policy_file

    with pytest.raises(PolicyError) as info:
        load_policy_file(path, env=layers.env)
    assert fake not in info.value.diagnostic()


def test_credentials_in_a_domain_entry_are_not_echoed(layers):
    fake = "tok" + "Q" * 14
    path = layers.write(
        layers.root / "p.yaml",
        f"version: 1\nnetwork:\n  allow: ['https://bot:{fake}@api.example.com']\n",
    )
    from stockade.config import load_policy_file

    with pytest.raises(PolicyError) as info:
        load_policy_file(path, env=layers.env)
    text = info.value.diagnostic()
    assert fake not in text
    assert "write the domain only: api.example.com" in text
