"""Environment scrubbing: what the agent inherits."""

from __future__ import annotations

import secrets

from stockade.sandbox.envscrub import high_entropy_token, scrub


def fake_key() -> str:
    return "AKIA" + secrets.token_hex(8).upper()


def test_credential_names_and_host_handles_are_dropped() -> None:
    env = {
        "AWS_SECRET_ACCESS_KEY": "x" * 10, "GITHUB_TOKEN": "abc", "MY_API_KEY": "v",
        "DB_PASSWORD": "hunter2", "SSH_AUTH_SOCK": "/run/user/1/ssh", "DBUS_SESSION_BUS_ADDRESS": "x",
        "LD_PRELOAD": "/evil.so", "HTTPS_PROXY": "http://corp:3128", "DOCKER_HOST": "unix:///x",
        "PATH": "/usr/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "EDITOR": "vim",
    }
    res = scrub(env)
    assert set(res.kept) == {"PATH", "HOME", "LANG", "EDITOR"}
    reasons = {d.name: d.reason for d in res.dropped}
    assert reasons["SSH_AUTH_SOCK"] == "host-handle"
    assert reasons["HTTPS_PROXY"] == "proxy"
    assert reasons["GITHUB_TOKEN"] == "name"


def test_secret_values_under_innocent_names_are_dropped() -> None:
    canary = "rtcenv" + secrets.token_hex(10)
    env = {
        "APP_CONFIG": canary,
        "UPSTREAM": "postgres://app:" + secrets.token_hex(4) + "@db.internal/app",
        "FOO": "plain words only",
        "GIT_AUTHOR_NAME": "Dev Person",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    res = scrub(env)
    assert "APP_CONFIG" not in res.kept and "UPSTREAM" not in res.kept
    assert res.kept["FOO"] == "plain words only"
    assert "GIT_AUTHOR_NAME" in res.kept and "SSL_CERT_FILE" in res.kept


def test_dlp_verdict_is_used_and_a_failing_scanner_drops() -> None:
    # low entropy, so only the DLP engine can tell
    key = "login " + "hunter" + "-two"

    def dlp(value: str) -> bool:
        if value == "boom!boom":
            raise RuntimeError("scanner broke")
        return "hunter" in value

    res = scrub({"NOTE": key, "OTHER": "boom!boom", "FINE": "hello world"}, looks_secret=dlp)
    assert res.kept == {"FINE": "hello world"}
    assert {d.name: d.reason for d in res.dropped} == {"NOTE": "value:dlp",
                                                        "OTHER": "value:dlp-error"}


def test_dropped_values_never_appear_in_the_result_repr() -> None:
    canary = "rtcenv" + secrets.token_hex(10)
    res = scrub({"AWS_SECRET_ACCESS_KEY": canary, "X": canary})
    assert canary not in repr(res.dropped)


def test_passthrough_keeps_a_named_variable() -> None:
    res = scrub({"NPM_TOKEN": "t0k"}, passthrough=["NPM_TOKEN"])
    assert res.kept == {"NPM_TOKEN": "t0k"}


def test_paths_and_versions_are_not_mistaken_for_tokens() -> None:
    assert not high_entropy_token("/root/.pyenv/versions/3.11.7/bin:/usr/local/bin:/usr/bin")
    assert not high_entropy_token("C.UTF-8")
    assert high_entropy_token("ghp_" + secrets.token_urlsafe(27))


def test_the_local_entropy_is_the_dlp_engines() -> None:
    import os as _os

    from stockade.dlp.validators import shannon as dlp_shannon
    from stockade.sandbox.envscrub import shannon

    for value in ("", "a", "aaaa", "abcdefgh", "Zx9Q" * 5, _os.urandom(40).hex(), "ünï-cødé"):
        assert abs(shannon(value) - dlp_shannon(value)) < 1e-12, value


def test_ca_bundle_paths_under_credential_prefixes_are_kept() -> None:
    # where the trusted CA certificates are (behind a corporate TLS proxy the
    # agent's tools fail without them) is no credential; the value is still
    # checked like any other's
    env = {"AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
           "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE": "/etc/ssl/certs/ca-certificates.crt",
           "AWS_SECRET_ACCESS_KEY": "x" * 10, "AWS_PROFILE": "dev",
           "GITHUB_CA_CERT": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"}
    res = scrub(env)
    assert res.kept.keys() == {"AWS_CA_BUNDLE", "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE"}
    reasons = {d.name: d.reason for d in res.dropped}
    assert reasons["AWS_SECRET_ACCESS_KEY"] == "name" and reasons["AWS_PROFILE"] == "name"
    assert reasons["GITHUB_CA_CERT"].startswith("value:")  # a token, whatever its name


def test_numbered_and_run_together_credential_names_are_dropped() -> None:
    # found in review: the name words matched only whole and unnumbered
    env = {n: "hunter2" for n in ("MY_PASSWORD1", "DB_PWD", "XSECRET", "SECRETVALUE",
                                  "ACCESS_KEY2", "APPPASSWORD")}
    env.update({"PWD": "/work/app", "OLDPWD": "/work", "TOKENIZERS_PARALLELISM": "false",
                "GIT_AUTHOR_NAME": "Dev Person", "KEYBOARD_LAYOUT": "us"})
    res = scrub(env)
    assert set(res.kept) == {"PWD", "OLDPWD", "TOKENIZERS_PARALLELISM", "GIT_AUTHOR_NAME",
                             "KEYBOARD_LAYOUT"}
    assert all(d.reason == "name" for d in res.dropped)


def test_ordinary_names_still_get_the_value_checks() -> None:
    # found in review: TZ, EDITOR, LS_COLORS ... skipped every value check
    ghp = "ghp_" + secrets.token_hex(18)
    key = "-".join(("sk", "ant", "api03", secrets.token_urlsafe(30)))
    env = {"TZ": key, "EDITOR": f"vim {ghp}",
           "PAGER": "less", "LS_COLORS": "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35",
           "USER": "https://u:" + secrets.token_hex(4) + "@git.internal/x",
           # paths are not checked: a folder named by a hash is no key
           "PWD": "/src/build-" + secrets.token_hex(16), "PATH": "/usr/bin"}
    res = scrub(env, looks_secret=lambda v: (_ for _ in ()).throw(AssertionError(v)))
    assert set(res.kept) == {"PAGER", "LS_COLORS", "PWD", "PATH"}
    assert {d.name: d.reason for d in res.dropped} == {
        "TZ": "value:entropy", "EDITOR": "value:entropy", "USER": "value:url-password"}
