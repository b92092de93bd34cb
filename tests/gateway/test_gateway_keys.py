"""Team mode: callers present stockade keys, the vendor key is injected upstream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gwsupport import make_config, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.keys import KeyStore, create_key, list_keys, revoke_key
from stockade.state import StateDir

RUN_CLI = ("import sys; from stockade import cli; "
           "cli.COMMANDS.setdefault('gateway', ('stockade.commands.gateway', 'gateway')); "
           "cli.COMMANDS.setdefault('keys', ('stockade.commands.keys', 'keys')); "
           "sys.exit(cli.main(sys.argv[1:]))")


def test_team_mode_auth_and_vendor_key_injection(fake: FakeUpstream, state: StateDir) -> None:
    vendor = "vendor-" + os.urandom(8).hex()
    key, rec = create_key(state, user="alice", team="payments")
    g = start_gateway(make_config(anthropic=fake.url), env={"ANTHROPIC_API_KEY": vendor},
                      keystore=KeyStore(state))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    try:
        st, _, out = g.request("POST", "/v1/messages", body, headers={"x-api-key": "sk-ant-own"})
        assert st == 401 and json.loads(out)["error"]["type"] == "authentication_error"
        assert fake.posts() == []
        st, _, _ = g.request("POST", "/v1/messages", body, headers={"x-api-key": key})
        assert st == 200
        seen = fake.posts()[-1]["headers"]
        assert seen["x-api-key"] == vendor and key not in json.dumps(seen)
        ev = g.events("llm.request")[-1]
        assert ev["actor"]["user"] == "alice" and ev["actor"]["team"] == "payments"
        assert key not in json.dumps(g.ledger.events) and vendor not in json.dumps(g.ledger.events)
        revoke_key(state, rec.id)
        import time
        time.sleep(0.6)  # the key store re-reads the file at most twice a second
        st, _, _ = g.request("POST", "/v1/messages", body, headers={"x-api-key": key})
        assert st == 401
    finally:
        g.stop()


def test_keys_are_stored_hashed(state: StateDir) -> None:
    key, rec = create_key(state, user="bob", team=None)
    text = (state.root / "gateway-keys.json").read_text()
    assert key not in text and rec.id in text
    assert [k.user for k in list_keys(state)] == ["bob"]
    assert oct((state.root / "gateway-keys.json").stat().st_mode & 0o777) == "0o600"


def test_keys_cli_and_refusal_to_listen_publicly_without_auth(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env["STOCKADE_HOME"] = str(tmp_path / "home")
    r = subprocess.run([sys.executable, "-c", RUN_CLI, "keys", "create", "--user", "carol",
                        "--team", "t1"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("stk_")
    r = subprocess.run([sys.executable, "-c", RUN_CLI, "keys", "list"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert "carol" in r.stdout and "stk_" not in r.stdout
    r = subprocess.run([sys.executable, "-c", RUN_CLI, "gateway", "--listen", "0.0.0.0:0"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "refusing to listen on 0.0.0.0" in r.stderr
