"""The matching helpers other modules rely on: paths, domains, DLP actions."""

from __future__ import annotations

import os

import pytest

from stockade.config.domains import parse_pattern


# -- paths ------------------------------------------------------------------------
def test_sibling_with_a_common_prefix_is_not_under(layers):
    p = layers.load()
    h = layers.home
    assert p.is_read_denied(str(h / ".ssh"))
    assert p.is_read_denied(str(h / ".ssh" / "id_ed25519"))
    assert not p.is_read_denied(str(h / ".sshx"))
    assert not p.is_read_denied(str(h / ".ssh-backup" / "notes"))
    assert not p.is_read_denied(str(h / ".docker" / "config.json.example"))
    assert p.is_read_denied(str(h / ".docker" / "config.json"))


def test_dotdot_is_collapsed(layers):
    p = layers.load()
    ws = layers.workspace
    assert p.is_read_denied(f"{ws}/../.ssh/id_rsa")
    assert p.is_read_denied("../.aws/credentials")  # relative to the workspace
    assert not p.is_write_allowed(f"{ws}/../other/file")
    assert p.is_write_allowed(f"{ws}/a/../b/c.py")
    assert p.is_write_allowed("src/new_module.py")


def test_symlink_into_a_denied_directory_is_denied(layers):
    ssh = layers.home / ".ssh"
    ssh.mkdir()
    (ssh / "id_rsa").write_text("not a real key")
    link = layers.workspace / "innocent"
    link.symlink_to(ssh)
    p = layers.load()
    assert p.is_read_denied(str(link / "id_rsa"))
    assert p.is_read_denied("innocent/id_rsa")
    assert not p.is_write_allowed(str(link / "authorized_keys"))


def test_denied_entry_that_is_itself_a_symlink(layers, tmp_path):
    real = tmp_path / "vault"
    real.mkdir()
    (layers.home / ".aws").symlink_to(real)
    p = layers.load()
    assert p.is_read_denied(str(real / "credentials"))


def test_symlink_out_of_the_workspace_is_not_writable(layers, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (layers.workspace / "escape").symlink_to(outside)
    p = layers.load()
    assert not p.is_write_allowed(str(layers.workspace / "escape" / "payload.sh"))
    assert p.is_write_allowed(str(layers.workspace / "escapee.txt"))


def test_a_symlink_planted_after_load_cannot_redirect_a_write_grant(layers, tmp_path):
    sub = layers.workspace / "build"
    sub.mkdir()
    layers.write_project("version: 1\nfilesystem:\n  write: ['${WORKSPACE}/build']\n")
    p = layers.load()
    sub.rmdir()
    sub.symlink_to(tmp_path)
    assert not p.is_write_allowed(str(sub / "x"))


def test_workspace_reached_through_a_symlink(layers, tmp_path):
    alias = tmp_path / "ws-alias"
    alias.symlink_to(layers.workspace)
    from stockade.config import load_policy

    p = load_policy(workspace=alias, managed_file=layers.managed, env=layers.env)
    assert p.workspace == os.path.realpath(layers.workspace)
    assert p.is_write_allowed(str(alias / "file.txt"))
    assert p.is_write_allowed(str(layers.workspace / "file.txt"))


# -- domains ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host,port,allowed",
    [
        ("pypi.org", None, True),
        ("PyPI.org.", 443, True),
        ("evil-pypi.org", None, False),
        ("pypi.org.evil.example", None, False),
        ("github.com", 443, True),
        ("api.github.com", 443, True),
        ("a.b.github.com", 22, True),
        ("githubusercontent.com", 443, False),  # *.x does not match x itself
        ("raw.githubusercontent.com", 443, True),
        ("", None, False),
        ("pypi.org/evil", None, False),
        ("exa mple.com", None, False),
    ],
)
def test_default_domain_matching(layers, host, port, allowed):
    assert layers.load().network_allows(host, port) is allowed


def test_ports_and_ip_literals(layers):
    layers.write_user(
        "version: 1\nnetwork:\n  allow: ['git.corp.example:8443', 203.0.113.7, '[2001:db8::1]:443']\n"
    )
    p = layers.load()
    assert p.network_allows("git.corp.example", 8443)
    assert not p.network_allows("git.corp.example", 443)
    assert not p.network_allows("git.corp.example")
    assert p.network_allows("203.0.113.7", 80)
    assert not p.network_allows("203.0.113.8", 80)
    assert p.network_allows("[2001:db8::1]", 443)
    assert p.network_allows("2001:0db8:0:0::1", 443)
    assert not p.network_allows("2001:db8::1", 80)


@pytest.mark.parametrize(
    "strong,weak,covered",
    [
        ("*.a.com", "x.a.com", True),
        ("*.a.com", "*.x.a.com", True),
        ("*.a.com", "*.a.com", True),
        ("*.a.com", "a.com", False),
        ("a.com", "*.a.com", False),
        ("a.com", "a.com:443", True),
        ("a.com:443", "a.com", False),
        ("*.a.com:443", "x.a.com:443", True),
        ("*.a.com:443", "x.a.com:80", False),
        ("10.0.0.1", "10.0.0.1", True),
        ("*.a.com", "b.com", False),
    ],
)
def test_pattern_covers(strong, weak, covered):
    assert parse_pattern(strong).covers(parse_pattern(weak)) is covered


# -- dlp ----------------------------------------------------------------------------
def test_dlp_action_per_label(layers):
    layers.write_user("version: 1\ndlp:\n  actions: {pii: allow, regulated: 'route:anthropic'}\n")
    p = layers.load()
    assert p.dlp_action("secret") == "redact"
    assert p.dlp_action("pii") == "allow"
    assert p.dlp_action("regulated") == "route:anthropic"
    assert p.dlp_action("anything-else") == "block"


def test_policy_objects_are_immutable(layers):
    p = layers.load()
    with pytest.raises(AttributeError):
        p.network.allow = ("evil.example",)  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.dlp.actions["secret"] = "allow"  # type: ignore[index]


def test_validator_names_match_the_dlp_engine():
    from stockade.config.schema import VALIDATORS
    from stockade.dlp import spec

    assert VALIDATORS == spec.VALIDATORS


def test_impossible_paths_fail_closed(layers):
    p = layers.load()
    assert p.is_read_denied(f"{layers.workspace}/a\x00b")
    assert not p.is_write_allowed(f"{layers.workspace}/a\x00b")


def test_private_hosts_may_be_single_label(layers):
    layers.write_user("version: 1\nnetwork:\n  allow_private: [localhost, Gitlab, '::1']\n")
    p = layers.load()
    assert p.network.allow_private == ("localhost", "gitlab", "::1")
    assert p.network.allows_private("GitLab") and p.network.allows_private("::1")
    assert not p.network.allows_private("127.0.0.1")


# Property: "covers" (used to bound weaker layers) never lets a weaker pattern
# match a host the stronger one does not.  Exhaustive over a small universe.
def test_covers_implies_every_match_is_allowed():
    import itertools

    names = [".".join(p) for n in (2, 3) for p in itertools.product("ab", repeat=n)]
    pats = [
        parse_pattern(("*." if wild else "") + name + ("" if port is None else f":{port}"))
        for name in names
        for wild in (False, True)
        for port in (None, 443)
    ]
    hosts = [(h, port) for h in names + ["a.a.b.a"] for port in (None, 443, 80)]
    checked = 0
    for strong, weak in itertools.product(pats, pats):
        if not strong.covers(weak):
            continue
        for host, port in hosts:
            if weak.matches(host, port):
                checked += 1
                assert strong.matches(host, port), (str(strong), str(weak), host, port)
    assert checked > 100
