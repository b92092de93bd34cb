"""The seam for dependency checks on package installs.

Every install the hooks see (``pip install``, ``npm i``, ``cargo add``,
``go get``, ``npx`` ...) is sent here as (ecosystem, packages) before it is
allowed.  The real checks (nonexistent, typosquat, malicious, vulnerable,
new, install scripts; ``tools.dependencies`` in the policy) land with the
dependency issue; until then every install is allowed and recorded.

A checker that raises is treated as a deny by the hook (fail closed).
"""

from __future__ import annotations

from stockade.hooks._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Ecosystem = Literal["pypi", "npm", "crates", "go", "rubygems"]

class InstallVerdict(Record):
    """``action``: allow | warn | ask | deny.  ``reason`` names the package
    and the check that fired."""

    action: str
    reason: str = ""
    rule_id: str = "deps.allowed"


def check_install(ecosystem: str, packages: tuple[str, ...]) -> InstallVerdict:
    """Decide on installing ``packages`` (spec strings as typed, e.g.
    ``requests==2.32``, ``lodash@4``) from ``ecosystem``.  An empty tuple
    means "whatever the project's manifest or lock file lists"."""
    return InstallVerdict("allow", "dependency checks are not enabled yet", "deps.unchecked")


__all__ = ["InstallVerdict", "check_install"]
