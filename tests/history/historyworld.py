"""Two fake homes (alice: Claude Code + Codex, bob: Aider + Claude Code) with
planted secrets and personal data in prompts, file reads, tool outputs and
tool calls, duplicated across lines, plus malformed and unknown lines; and
the CLI runner.  A module of its own name, not conftest: a test importing
from ``conftest`` gets whichever conftest.py pytest loaded last."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakehome import (
    AiderHistory,
    ClaudeSession,
    Clock,
    CodexSession,
    Plants,
    aider_session_id,
    recent,
)

HOSTILE_PROJECT = "/work/alice/<script>document.title='pwned'</script>\x1b]0;pwned\x07\x1b[2J"
HOSTILE_PROMPT = "look at <img src=x onerror=\"document.title='pwned2'\"> and \x1b[2J this"


@dataclass
class World:
    root: Path
    alice: Path
    bob: Path
    plants: Plants
    sessions: dict[str, str]  # name -> session id
    old_session: str


def build_world(root: Path, seed: int = 7) -> World:
    rng = random.Random(seed)
    plants = Plants()
    alice = root / "home" / "alice"
    bob = root / "home" / "bob"
    sessions: dict[str, str] = {}

    # Claude Code, alice: prompt, file read (twice, plus toolUseResult copy), tool output,
    # a tool call carrying a token, actions, malformed lines.
    clock = Clock(recent(3))
    c = ClaudeSession(alice, "/work/alice/payments", clock=clock, rng=rng, branch="feature/refund")
    sessions["claude"] = c.id
    text, aws = plants.plant(rng, "aws_access_key_id", session=c.id, source="prompt", agent="claude-code")
    c.prompt(f"deploy fails with this config:\n{text}\nwhy?")
    env_text, _ = plants.plant(rng, "github_pat_classic", session=c.id, source="file_read", agent="claude-code")
    env_file = f"APP_ENV=prod\nPORT=8080\n{env_text}\n"
    c.read_file("/work/alice/payments/.env", env_file)
    c.say(f"The key {aws} in your prompt looks like an AWS access key id; rotate it.")
    ssn_text, _ = plants.plant(rng, "us_ssn", session=c.id, source="tool_output", agent="claude-code")
    c.tool("Bash", {"command": "cat fixtures/customer.yaml", "description": "show fixture"},
           f"name: Jane Doe\n{ssn_text}\n")
    c.read_file("/work/alice/payments/.env", env_file)  # the same file again: reported once
    bearer_text, _ = plants.plant(rng, "http_bearer_token", session=c.id, source="tool_call", agent="claude-code")
    c.tool("Bash", {"command": f"curl -s -H '{bearer_text}' https://api.payments.example/v1/refunds",
                    "description": "call the API"}, '{"ok": true}')
    c.tool("Bash", {"command": "pip install requests==2.32.3 leftpad-py"}, "Successfully installed")
    c.tool("Write", {"file_path": "/work/alice/payments/refund.py", "content": "def refund():\n    pass\n"},
           "File created")
    c.tool("WebFetch", {"url": "https://docs.payments.example/refunds", "prompt": "summarise"}, "Refunds are ...")
    c.raw('{"type": "user", "message": {"role": "user", "content": "trunc')  # cut mid-line
    c.raw("[1, 2, 3]")
    c.raw(f'{{"type": "brand-new-line-kind", "sessionId": "{c.id}", "timestamp": "{clock.tick()}"}}')
    c.raw("\x00\x01 not json at all")
    c.write()

    # Claude Code, alice: a hostile project name and prompt (HTML / terminal injection).
    h = ClaudeSession(alice, HOSTILE_PROJECT, clock=Clock(recent(2)), rng=rng)
    sessions["hostile"] = h.id
    mail_text, _ = plants.plant(rng, "email", session=h.id, source="prompt", agent="claude-code")
    h.prompt(HOSTILE_PROMPT + "\n" + mail_text)
    h.say("ok")
    h.write()

    # Codex, alice.
    clock = Clock(recent(1))
    x = CodexSession(alice, "/work/alice/infra", clock=clock, rng=rng, branch="dev")
    sessions["codex"] = x.id
    t, _ = plants.plant(rng, "email", session=x.id, source="prompt", agent="codex")
    x.prompt(f"email the report to {t.split(': ', 1)[1]} when done")
    t, _ = plants.plant(rng, "stripe_secret_key", session=x.id, source="file_read", agent="codex")
    x.run("cat secrets.txt", f"# keys\n{t}\n")
    x.run("cat secrets.txt", f"# keys\n{t}\n")  # read twice: once
    t, _ = plants.plant(rng, "basic_auth_url", session=x.id, source="tool_call", agent="codex")
    x.run(t.replace("git clone", "git push", 1), "Everything up-to-date")
    x.run("npm install left-pad@1.3.0", "added 1 package")
    x.patch("src/deploy.py", "print('deploy')")
    x.say("Pushed and deployed.")
    x.raw('{"timestamp": "2026-01-01T00:00:00Z", "type": "response_item", "payload": {"type": "hologram"}}')
    x.raw('{"timestamp": "2026-01-01T00:00:00Z", "type": "mystery_line", "payload": {}}')
    x.raw("{broken json")
    x.write()

    # Aider, bob: two sessions in one history; the same token in both (once per session).
    proj = bob / "src" / "webapp"
    a = AiderHistory(proj)
    stamp1 = a.start(recent(5))
    sid1 = aider_session_id(a.path, stamp1)
    sessions["aider1"] = sid1
    t, slack = plants.plant(rng, "slack_bot_token", session=sid1, source="prompt", agent="aider")
    a.user(f"the bot fails with {t}, fix it")
    a.tool("Added config.py to the chat.")
    a.assistant("Here is the fix:\n\nconfig.py\n```\nSLACK_BOT_TOKEN = os.environ['SLACK_BOT_TOKEN']\n```")
    a.tool("Applied edit to config.py")
    stamp2 = a.start(recent(4))
    sid2 = aider_session_id(a.path, stamp2)
    sessions["aider2"] = sid2
    plants.items.append(type(plants.items[0])("slack_bot_token", slack, sid2, "prompt", "aider"))
    a.user(f"still failing: SLACK_BOT_TOKEN={slack}")
    a.user("/run env | grep IBAN")
    t, _ = plants.plant(rng, "iban", session=sid2, source="tool_output", agent="aider")
    a.tool(t)
    a.assistant("That IBAN should not be in your environment.")
    a.write()

    # bob's Claude Code, old: last active 200 days ago (outside the default --since 90d).
    o = ClaudeSession(bob, "/home/bob/src/old", clock=Clock(recent(200)), rng=rng)
    o.prompt("hello")
    o.say("hi")
    p = o.write()
    old = time.time() - 200 * 86400
    os.utime(p, (old, old))
    return World(root, alice, bob, plants, sessions, o.id)


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)
