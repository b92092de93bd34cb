"""Values that look like secrets or personal data but are not: each must
give no finding.  Random parts are generated so nothing here is a live value."""

from __future__ import annotations

import base64
import random
import string
import zlib

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import B62, B64, HEX, cn_resident_id, luhn_complete, rand, varied
from stockade.dlp.validators import base62

ENGINE = Engine.default()
RNG = random.Random(20240601)


def _bad_crc_ghp() -> str:
    body = varied(RNG, B62, 30)
    good = base62(zlib.crc32(body.encode()), 6)
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    return "GH_TOKEN=ghp_" + body + bad


def _bad_id() -> str:
    good = cn_resident_id(RNG)
    wrong = "0" if good[-1] != "0" else "1"
    return "身份证号：" + good[:-1] + wrong


def _luhn_fail() -> str:
    good = luhn_complete(RNG, "622202", 16)
    return "card_number=" + good[:-1] + str((int(good[-1]) + 1) % 10)


NEGATIVES = {
    "aws documented key id": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws documented secret": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "placeholder your key": "OPENAI_API_KEY=YOUR_API_KEY",
    "placeholder angle": "token: <token>",
    "placeholder shell": "API_TOKEN=${SECRET}",
    "placeholder xxxx": "password: xxxxxxxxxxxxxxxx",
    "placeholder changeme": 'password = "changeme"',
    "placeholder stars": '"password": "********"',
    "env python": 'password = os.environ["DB_PASSWORD"]',
    "env node": "const secret = process.env.CLIENT_SECRET;",
    "env go": 'apiKey := os.Getenv("API_KEY")',
    "actions secret": "token: ${{ secrets.GITHUB_TOKEN }}",
    "helm value": 'password: "{{ .Values.db.password }}"',
    "terraform var": "password = var.db_password",
    "k8s secretKeyRef": "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password",
    "uuid bearer": "Authorization: Bearer 683b07c3-862e-4590-8916-46ac537bf021",
    "sha256 digest": "sha256 = " + varied(RNG, HEX, 64),
    "git sha": "COMMIT=" + varied(RNG, HEX, 40),
    "lockfile integrity": '"integrity": "sha512-' + rand(RNG, B64, 86) + '=="',
    "bcrypt": 'password_hash = "$2b$12$' + rand(RNG, B62 + "./", 53) + '"',
    "argon2": "hash: $argon2id$v=19$m=65536,t=3,p=4$" + rand(RNG, B64, 22) + "$" + rand(RNG, B64, 43),
    "ssh public key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rand(RNG, B64, 43) + " deploy@ci",
    "certificate": "-----BEGIN CERTIFICATE-----\n" + "\n".join(rand(RNG, B64, 64) for _ in range(6))
    + "\n-----END CERTIFICATE-----",
    "public key pem": "-----BEGIN PUBLIC KEY-----\n" + "\n".join(rand(RNG, B64, 64) for _ in range(4))
    + "\n-----END PUBLIC KEY-----",
    "elided private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
    "stripe publishable": "STRIPE_PUBLISHABLE_KEY=pk_live_" + varied(RNG, B62, 24),
    "stripe test card": "card: 4242 4242 4242 4242",
    "luhn fail": _luhn_fail(),
    "id bad checksum": _bad_id(),
    "github bad crc": _bad_crc_ghp(),
    "phone bad prefix": 'config["phone"] = "10611695722"',
    "example email": "contact: jane.doe@example.org",
    "vendor email": "Co-Authored-By: Claude <noreply@anthropic.com>",
    "private ip": "host: 172.16.55.252",
    "version": 'version = "10.2.3-beta.4"',
    "html password field": '<input type="password" name="password" placeholder="Password" required>',
    "minified js": 'var n={s:"' + varied(RNG, B62, 27) + '",c:"' + varied(RNG, HEX, 20) + '"};',
    "max tokens": "max_tokens = 4096",
    "type annotation": "password: str",
    "function call": "token = get_token(session)",
    "attribute": "password = user.password",
    "prose": "The password reset link expires after one hour.",
    "image data": "data:image/png;base64,iVBORw0KGgoAAAANSUhEU" + rand(RNG, B64, 80),
    "passport without context": "build G" + rand(RNG, string.digits, 8) + " finished",
    "ssn bad area": "ssn: 666-12-3456",
    "iban bad checksum": "IBAN: DE00" + rand(RNG, string.digits, 18),
    "url without password": "git clone https://github.com/org/repo.git",
    "url placeholder password": "postgres://user:password@localhost:5432/db",
    "docker auth not credentials": '{"auths": {"r.io": {"auth": "' + base64.b64encode(b"nocolonhere").decode() + '"}}}',
    "configmap data": "apiVersion: v1\nkind: ConfigMap\ndata:\n  mode: " + base64.b64encode(b"production-mode").decode(),
}


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_must_not_flag(name: str) -> None:
    text = NEGATIVES[name]
    assert [(f.rule_id, f.preview) for f in ENGINE.scan(text)] == []
