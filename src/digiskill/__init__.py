"""digiskill: adaptive measurement of adults' digital skills.

Layers (each imports only the ones above it; ``tests/test_layers.py`` checks): :mod:`digiskill.irt` (item response
math), :mod:`digiskill.calibrate` (estimation on arrays), :mod:`digiskill.bank` (file schemas and loading),
:mod:`digiskill.cat` (adaptive tests), :mod:`digiskill.results` (scoring, results, certificates),
:mod:`digiskill.service` (the HTTP service), :mod:`digiskill.cli` (the ``digiskill`` command); ``errors`` and
``fileio`` are the base.

``__version__`` and ``ENGINE`` are looked up from the installed package metadata on first use (importing
``importlib.metadata`` costs about 0.1 s, which every start of the command would otherwise pay).
"""

from __future__ import annotations

from functools import cache

__all__ = ["ENGINE", "__version__"]


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("digiskill")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    if name == "ENGINE":
        return f"digiskill {_version()}"
    raise AttributeError(f"module 'digiskill' has no attribute {name!r}")
