"""Who did something: the :class:`Actor` recorded on every ledger event.

Re-exported by :mod:`stockade.model`, and defined here so that a process that
only appends to the ledger (the sandbox's recorder, a hook) does not import
``model``'s dataclasses: ``dataclasses`` imports ``inspect``, ~10 ms of that
process's start-up.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from stockade.lite import NamedTuple


class Actor(NamedTuple):
    """Who did something: recorded on every ledger event.

    Immutable; ``actor._replace(agent=...)`` makes a changed copy.  A
    NamedTuple rather than a frozen dataclass (see the module's docstring).
    """

    user: str | None = None
    team: str | None = None
    agent: str | None = None
    host: str | None = None
    process: str | None = None
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (
            ("user", self.user),
            ("team", self.team),
            ("agent", self.agent),
            ("host", self.host),
            ("process", self.process),
            ("pid", self.pid),
        ) if v is not None}


__all__ = ["Actor"]
