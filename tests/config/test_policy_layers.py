"""Layering: a weaker layer can only tighten; the error says which layer bounds it."""

from __future__ import annotations

import pytest

from stockade.errors import PolicyError

PROJECT = "./home/proj/stockade.yaml"
USER = "./home/.config/stockade/policy.yaml"
MANAGED = "./etc/stockade/policy.yaml"


def _fails(layers, *, file: str, line: int, key: str, words: list[str]) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        layers.load()
    err = info.value
    text = err.diagnostic()
    assert (err.file, err.line, err.key) == (file, line, key), text
    for w in words:
        assert w in text, text
    return err


# -- the project layer (agent-writable) ---------------------------------------------
def test_project_cannot_add_a_domain(layers):
    layers.write_user("version: 1\nnetwork:\n  allow:\n    - pypi.org\n    - '*.corp.example'\n")
    layers.write_project(
        "version: 1\nnetwork:\n  allow:\n    - pypi.org\n    - api.corp.example\n    - evil.example\n"
    )
    _fails(
        layers,
        file=PROJECT,
        line=6,
        key="network.allow[2]",
        words=[
            "'evil.example' is not allowed by the user policy (./home/.config/stockade/policy.yaml:3)",
            "a project policy can only narrow network.allow",
        ],
    )


def test_project_can_narrow_the_domains(layers):
    layers.write_user("version: 1\nnetwork:\n  allow: [pypi.org, '*.corp.example']\n")
    layers.write_project(
        "version: 1\nnetwork:\n  allow: [api.corp.example, '*.git.corp.example']\n"
    )
    p = layers.load()
    assert p.network.allow == ("api.corp.example", "*.git.corp.example")
    assert not p.network_allows("pypi.org")
    assert p.sources["network.allow[1]"] == f"project {PROJECT}:3"


def test_project_wildcard_is_not_covered_by_the_same_exact_host(layers):
    layers.write_project("version: 1\nnetwork:\n  allow: ['*.pypi.org']\n")
    _fails(
        layers,
        file=PROJECT,
        line=3,
        key="network.allow[0]",
        words=["not allowed by the built-in default policy"],
    )


def test_project_cannot_add_a_port_less_host_bounded_by_a_port(layers):
    layers.write_user("version: 1\nnetwork:\n  allow: ['git.example.com:443']\n")
    layers.write_project("version: 1\nnetwork:\n  allow: [git.example.com]\n")
    _fails(
        layers,
        file=PROJECT,
        line=3,
        key="network.allow[0]",
        words=["not allowed by the user policy"],
    )


def test_project_cannot_add_a_write_path(layers):
    layers.write_project("version: 1\nfilesystem:\n  write: ['${WORKSPACE}/build', ~/.config]\n")
    _fails(
        layers,
        file=PROJECT,
        line=3,
        key="filesystem.write[1]",
        words=[
            "not allowed by the built-in default policy",
            "can only narrow filesystem.write",
        ],
    )


def test_project_cannot_escape_the_workspace_with_dotdot(layers):
    layers.write_project("version: 1\nfilesystem:\n  write: ['${WORKSPACE}/../proj-other']\n")
    _fails(layers, file=PROJECT, line=3, key="filesystem.write[0]", words=["not allowed"])


def test_project_cannot_escape_the_workspace_with_a_symlink(layers):
    (layers.workspace / "out").symlink_to(layers.home)
    layers.write_project("version: 1\nfilesystem:\n  write: ['${WORKSPACE}/out']\n")
    _fails(layers, file=PROJECT, line=3, key="filesystem.write[0]", words=["symlink", "outside the workspace"])


def test_project_may_narrow_writes_to_a_subdirectory(layers):
    layers.write_project("version: 1\nfilesystem:\n  write: ['${WORKSPACE}/src']\n")
    p = layers.load()
    assert p.is_write_allowed(str(layers.workspace / "src" / "a.py"))
    assert not p.is_write_allowed(str(layers.workspace / "setup.py"))


def test_project_cannot_lower_a_dlp_action(layers):
    layers.write_project("version: 1\ndlp:\n  actions:\n    secret: allow\n")
    _fails(
        layers,
        file=PROJECT,
        line=4,
        key="dlp.actions.secret",
        words=[
            "'allow' would lower 'redact' set by the built-in default policy",
            "allow < redact < route:<upstream> < block",
        ],
    )


def test_project_cannot_lower_an_unnamed_label_below_block(layers):
    layers.write_project("version: 1\ndlp:\n  actions:\n    regulated: redact\n")
    _fails(layers, file=PROJECT, line=4, key="dlp.actions.regulated", words=["would lower 'block'"])


