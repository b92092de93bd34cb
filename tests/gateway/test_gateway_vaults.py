"""Redaction vaults belong to (authenticated user, session), not to a session id
the client chose: another user naming the same session gets nothing restored."""

from __future__ import annotations

import json
import os
import re

from gwsupport import fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.keys import KeyStore, create_key
from stockade.state import StateDir

_PLACEHOLDER = re.compile(r"STOCKADE_REDACTED_[A-Za-z0-9_]+")


def test_same_session_id_from_another_user_does_not_share_the_vault(
        fake: FakeUpstream, state: StateDir) -> None:
    fake.script = [{"text": "you said: $LAST"}]
    alice, _ = create_key(state, user="alice", team="t")
    bob, _ = create_key(state, user="bob", team="t")
    g = start_gateway(make_config(openai=fake.url), scanner=real_scanner(),
                      env={"OPENAI_API_KEY": "v-" + os.urandom(4).hex()},
                      keystore=KeyStore(state))
    session = {"x-stockade-session": "shared-session"}
    try:
        value = fake_secret()
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": f"token {value}"}]},
            headers={"authorization": f"Bearer {alice}", **session})
        assert st == 200 and value in json.loads(out)["choices"][0]["message"]["content"]
        [placeholder] = _PLACEHOLDER.findall(fake.posts()[-1]["raw"].decode())
        # bob replays alice's placeholder (plus a secret of his own, so his request has a vault)
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": f"{placeholder} {fake_secret()}"}]},
            headers={"authorization": f"Bearer {bob}", **session})
        assert st == 200
        answer = json.loads(out)["choices"][0]["message"]["content"]
        assert value not in answer and placeholder in answer
    finally:
        g.stop()
