"""Plain data of the dependency guard."""

from __future__ import annotations

from dataclasses import dataclass, field

ECOSYSTEMS = ("pypi", "npm", "crates", "go")
# check -> reason code; the code is what output, SARIF and the ledger carry
CHECKS: dict[str, str] = {
    "nonexistent": "deps.nonexistent",
    "typosquat": "deps.typosquat",
    "malicious": "deps.malicious",
    "vulnerable": "deps.vulnerable",
    "new": "deps.new",
    "install_scripts": "deps.install_scripts",
    "unverifiable": "deps.unverifiable",
}
ACTIONS = ("allow", "warn", "ask", "block")
RANK = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True, slots=True)
class Spec:
    """One requested package: ``name`` as written, ``version`` when pinned
    exactly (``==1.2`` / ``@1.2.3``), ``source`` where it was found
    (``path:line`` or ``command``)."""

    ecosystem: str
    name: str
    version: str | None = None
    source: str = ""
    line: int | None = None
    raw: str = field(default="", repr=False)  # as written: may hold user:token@ too
    # a URL or VCS reference the package is fetched from instead of the
    # registry (``git+https://...``, ``name @ https://...``, ``x@github:u/r``):
    # nothing about it can be checked, so it is never an allow
    direct: str | None = field(default=None, repr=False)  # may hold user:token@
    # an index or registry the install names besides (or instead of) the
    # public one (`--extra-index-url`, `--index-url`, `npm --registry`): what
    # it serves under this name is not what the public registry says
    index: str | None = field(default=None, repr=False)  # may hold user:token@

    @property
    def display(self) -> str:
        sep = "==" if self.ecosystem == "pypi" else "@"
        return f"{self.name}{sep}{self.version}" if self.version else self.name


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # a key of CHECKS
    action: str  # allow | warn | ask | block, from the policy
    reason: str
    advisory: str | None = None

    @property
    def code(self) -> str:
        return CHECKS[self.check]


@dataclass(frozen=True, slots=True)
class Result:
    spec: Spec
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what could not be checked, and why

    @property
    def action(self) -> str:
        if not self.findings:
            return "allow"
        return max((f.action for f in self.findings), key=RANK.__getitem__)

    @property
    def refused(self) -> bool:
        return self.action in ("ask", "block")


__all__ = ["ACTIONS", "CHECKS", "ECOSYSTEMS", "RANK", "Finding", "Result", "Spec"]
