"""Bypass found in review: a value the gateway redacted on the way up and
restored on the way back reached the vendor in clear on the next turn.  The
agent's history carries the answer with the real value in it, but not the
context that found it the first time (the ``aws_secret_access_key = `` before
it): the rules alone saw nothing.  Every value the conversation's vault holds
is now found again wherever it appears, and redacted to the same
placeholder (or blocked where it cannot be rewritten)."""

from __future__ import annotations

import json
import random
import string

from gwsupport import make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream

SESSION = {"x-stockade-session": "s-restored"}


def _aws_secret() -> str:
    rnd = random.Random()
    return "".join(rnd.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))


def test_a_restored_value_is_redacted_again_when_it_comes_back(fake: FakeUpstream) -> None:
    fake.script = [{"text": "run: printf %s $LAST | wc -c"}, {"text": "ok"}, {"text": "ok"}]
    g = start_gateway(make_config(openai=fake.url), scanner=real_scanner())
    secret = _aws_secret()
    try:
        first = [{"role": "user", "content": f"aws_secret_access_key = {secret}"}]
        st, _, out = g.request("POST", "/v1/chat/completions",
                               {"model": "m", "messages": first}, headers=SESSION)
        answer = json.loads(out)["choices"][0]["message"]["content"]
        assert st == 200 and secret in answer  # restored for the agent
        assert secret not in fake.posts()[-1]["raw"].decode()

        history = [*first, {"role": "assistant", "content": answer},
                   {"role": "user", "content": "done; and the value again: " + secret[:20]
                    + secret[20:]}]
        st, _, out = g.request("POST", "/v1/chat/completions",
                               {"model": "m", "messages": history}, headers=SESSION)
        assert st == 200, out
        sent = fake.posts()[-1]["raw"].decode()
        assert secret not in sent
        # the same placeholder as the first time: the vendor's view stays coherent
        assert sent.count("STOCKADE_REDACTED_") >= 3
        # where it cannot be rewritten (a header), the request is blocked
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "hi"}]}, headers={**SESSION, "x-note": secret})
        assert st == 403 and secret not in out.decode()
        assert len(fake.posts()) == 2
    finally:
        g.stop()