def test_project_cannot_reroute_to_another_upstream(layers):
    layers.write_user(
        "version: 1\nmodels:\n  upstreams:\n    local: {url: 'http://127.0.0.1:8000/v1'}\n"
        "dlp:\n  actions:\n    regulated: 'route:local'\n"
    )
    layers.write_project("version: 1\ndlp:\n  actions:\n    regulated: 'route:openai'\n")
    _fails(
        layers,
        file=PROJECT,
        line=4,
        key="dlp.actions.regulated",
        words=[
            "would re-route 'route:local' set by the user policy (./home/.config/stockade/policy.yaml:7)",
        ],
    )


def test_project_can_raise_levels(layers):
    layers.write_project(
        "version: 1\ndlp:\n  actions: {secret: block, pii: 'route:anthropic'}\n"
        "tools:\n  default: deny\n  post_tool_use: {injection: block}\n"
        "  dependencies: {new: block, new_days: 90}\n"
    )
    p = layers.load()
    assert (p.dlp_action("secret"), p.dlp_action("pii")) == ("block", "route:anthropic")
    assert (p.tools.default, p.tools.post_tool_use.injection) == ("deny", "block")
    assert (p.tools.dependencies.new, p.tools.dependencies.new_days) == ("block", 90)


@pytest.mark.parametrize(
    "body,key",
    [
        (
            "tools:\n  default: allow\n  dependencies: {new_days: 7}\n",
            "tools.default",  # the built-in default is ask: allow would loosen it
        ),
        ("tools:\n  dependencies: {malicious: warn}\n", "tools.dependencies.malicious"),
        ("tools:\n  post_tool_use: {dlp: warn}\n", None),  # same level: fine
    ],
)
def test_project_level_rules_for_tools(layers, body, key):
    layers.write_user("version: 1\ntools:\n  post_tool_use: {dlp: warn}\n")
    layers.write_project("version: 1\n" + body)
    if key is None:
        assert layers.load().tools.post_tool_use.dlp == "warn"
    else:
        with pytest.raises(PolicyError) as info:
            layers.load()
        assert info.value.key == key


@pytest.mark.parametrize(
    "body,line,key",
    [
        ("ledger:\n  content: full\n", 3, "ledger.content"),
        ("ledger:\n  url: null\n", 3, "ledger.url"),
        (
            "models:\n  upstreams:\n    mine: {url: 'https://llm.evil.example/v1'}\n",
            4,
            "models.upstreams.mine",
        ),
        ("models:\n  upstreams:\n    openai: null\n", 4, "models.upstreams.openai"),
        ("dlp:\n  allowlist:\n    - {rule: '*', reason: x}\n", 3, "dlp.allowlist"),
        ("identity:\n  user: root\n", 3, "identity.user"),
        (
            "network:\n  upstream_proxy: 'http://proxy.evil.example:3128'\n",
            3,
            "network.upstream_proxy",
        ),
    ],
)
def test_project_cannot_set_locked_keys(layers, body, line, key):
    layers.write_project("version: 1\n" + body)
    _fails(
        layers,
        file=PROJECT,
        line=line,
        key=key,
        words=["only the managed or user policy may set this"],
    )


def test_project_cannot_pass_credentials_or_read_more(layers):
    layers.write_project("version: 1\nsandbox:\n  env_passthrough: [AWS_SECRET_ACCESS_KEY]\n")
    _fails(
        layers, file=PROJECT, line=3, key="sandbox.env_passthrough[0]", words=["can only narrow"]
    )
    layers.write_project("version: 1\nfilesystem:\n  read: [~/.ssh]\n")
    _fails(layers, file=PROJECT, line=3, key="filesystem.read[0]", words=["can only narrow"])
    layers.write_project("version: 1\nnetwork:\n  allow_private: [10.0.0.0/8]\n")
    _fails(layers, file=PROJECT, line=3, key="network.allow_private[0]", words=["can only narrow"])


def test_project_mcp_lists_narrow_only(layers):
    layers.write_user("version: 1\ntools:\n  mcp: {github: [get_issue, list_prs]}\n")
    layers.write_project("version: 1\ntools:\n  mcp: {github: [get_issue, delete_repo]}\n")
    _fails(
        layers,
        file=PROJECT,
        line=3,
        key="tools.mcp.github[1]",
        words=["'delete_repo' is not allowed"],
    )
    # where the user policy lets unlisted servers run (tools.default: allow),
    # a project listing one narrows it
    layers.write_user("version: 1\ntools:\n  default: allow\n  mcp: {github: [get_issue, list_prs]}\n")
    layers.write_project("version: 1\ntools:\n  mcp: {github: [get_issue], slack: [read]}\n")
    p = layers.load()
    assert p.tools.mcp_action("slack", "post") == "deny"
    # ... but under default ask, listing a new server would allow its tools
    layers.write_user("version: 1\ntools:\n  default: ask\n")
    layers.write_project("version: 1\ntools:\n  mcp: {slack: [read]}\n")
    _fails(layers, file=PROJECT, line=3, key="tools.mcp.slack", words=["tools.default='ask'"])


