"""Item calibration: marginal maximum likelihood by EM (Bock–Aitkin) with standard errors.

* :func:`calibrate`: estimate the parameters of a bank from a response matrix (any mix of ``rasch``, ``1pl``, ``2pl``,
  ``3pl``, ``4pl``, ``grm``, ``gpcm``, ``pcm``; missing responses allowed; frequency weights for pattern tables).
* :class:`CalibrationResult`: estimates, SEs, log-likelihood, AIC/BIC, convergence record
  (:meth:`digiskill.bank.ParameterSet.from_calibration` writes it as a parameter-set file).
* :class:`FixedItems`: items with given parameters, for anchors and start values.
* :class:`Priors`: item priors for MAP estimation (3PL/4PL asymptotes by default).
* :mod:`~digiskill.calibrate.fit`: item fit (S-X2, infit/outfit, Zh), person fit (lz) and model fit (M2).
* :mod:`~digiskill.calibrate.dif`: Mantel–Haenszel DIF with ETS classes, and the two-group IRT likelihood-ratio test
  :func:`lr_dif` (calibration data only, never scoring).
* :func:`estimate_latent_correlation` (:mod:`~digiskill.calibrate.latent`): the correlation matrix of the areas'
  abilities with the items fixed (EM with a quasi-Monte Carlo E-step).
* :mod:`~digiskill.calibrate.linking`: mean-mean, mean-sigma, Haebara and Stocking–Lord linking of item arrays
  (:mod:`digiskill.bank.linking` links parameter-set files).
"""

from importlib import import_module
from typing import Any

from ._data import ResponseData, collapse_patterns, prepare_responses
from ._models import MODELS, Priors
from .em import calibrate
from .fit import FitReport, fit_report, infit_outfit, item_zh, m2, person_fit_lz, s_x2
from .fixed import FixedItems
from .result import CalibrationResult

# DIF and linking need scipy.stats / scipy.optimize (about 0.5 s to import): loaded on first use, so that
# `digiskill calibrate` does not pay for them
_LAZY = {
    "mantel_haenszel_dif": "dif",
    "lr_dif": "dif",
    "LRDIFResult": "dif",
    "LinkingResult": "linking",
    "link_items": "linking",
    "estimate_latent_correlation": "latent",
    "LatentCorrelationResult": "latent",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODELS",
    "CalibrationResult",
    "FitReport",
    "FixedItems",
    "LRDIFResult",
    "LatentCorrelationResult",
    "LinkingResult",
    "Priors",
    "ResponseData",
    "calibrate",
    "collapse_patterns",
    "estimate_latent_correlation",
    "fit_report",
    "infit_outfit",
    "item_zh",
    "link_items",
    "lr_dif",
    "m2",
    "mantel_haenszel_dif",
    "person_fit_lz",
    "prepare_responses",
    "s_x2",
]
