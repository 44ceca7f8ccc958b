"""Item response theory core: pure numpy/scipy, no I/O.

* :mod:`~digiskill.irt.items`: a bank as a structure of arrays (:class:`ItemArrays`).
* :mod:`~digiskill.irt.response`: category probabilities, derivatives, information, expected scores.
* :mod:`~digiskill.irt.quadrature`: quadrature grids (:class:`Quadrature`).
* :mod:`~digiskill.irt.likelihood`: response coding and log-likelihood matrices.
* :mod:`~digiskill.irt.estimation`: EAP, MAP, ML, WLE and sum-score EAP.
* :mod:`~digiskill.irt.multidim`: between-item multidimensional MAP and QMC EAP under a correlated normal prior.
"""

from .estimation import (
    METHODS,
    STATUS_NAMES,
    AbilityEstimates,
    SumScoreTable,
    eap,
    estimate,
    log_posterior,
    map_estimate,
    ml_estimate,
    sum_score_eap,
    wle_estimate,
)
from .items import DICHOTOMOUS, GRADED, PARTIAL_CREDIT, ItemArrays
from .likelihood import MISSING, encode_responses, loglik_matrix
from .multidim import JointEstimate, LatentNormal, joint_eap, joint_eap_from_grid, joint_map
from .quadrature import Quadrature
from .response import (
    CategoryTerms,
    category_terms,
    expected_score,
    item_information,
    log_probability,
    probability,
    test_information,
)

__all__ = [
    "DICHOTOMOUS",
    "GRADED",
    "METHODS",
    "MISSING",
    "PARTIAL_CREDIT",
    "STATUS_NAMES",
    "AbilityEstimates",
    "CategoryTerms",
    "ItemArrays",
    "JointEstimate",
    "LatentNormal",
    "Quadrature",
    "SumScoreTable",
    "category_terms",
    "eap",
    "encode_responses",
    "estimate",
    "expected_score",
    "item_information",
    "joint_eap",
    "joint_eap_from_grid",
    "joint_map",
    "log_posterior",
    "log_probability",
    "loglik_matrix",
    "map_estimate",
    "ml_estimate",
    "probability",
    "sum_score_eap",
    "test_information",
    "wle_estimate",
]