def test_project_routes_come_last_and_need_a_defined_upstream(layers):
    layers.write_managed(
        "version: 1\nmodels:\n  upstreams:\n    local: {url: 'http://10.0.0.5:8000/v1'}\n"
        "  routes:\n    - {upstream: local, label: regulated}\n"
    )
    layers.write_user("version: 1\nmodels:\n  routes:\n    - {upstream: anthropic, team: core}\n")
    layers.write_project("version: 1\nmodels:\n  routes:\n    - {upstream: local}\n")
    p = layers.load()
    assert [r.upstream for r in p.models.routes] == ["local", "anthropic", "local"]
    assert p.sources["models.routes[2]"] == f"project {PROJECT}:4"
    assert p.sources["models.routes[0]"] == f"managed {MANAGED}:6"
    layers.write_project("version: 1\nmodels:\n  routes:\n    - {upstream: mystery}\n")
    _fails(
        layers,
        file=PROJECT,
        line=4,
        key="models.routes[0]",
        words=["unknown upstream 'mystery'", "anthropic, local, openai"],
    )


def test_project_deny_lists_add_up(layers):
    layers.write_managed(
        "version: 1\nfilesystem:\n  deny_read: [/srv/secrets]\ntools:\n  deny_commands: [nmap]\n"
    )
    layers.write_user(
        "version: 1\nfilesystem:\n  deny_read: [~/.vault-token]\ntools:\n  deny_commands: [nc]\n"
    )
    layers.write_project(
        "version: 1\nfilesystem:\n  deny_read: ['${WORKSPACE}/.env']\ntools:\n  deny_commands: [nmap, curl]\n"
        "dlp:\n  rules:\n    - {id: proj-ticket, label: internal, regex: 'TCK-[0-9]+'}\n"
        "  dictionaries:\n    - {label: proprietary, terms: [Falcon]}\n"
    )
    p = layers.load()
    deny = p.filesystem.deny_read
    assert str(layers.home / ".ssh") in deny  # the default's stay
    assert {
        "/srv/secrets",
        str(layers.home / ".vault-token"),
        str(layers.workspace / ".env"),
    } <= set(deny)
    assert p.tools.deny_commands == ("nmap", "nc", "curl")
    assert [r.id for r in p.dlp.rules] == ["proj-ticket"]
    assert p.dlp_action("internal") == "block"
    assert p.is_read_denied(str(layers.workspace / ".env"))
    i = deny.index(str(layers.workspace / ".env"))
    assert p.sources[f"filesystem.deny_read[{i}]"] == f"project {PROJECT}:3"
    assert p.sources["filesystem.deny_read[0]"] == "default"
    assert p.sources["tools.deny_commands[1]"] == f"user {USER}:5"
    assert p.sources["tools.deny_commands"] == (
        f"default + managed {MANAGED}:5 + user {USER}:5 + project {PROJECT}:5"
    )


def test_rule_id_defined_twice_differently(layers):
    layers.write_user(
        "version: 1\ndlp:\n  rules:\n    - {id: acme, label: regulated, regex: 'ACME-[0-9]{8}'}\n"
    )
    layers.write_project(
        "version: 1\ndlp:\n  rules:\n    - {id: acme, label: regulated, regex: 'ZZZ'}\n"
    )
    _fails(
        layers,
        file=PROJECT,
        line=4,
        key="dlp.rules[0]",
        words=["'acme' is already defined differently by the user policy"],
    )


# -- the user layer under a managed policy --------------------------------------------
def test_user_cannot_loosen_managed_domains(layers):
    layers.write_managed("version: 1\nnetwork:\n  allow: [pypi.org, '*.corp.example']\n")
    layers.write_user("version: 1\nnetwork:\n  allow: [pypi.org, github.com]\n")
    _fails(
        layers,
        file=USER,
        line=3,
        key="network.allow[1]",
        words=[
            "'github.com' is not allowed by the managed policy (./etc/stockade/policy.yaml:3)",
            "a user policy can only narrow network.allow",
        ],
    )


def test_user_cannot_lower_a_managed_level(layers):
    layers.write_managed("version: 1\ndlp:\n  actions: {pii: block}\n")
    layers.write_user("version: 1\ndlp:\n  actions: {pii: redact, secret: allow}\n")
    _fails(
        layers,
        file=USER,
        line=3,
        key="dlp.actions.pii",
        words=["would lower 'block' set by the managed policy"],
    )


