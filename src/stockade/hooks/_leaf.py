"""The policy package's pure leaf modules, without the package.

``stockade.config.paths`` (containment) and ``stockade.config.domains``
(``network.allow`` matching) are the one definition of those rules, and the
hooks must use them.  Importing them the ordinary way first runs
``stockade/config/__init__.py``, which imports the YAML loader: 50 ms or
more, longer than a whole hook call may take.  Both modules import nothing
from stockade, so they are loaded here from their files under a private
name.  When the package is already imported (the policy was just loaded,
or a test or the CLI imported it), the ordinary module is used.
"""

from __future__ import annotations

import _frozen_importlib as _bootstrap
import _frozen_importlib_external as _external
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

# Leaves only: a module that imports another part of stockade.config would
# run the package anyway, or worse, get a second copy of it.
_LEAVES = ("paths", "domains")
_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config")


def config_leaf(name: str) -> ModuleType:
    """``stockade.config.<name>`` for a leaf module (``paths`` or ``domains``)."""
    if name not in _LEAVES:
        raise ValueError(f"stockade.config.{name} is not a leaf module")
    full = "stockade.config." + name
    mod = sys.modules.get(full)
    if mod is not None:
        return mod
    if "stockade.config" in sys.modules:
        __import__(full)
        return sys.modules[full]
    private = "stockade.hooks._leaf." + name
    mod = sys.modules.get(private)
    if mod is not None:
        return mod
    spec = _external.spec_from_file_location(private, os.path.join(_DIR, name + ".py"))
    if spec is None or spec.loader is None:  # pragma: no cover - a broken install
        raise ImportError(f"cannot load {full}")
    mod = _bootstrap.module_from_spec(spec)
    # registered before it runs: dataclasses look their module up in sys.modules
    sys.modules[private] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[private]
        raise
    return mod


__all__ = ["config_leaf"]
