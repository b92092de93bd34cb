"""Checks one package spec and turns what was found into actions.

Order: name validity and typosquat (local), registry (exists, first
release, install scripts), OSV (malicious, vulnerable).  Each finding gets
the action the policy gives its check; the worst action is the result's.

A popular package (in the bundled lists, which were built from the
registries' own download counts) is known to exist and is not new, so it
needs the registry only for npm install scripts; if that look-up fails it
is a note, not a finding.  Any other package that cannot be looked up is
``unverifiable``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Protocol

from stockade.deps import popular
from stockade.deps.model import Finding, Result, Spec
from stockade.deps.names import host_of, valid_name
from stockade.deps.osv import Database
from stockade.deps.registry import Info, Registry

DAY = 86400.0


class Actions(Protocol):
    """What :class:`stockade.config.DependencyPolicy` provides (read-only)."""

    @property
    def nonexistent(self) -> str: ...
    @property
    def typosquat(self) -> str: ...
    @property
    def malicious(self) -> str: ...
    @property
    def vulnerable(self) -> str: ...
    @property
    def new(self) -> str: ...
    @property
    def install_scripts(self) -> str: ...
    @property
    def unverifiable(self) -> str: ...
    @property
    def new_days(self) -> int: ...
    @property
    def offline(self) -> bool: ...
    @property
    def cache_ttl_hours(self) -> int: ...
    @property
    def registries(self) -> Mapping[str, str]: ...


class Checker:
    def __init__(self, actions: Actions, *, registry: Registry | None, osv: Database | None,
                 now: float | None = None):
        self.a = actions
        self.registry = registry
        self.osv = osv
        self.now = time.time() if now is None else now

    def _f(self, check: str, reason: str, advisory: str | None = None) -> Finding:
        action = str(getattr(self.a, check))
        return Finding(check, "block" if action == "deny" else action, reason, advisory)

    def check_all(self, specs: Iterable[Spec]) -> list[Result]:
        return [self.check(s) for s in specs]

    def check(self, spec: Spec) -> Result:
        eco, name = spec.ecosystem, spec.name
        found: list[Finding] = []
        notes: list[str] = []
        if spec.direct is not None:
            # fetched from a URL or a repository: no registry, no advisory
            # data and no popularity vouch for it
            found.append(self._f("unverifiable", f"`{name}` from {host_of(spec.direct)} (not the "
                                                 f"{eco} registry) cannot be checked"))
            return Result(spec, tuple(found), tuple(notes))
        if spec.index is not None:
            # dependency confusion: the installer picks the highest version
            # from any index it is given, so a private name can be served by
            # whoever registers it publicly, or the private index by anyone
            found.append(self._f("unverifiable", f"`{name}` may come from "
                                                 f"{host_of(spec.index)}, not only the {eco} "
                                                 "registry stockade checks (dependency "
                                                 "confusion)"))
        idx = popular.index(eco)
        is_popular = idx is not None and idx.is_popular(name)
        if idx is not None and not is_popular:
            m = idx.check(name)
            if m is not None:
                found.append(self._f("typosquat", m.describe(name)))
        if not valid_name(eco, name):
            found.append(self._f("nonexistent",
                                 f"`{name}` is not a name the {eco} registry can hold"))
            return Result(spec, tuple(found), tuple(notes))
        info = self._registry(spec, is_popular, found, notes)
        self._advisories(spec, info, found, notes)
        return Result(spec, tuple(found), tuple(notes))

    def _registry(self, spec: Spec, is_popular: bool, found: list[Finding],
                  notes: list[str]) -> Info | None:
        eco, name = spec.ecosystem, spec.name
        need = not is_popular or eco == "npm"
        if not need or self.registry is None:
            if not is_popular:
                found.append(self._f("unverifiable", f"`{name}` was not looked up in the "
                                                     f"{eco} registry"))
            return None
        look = self.registry.lookup(eco, name)
        if look.info is None:
            if is_popular:
                notes.append(f"install scripts of `{name}` not checked: {look.why}")
            else:
                found.append(self._f("unverifiable", f"cannot tell whether `{name}` exists on "
                                                     f"{eco}: {look.why}"))
            return None
        info = look.info
        if look.how == "stale-cache":
            notes.append(f"`{name}`: offline, using a cached registry answer")
        if not info.exists:
            found.append(self._f("nonexistent", f"`{name}` does not exist on {eco} (a "
                                                "hallucinated or mistyped name?)"))
            return info
        if not is_popular and info.created is not None and \
                self.now - info.created < self.a.new_days * DAY:
            days = max(0, int((self.now - info.created) // DAY))
            found.append(self._f("new", f"`{name}` was first published {days} day"
                                        f"{'s' if days != 1 else ''} ago (tools.dependencies."
                                        f"new_days: {self.a.new_days})"))
        ver = spec.version or info.latest
        if ver and ver in info.script_versions:
            found.append(self._f("install_scripts", f"`{name}@{ver}` runs an install script "
                                                    "(preinstall/install/postinstall)"))
        return info

    def _advisories(self, spec: Spec, info: Info | None, found: list[Finding],
                    notes: list[str]) -> None:
        eco, name = spec.ecosystem, spec.name
        if self.osv is None or not self.osv.has(eco):
            notes.append(f"no OSV data for {eco}: run `stockade deps update-db --from "
                         f"{_OSV_NAMES.get(eco, eco)}/all.zip`")
            return
        version = spec.version or (info.latest if info is not None and info.exists else None)
        mal = vul = None
        for adv in self.osv.advisories(eco, name, version):
            if adv.malicious and adv.affects is not False and mal is None:
                mal = adv
            elif not adv.malicious and vul is None and (
                    adv.affects or (adv.affects is None and adv.open_ended)):
                vul = adv
        if mal is not None:
            found.append(self._f("malicious", f"`{name}` is known malicious ({mal.id})", mal.id))
        if vul is not None:
            at = f"@{version}" if version else " (no version pinned; the latest may be affected)"
            about = f": {vul.summary[:80]}" if vul.summary else ""
            found.append(self._f("vulnerable", f"`{name}`{at} has a known vulnerability "
                                               f"({vul.id}{about})", vul.id))


_OSV_NAMES = {"pypi": "PyPI", "npm": "npm", "crates": "crates.io", "go": "Go"}

__all__ = ["Actions", "Checker"]