def test_user_may_loosen_what_managed_leaves_to_the_default(layers):
    layers.write_managed("version: 1\ndlp:\n  actions: {pii: block}\n")
    layers.write_user(
        "version: 1\ndlp:\n  actions: {secret: allow}\nnetwork:\n  allow: [example.org]\n"
    )
    p = layers.load()
    assert p.dlp_action("secret") == "allow" and p.dlp_action("pii") == "block"
    assert p.network.allow == ("example.org",)
    assert p.sources["dlp.actions.pii"] == f"managed {MANAGED}:3"
    assert p.sources["dlp.actions.secret"] == f"user {USER}:3"


def test_user_cannot_change_managed_locked_values(layers):
    layers.write_managed(
        "version: 1\nledger:\n  url: 'sqlite:///srv/audit/ledger.db'\n  content: full\n"
    )
    layers.write_user("version: 1\nledger:\n  content: none\n")
    _fails(
        layers,
        file=USER,
        line=3,
        key="ledger.content",
        words=["the managed policy (./etc/stockade/policy.yaml:4) sets this"],
    )
    layers.write_user("version: 1\nledger:\n  content: full\n  durability: power-loss\n")
    p = layers.load()  # same value: fine; a key managed left alone: fine
    assert (p.ledger.url, p.ledger.content, p.ledger.durability) == (
        "sqlite:///srv/audit/ledger.db",
        "full",
        "power-loss",
    )


def test_user_cannot_add_upstreams_when_managed_defines_them(layers):
    layers.write_managed("version: 1\nmodels:\n  upstreams:\n    openai: null\n")
    layers.write_user(
        "version: 1\nmodels:\n  upstreams:\n    local: {url: 'http://127.0.0.1:11434/v1'}\n"
    )
    _fails(
        layers,
        file=USER,
        line=4,
        key="models.upstreams.local",
        words=["the managed policy (./etc/stockade/policy.yaml:3) defines the upstreams"],
    )
    layers.user.unlink()
    assert set(layers.load().models.upstreams) == {"anthropic"}


def test_managed_identity_wins_and_is_reported(layers):
    layers.write_managed("version: 1\nidentity: {team: payments}\n")
    layers.write_user("version: 1\nidentity: {team: hackers, user: alice}\n")
    p = layers.load()
    assert (p.identity.user, p.identity.team) == ("alice", "payments")
    assert p.sources["identity.team"] == f"managed {MANAGED}:2"
    assert p.sources["identity.user"] == f"user {USER}:2"


def test_user_cannot_allow_a_managed_unlisted_mcp_server_under_deny(layers):
    layers.write_managed("version: 1\ntools:\n  default: deny\n")
    layers.write_user("version: 1\ntools:\n  mcp: {shell: ['*']}\n")
    _fails(layers, file=USER, line=3, key="tools.mcp.shell", words=["tools.default='deny'"])


def test_user_private_ranges_must_sit_inside_managed_ones(layers):
    layers.write_managed("version: 1\nnetwork:\n  allow_private: [10.0.0.0/8]\n")
    layers.write_user("version: 1\nnetwork:\n  allow_private: [10.1.0.0/16, 192.168.0.0/16]\n")
    _fails(
        layers,
        file=USER,
        line=3,
        key="network.allow_private[1]",
        words=["not allowed by the managed"],
    )
    layers.write_user("version: 1\nnetwork:\n  allow_private: [10.1.0.0/16]\n")
    p = layers.load()
    assert p.network.allows_private("10.1.2.3") and not p.network.allows_private("10.2.0.1")


def test_project_file_named_as_the_user_policy_is_still_a_project_policy(layers):
    # `--policy ./stockade.yaml` names a file the agent can write: it must not
    # gain the user layer's power to set locked keys or loosen the default.
    layers.write_project("version: 1\nledger:\n  content: hash\n")
    from stockade.config import load_policy

    with pytest.raises(PolicyError, match="only the managed or user policy") as info:
        load_policy(
            policy_file=layers.project,
            workspace=layers.workspace,
            managed_file=layers.managed,
            env=layers.env,
        )
    assert info.value.key == "ledger.content"
    layers.write_project("version: 1\ntools: {default: ask}\n")
    p = load_policy(
        policy_file=layers.project,
        workspace=layers.workspace,
        managed_file=layers.managed,
        env=layers.env,
    )
    assert p.tools.default == "ask"
    assert [x.kind for x in p.layers] == ["default", "project"]  # read once, as the project
