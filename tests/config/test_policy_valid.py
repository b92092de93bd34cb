"""Valid policy files load into the values a user wrote, normalised."""

from __future__ import annotations

import yaml

from stockade.config import load_policy
from stockade.config.defaults import DEFAULT, DEFAULT_POLICY_YAML
from stockade.dlp.spec import AllowEntry, CustomRule, Dictionary


def test_no_files_gives_the_secure_default(layers):
    p = layers.load()
    assert p.identity.user == "tester"
    assert p.filesystem.write == (str(layers.workspace),)
    assert str(layers.home / ".ssh") in p.filesystem.deny_read
    assert str(layers.home / ".docker/config.json") in p.filesystem.deny_read
    assert "pypi.org" in p.network.allow
    assert p.dlp_action("secret") == "redact"
    assert p.dlp_action("pii") == "redact"
    assert p.dlp_action("regulated") == "block"
    assert set(p.models.upstreams) == {"anthropic", "openai"}
    assert p.models.upstreams["anthropic"].protocol == "anthropic"
    assert p.ledger.content == "redacted" and p.ledger.durability == "process"
    assert p.tools.dependencies.new_days == 30
    assert all(v.startswith("default") for v in p.sources.values())
    assert p.digest.startswith("sha256:") and len(p.digest) == 71


def test_printed_default_is_the_default_that_loads(layers):
    assert yaml.safe_load(DEFAULT_POLICY_YAML) == DEFAULT
    layer = layers.check(DEFAULT_POLICY_YAML)
    assert layer.settings["network.allow"].value[4] == "*.github.com"


def test_every_section(layers):
    layers.write_user(
        """
        version: 1
        identity: {user: alice, team: payments}
        filesystem:
          write: ["${WORKSPACE}", ~/scratch]
          read: ["${HOME}/shared/../docs"]
          deny_read: [~/.vault-token]
        network:
          allow: [PyPI.org., "*.Example.COM", "internal.example.net:8443", "203.0.113.7", "[2001:db8::1]:443"]
          allow_private: [10.0.0.0/8, 192.168.1.20, git.corp.example]
          upstream_proxy: http://proxy.corp:3128/
        models:
          upstreams:
            local:
              url: http://127.0.0.1:8000/v1/
              key_env: null
              models: {"claude-*": qwen2.5-coder-32b-instruct}
            openai: null
          routes:
            - {upstream: local, label: regulated}
            - {upstream: anthropic, team: payments, repository: "acme/*"}
        dlp:
          actions: {secret: block, regulated: "route:local"}
          rules:
            - {id: acme-customer-id, label: regulated, regex: 'ACME-[0-9]{8}', keywords: [ACME-], validator: luhn, confidence: 0.8}
          dictionaries:
            - {label: proprietary, terms: [Project Falcon], case_sensitive: true, id: code-names}
          allowlist:
            - {rule: "aws-*", path: "tests/fixtures/*", reason: fake keys in fixtures}
        tools:
          default: ask
          deny_commands: [nmap, "docker *"]
          ask_commands: ["git push *"]
          protected_branches: [prod]
          mcp: {github: [get_issue, list_prs], fs: ["*"]}
          post_tool_use: {dlp: block}
          dependencies: {vulnerable: block, new_days: 60}
        ledger:
          url: sqlite:///${HOME}/audit/ledger.db
          content: hash
          durability: power-loss
          checkpoint_every: 500
        sandbox:
          env_passthrough: [GITHUB_TOKEN]
        """
    )
    p = layers.load()
    h = str(layers.home)
    assert (p.identity.user, p.identity.team) == ("alice", "payments")
    assert p.filesystem.write == (str(layers.workspace), f"{h}/scratch")
    assert p.filesystem.read == (f"{h}/docs",)
    assert f"{h}/.vault-token" in p.filesystem.deny_read and f"{h}/.ssh" in p.filesystem.deny_read
    assert p.network.allow == (
        "pypi.org",
        "*.example.com",
        "internal.example.net:8443",
        "203.0.113.7",
        "[2001:db8::1]:443",
    )
    assert p.network.allow_private == ("10.0.0.0/8", "192.168.1.20", "git.corp.example")
    assert p.network.upstream_proxy == "http://proxy.corp:3128"
    assert set(p.models.upstreams) == {"anthropic", "local"}
    local = p.models.upstreams["local"]
    assert (local.url, local.key_env, local.protocol) == ("http://127.0.0.1:8000/v1", None, "chat")
    assert local.map_model("claude-sonnet-4") == "qwen2.5-coder-32b-instruct"
    assert local.map_model("gpt-4o") == "gpt-4o"
    assert p.models.select_route(labels={"regulated", "secret"}).upstream == "local"
    assert p.models.select_route(team="payments", repository="acme/web").upstream == "anthropic"
    assert p.models.select_route(team="payments", repository="other/web") is None
    assert p.dlp_action("secret") == "block"
    assert p.dlp_action("regulated") == "route:local"
    assert p.dlp.rules == (
        CustomRule(
            id="acme-customer-id",
            label="regulated",
            regex="ACME-[0-9]{8}",
            keywords=("ACME-",),
            validator="luhn",
            confidence=0.8,
        ),
    )
    assert p.dlp.dictionaries == (
        Dictionary(
            label="proprietary", terms=("Project Falcon",), id="code-names", case_sensitive=True
        ),
    )
    assert p.dlp.allowlist == (
        AllowEntry(reason="fake keys in fixtures", rule="aws-*", path="tests/fixtures/*"),
    )
    assert p.tools.default == "ask"
    assert p.tools.deny_commands == ("nmap", "docker *")
    assert p.tools.protected_branches == ("main", "master", "release/*", "prod")
    assert p.tools.mcp_action("github", "get_issue") == "allow"
    assert p.tools.mcp_action("github", "delete_repo") == "deny"
    assert p.tools.mcp_action("fs", "anything") == "allow"
    assert p.tools.mcp_action("slack", "post") == "ask"
    assert (p.tools.post_tool_use.dlp, p.tools.post_tool_use.injection) == ("block", "warn")
    assert (p.tools.dependencies.vulnerable, p.tools.dependencies.new_days) == ("block", 60)
    assert p.tools.dependencies.malicious == "block"
    assert p.ledger.url == f"sqlite://{h}/audit/ledger.db"
    assert (p.ledger.content, p.ledger.durability, p.ledger.checkpoint_every) == (
        "hash",
        "power-loss",
        500,
    )
    assert p.sandbox.env_passthrough == ("GITHUB_TOKEN",)
    assert p.sources["network.allow[1]"] == "user ./home/.config/stockade/policy.yaml:8"


