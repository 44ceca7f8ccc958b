"""digiskill: adaptive measurement of adults' digital skills.

Layers (each imports only the ones above it): :mod:`digiskill.irt` (item response math),
:mod:`digiskill.bank` (file schemas and loading), :mod:`digiskill.scoring` (batch scoring),
:mod:`digiskill.cli` (the ``digiskill`` command).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digiskill")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

ENGINE = f"digiskill {__version__}"

__all__ = ["ENGINE", "__version__"]
