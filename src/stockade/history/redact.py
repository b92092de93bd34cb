"""Credentials in a command line or a URL that the DLP rules do not know.

A command an agent ran is reported as an action, and a command line often
holds a password no detector has a pattern for.  These are masked by their
place, whatever the value looks like (``PW`` below): ``mysql -pPW``,
``curl -u admin:PW``, the userinfo of any URL (``scheme://user:PW@host``, a
git remote included), ``docker login -p PW``, ``sshpass -p PW``,
``API_TOKEN=PW ./deploy``, ``--password PW``.  The DLP engine masks the rest
(:func:`stockade.history.worker.masked`).
"""

from __future__ import annotations

import re

from stockade.dlp.mask import mask

# scheme://user:password@host -> the password (which may itself hold an @:
# the host follows the last one)
_URL_USERINFO = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*:)"
                           r"(?P<v>[^/\s'\"]+)(?=@[^@/\s'\"]*(?:[/\s'\"]|$))")
# a value after an opening quote runs to the closing one (spaces included);
# an unquoted one to the first space or quote
_V = r"(?:(?<=\")[^\"]*(?=\")|(?<=')[^']*(?=')|[^\s'\"]+)"
# scheme://TOKEN@host: a token used as the user name (GitHub, GitLab, PyPI
# mirrors accept that); a short plain user such as `git` is not one
_URL_USER_TOKEN = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://)(?P<v>[^/\s:@'\"]{12,})(?=@)")
# scp-like git remote with a token as user: https is covered above; user@host: is not a secret.
_NAMES = r"(?:[A-Za-z0-9_]*(?:pass(?:wd|word)?|secret|token|api[_-]?key|apikey|auth|credential|private[_-]?key|access[_-]?key|pwd)[A-Za-z0-9_]*)"
# NAME=value (env assignment, --name=value)
_ASSIGN = re.compile(rf"(?P<pre>(?<![A-Za-z0-9_])-{{0,2}}{_NAMES}=)(?P<q>['\"]?)(?P<v>{_V})",
                     re.IGNORECASE)
# --password value, -p value style options followed by a separate value
_OPTION = re.compile(rf"(?P<pre>(?<![A-Za-z0-9_-])--?{_NAMES}[ \t]+)(?P<q>['\"]?)"
                     rf"(?P<v>(?<=[\"'])[^\"']*(?=[\"'])|[^\s'\"-][^\s'\"]*)", re.IGNORECASE)
# -u / --user user:password (curl, wget, httpie)
_USER = re.compile(r"(?P<pre>(?<![A-Za-z0-9_-])(?:-u|-U|--user|--proxy-user|--http-user|--auth|-a)"
                   r"[ \t=]+(?P<q>['\"]?)[^\s:'\"]+:)(?P<v>[^\s'\"]+)")
# the same, quoted: -u "user:pass word"
_USER_QUOTED = re.compile(r"(?P<pre>(?<![A-Za-z0-9_-])(?:-u|-U|--user|--proxy-user|--http-user|"
                          r"--auth|-a)[ \t=]+(?P<q>['\"])[^\s:'\"]+:)(?P<v>[^'\"]*)(?=(?P=q))")
# mysql -pSECRET (the value glued to -p)
_MYSQL = re.compile(r"(?P<pre>(?<![A-Za-z0-9_-])(?:mysql|mysqldump|mysqladmin|mariadb)\b[^|;&\n]*?"
                    r"(?<![A-Za-z0-9_-])-p)(?P<v>[^\s'\"]+)")

# -p VALUE where -p means password: `docker login -p`, `sshpass -p`
_LOGIN_P = re.compile(r"(?P<pre>(?<![A-Za-z0-9_-])(?:login|sshpass)\b[^|;&\n]*?(?<![A-Za-z0-9_-])-p"
                      r"[ \t]*(?P<q>['\"]?))(?P<v>" + _V + ")")


def redact_command(command: str) -> str:
    """``command`` with every credential-shaped value masked."""
    for rx in (_URL_USERINFO, _USER_QUOTED, _USER, _MYSQL, _LOGIN_P, _ASSIGN, _OPTION):
        command = rx.sub(_masked, command)
    return _URL_USER_TOKEN.sub(lambda m: _masked(m) if _tokenish(m.group("v")) else m.group(0),
                               command)


def _tokenish(user: str) -> bool:
    """A URL user name that reads as a credential, not as `git` or `deploy`."""
    if any(c.isdigit() for c in user) and any(c.isalpha() for c in user):
        return True
    # long, and not lowercase words (gitlab-ci-token, x-access-token)
    return len(user) >= 16 and not re.fullmatch(r"[a-z]+(?:[-_.][a-z]+)*", user)


def _masked(m: re.Match[str]) -> str:
    value = m.group("v")
    if "*" in value:  # already masked by an earlier pattern or the DLP engine
        return m.group(0)
    whole, at = m.group(0), m.start()
    return whole[: m.start("v") - at] + mask(value) + whole[m.end("v") - at:]
