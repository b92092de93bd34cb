"""Credentials a command line holds where no DLP pattern looks: masked by
their place.  Ordinary commands stay readable (an audit of `git status`
must say `git status`)."""

from __future__ import annotations

import random
import string

import pytest

from stockade.dlp import Engine
from stockade.history.redact import redact_command
from stockade.history.worker import masked

PW = "".join(random.Random(61).choice(string.ascii_letters + string.digits) for _ in range(18))

MASKED = [
    "mysql -u root -p{pw} shop",
    "mysqldump --single-transaction -uroot -p{pw} db > d.sql",
    "curl -u admin:{pw} https://h.example/api",
    "curl --user 'admin:{pw}' https://h.example",
    "psql postgres://bob:{pw}@db.example/app",
    "git remote add origin https://bob:{pw}@git.example/r.git",
    "git clone https://x-access-token:{pw}@github.com/acme/infra.git",
    "docker login -u bob -p {pw} registry.example",
    "sshpass -p {pw} ssh deploy@host",
    "DEPLOY_TOKEN={pw} ./deploy.sh",
    "export DB_PASSWORD='{pw}'",
    "./manage.py createsuperuser --password {pw}",
    "tool --api-key={pw} run",
    "vault login -method=userpass username=bob password={pw}",
    # a token as the URL's user name (regression: only user:password@ was masked)
    "git push https://{pw}@github.com/acme/infra.git",
    "pip install git+https://{pw}@git.example/r.git",
]

KEPT = [
    "git status",
    "git commit -m 'fix password reset flow'",
    "ls -p /tmp",
    "pytest -q -k test_token_refresh",
    "git clone git@github.com:acme/infra.git",
    "git clone ssh://git@github.com/acme/infra.git",
    "curl -s https://h.example/api?page=2",
    "echo $PASSWORD",
    "npm install left-pad@1.3.0",
]


@pytest.mark.parametrize("template", MASKED)
def test_a_credential_in_a_command_is_masked(template: str) -> None:
    cmd = template.format(pw=PW)
    out = redact_command(cmd)
    assert PW not in out and "*" in out
    assert masked(Engine(), cmd).count("*") >= 3  # and the worker's masking includes it


@pytest.mark.parametrize("cmd", KEPT)
def test_an_ordinary_command_is_left_as_it_is(cmd: str) -> None:
    assert redact_command(cmd) == cmd
