"""Which ledger a process writes to, and how: one rule for every component.

Precedence: an explicit URL (``--ledger``), then ``$STOCKADE_LEDGER``, then the
policy's ``ledger.url``, then the state directory's ``ledger.db``.  Durability
and checkpoint interval come from the policy's ``ledger`` section.

Where the managed policy sets ``ledger.url``, ``$STOCKADE_LEDGER`` may not
move it elsewhere: any process can set a variable, and an administrator's
choice of where events are recorded must not depend on the environment.
``--ledger`` stays allowed: it is typed by the person running ``stockade
ledger`` (to verify a copy, for instance) and moves nothing for the gateway,
the hooks or the sandbox.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from stockade.lite import NamedTuple

from stockade.errors import PolicyError

ENV_LEDGER = "STOCKADE_LEDGER"


class LedgerSettings(NamedTuple):
    """Immutable; ``settings._replace(url=...)`` makes a changed copy.  A
    NamedTuple rather than a frozen dataclass: the sandbox's recorder imports
    this module on `stockade run`'s start-up path, and ``dataclasses`` (with
    ``inspect``) would be ~10 ms of it."""

    url: str | None
    durability: str = "process"
    checkpoint_every: int = 1000


def _same_url(a: str, b: str) -> bool:
    prefix = "sqlite:///"
    if a.startswith(prefix) and b.startswith(prefix):
        return os.path.normpath("/" + a[len(prefix):]) == os.path.normpath("/" + b[len(prefix):])
    return a == b


def _managed_source(policy: Any) -> str | None:
    """Where ``ledger.url`` comes from, when that is the managed policy."""
    source_of = getattr(policy, "source_of", None)
    if source_of is None:
        return None
    source = str(source_of("ledger.url"))
    return source if source.startswith("managed") else None


def ledger_settings(*, explicit_url: str | None = None, policy: Any = None) -> LedgerSettings:
    """``policy`` is a loaded :class:`stockade.config.Policy` or ``None``.

    Raises PolicyError when ``$STOCKADE_LEDGER`` names another ledger than the
    one the managed policy sets."""
    lp = getattr(policy, "ledger", None)
    policy_url = getattr(lp, "url", None)
    url = explicit_url
    if not url:
        env_url = os.environ.get(ENV_LEDGER)
        managed = _managed_source(policy) if env_url else None
        if env_url and managed is not None:
            if policy_url is None or not _same_url(env_url, policy_url):
                # Neither URL is shown: a database URL may hold a password.
                raise PolicyError(
                    f"${ENV_LEDGER} is set, but the managed policy ({managed}) sets "
                    "ledger.url; the environment cannot move the ledger it chose",
                    hint=f"unset {ENV_LEDGER}; to read another ledger, pass --ledger URL",
                )
        url = env_url or policy_url
    return LedgerSettings(
        url=url,
        durability=getattr(lp, "durability", None) or "process",
        checkpoint_every=int(getattr(lp, "checkpoint_every", None) or 1000),
    )


def resolve_settings(url: str | None, *, state: Any) -> LedgerSettings:
    """Where the ledger is and how it is written, with the state directory's
    ledger (``state``: a :class:`stockade.state.StateDir`) as the last resort.

    Only the managed and user policies are read: the ``ledger`` section is
    theirs alone, so a broken project stockade.yaml cannot stop `ledger verify`.
    With ``url`` (``--ledger``) no policy is read at all (a witness machine may
    have none)."""
    from pathlib import Path

    policy = None
    if not url:
        from stockade.config import load_policy

        policy = load_policy(workspace=Path.cwd(), include_project=False)
    st = ledger_settings(explicit_url=url, policy=policy)
    return st._replace(url=st.url or state.ledger_url)
