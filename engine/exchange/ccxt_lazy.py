"""ccxt.async_support with each exchange module imported on first use (ccxt's own package imports all ~100)."""

# `import ccxt.async_support` runs ccxt/__init__.py and ccxt/async_support/__init__.py, which import every sync and
# async exchange module: about 90 MB resident and 0.3 s, for a process that talks to five venues (ccxt/ccxt#29573).
# Here both packages are stand-ins that carry what those files export except the exchange classes (the version,
# the base Exchange classes, the errors, the precision helpers); an exchange class is imported when it is first
# read, so `getattr(ccxt, "okx")` and `ccxt.kraken` work as before. The modules underneath are ccxt's own.

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types

_lock = threading.Lock()


def _stand_in(name: str, directory: str) -> types.ModuleType:
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [directory]
    pkg = importlib.util.module_from_spec(spec)
    pkg.__path__ = [directory]

    def __getattr__(attr: str):
        if attr.startswith("_") or importlib.util.find_spec(f"{name}.{attr}") is None:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        cls = getattr(importlib.import_module(f"{name}.{attr}"), attr, None)
        if not isinstance(cls, type):
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        setattr(pkg, attr, cls)
        return cls

    pkg.__getattr__ = __getattr__
    return pkg


def _export_common(pkg: types.ModuleType) -> None:
    """What both of ccxt's package files export besides exchanges: the error classes and the precision helpers."""
    from ccxt.base import decimal_to_precision, errors

    pkg.errors = errors
    for name in errors.__all__:
        setattr(pkg, name, getattr(errors, name))
    for name in dir(decimal_to_precision):
        if name.isupper() or name == "decimal_to_precision":
            setattr(pkg, name, getattr(decimal_to_precision, name))


def _install() -> types.ModuleType:
    root = importlib.util.find_spec("ccxt")
    if root is None or not root.submodule_search_locations:
        raise ImportError("ccxt is not installed")
    directory = root.submodule_search_locations[0]
    top, aio = _stand_in("ccxt", directory), _stand_in("ccxt.async_support", f"{directory}/async_support")
    sys.modules["ccxt"], sys.modules["ccxt.async_support"] = top, aio
    top.async_support = aio
    try:
        _export_common(top)  # ccxt's websocket helpers, imported by the async base class, read these from `ccxt`
        from ccxt.base.exchange import Exchange, __version__
        from ccxt.base.precise import Precise

        top.Exchange, top.Precise, top.__version__ = Exchange, Precise, __version__
        _export_common(aio)
        from ccxt.async_support.base.exchange import Exchange as AsyncExchange

        aio.Exchange, aio.__version__ = AsyncExchange, __version__
    except BaseException:
        for name in [m for m in sys.modules if m == "ccxt" or m.startswith("ccxt.")]:
            del sys.modules[name]
        raise
    return aio


def load() -> types.ModuleType:
    """ccxt.async_support: the lazy one, or ccxt's own when something imported ccxt before us."""
    with _lock:
        if "ccxt" in sys.modules:
            return importlib.import_module("ccxt.async_support")
        return _install()


ccxt = load()