def test_empty_sections_and_repeated_entries(layers):
    layer = layers.check(
        """
        version: 1
        network:
        dlp:
        tools:
          deny_commands: [nmap, nmap, curl]
        """
    )
    s = layer.settings["tools.deny_commands"]
    assert s.value == ("nmap", "curl")
    assert s.item_lines == (5, 5)
    assert "network.allow" not in layer.settings


def test_idna_domains_compare_equal(layers):
    layers.write_user("version: 1\nnetwork:\n  allow: [Bücher.Example., '*.münchen.example']\n")
    p = layers.load()
    assert p.network.allow == ("xn--bcher-kva.example", "*.xn--mnchen-3ya.example")
    assert p.network_allows("bücher.example")
    assert p.network_allows("XN--BCHER-KVA.EXAMPLE.")
    assert p.network_allows("api.münchen.example", 443)


def test_digest_ignores_provenance_but_not_values(layers):
    base = layers.load().digest
    layers.write_user("version: 1\nnetwork:\n  allow: [pypi.org]\n")
    narrowed = layers.load()
    assert narrowed.digest != base
    layers.user.unlink()
    layers.write_project(
        "version: 1\n# a comment moves the lines\n\nnetwork:\n  allow: [pypi.org]\n"
    )
    from_project = layers.load()
    assert from_project.digest == narrowed.digest
    assert from_project.sources["network.allow"] != narrowed.sources["network.allow"]


def test_env_selects_user_policy_and_xdg(layers, tmp_path):
    other = layers.write(tmp_path / "elsewhere.yaml", "version: 1\ntools: {default: deny}\n")
    env = {**layers.env, "STOCKADE_POLICY": str(other)}
    p = load_policy(workspace=layers.workspace, managed_file=layers.managed, env=env)
    assert p.tools.default == "deny"
    xdg = tmp_path / "xdg"
    layers.write(xdg / "stockade" / "policy.yaml", "version: 1\ntools: {default: ask}\n")
    env = {**layers.env, "XDG_CONFIG_HOME": str(xdg)}
    p = load_policy(workspace=layers.workspace, managed_file=layers.managed, env=env)
    assert p.tools.default == "ask"
    p = load_policy(
        policy_file=other, workspace=layers.workspace, managed_file=layers.managed, env=env
    )
    assert p.tools.default == "deny"


def test_managed_from_env_variable(layers, tmp_path):
    m = layers.write(tmp_path / "m.yaml", "version: 1\nidentity: {team: sec}\n")
    p = load_policy(
        workspace=layers.workspace, env={**layers.env, "STOCKADE_MANAGED_POLICY": str(m)}
    )
    assert p.identity.team == "sec"
    assert p.sources["identity.team"] == "managed ./m.yaml:2"
    assert [(x.kind, x.file, x.path) for x in p.layers] == [
        ("managed", "./m.yaml", str(m)),
        ("default", None, None),
    ]
