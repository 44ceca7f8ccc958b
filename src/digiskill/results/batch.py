"""Assessment results for a batch of collected responses (``digiskill score --results``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from .. import ENGINE
from ..bank.default import Bank
from ..bank.responses import ResponseTable
from ..irt.estimation import Method
from ..irt.quadrature import Quadrature
from .models import AreaResult, AssessmentResult, area_results, bank_version
from .scoring import estimate_areas


def batch_results(
    table: ResponseTable, bank: Bank, method: Method = "eap", *, progress: Callable[[int], None] | None = None
) -> Iterator[AssessmentResult]:
    """One :class:`AssessmentResult` per person: θ and SE by ``method``, level probabilities from the posterior.

    Areas a person answered nothing in are left out of that person's result.
    """
    latent = bank.params.calibration.latent if bank.params.calibration else None
    quad = Quadrature.normal(mean=latent.mean, sd=latent.sd) if latent else Quadrature.normal()
    per_area: dict[str, list[AreaResult]] = {
        area: area_results(bank, area, codes, ids, est.theta, est.se, quad)
        for area, ids, codes, est in estimate_areas(table, bank.params, method, areas=bank.areas, progress=progress)
    }
    version = bank_version(bank)
    created = datetime.now(UTC).replace(microsecond=0)
    for n, person in enumerate(table.person_ids):
        areas = [rows[n] for rows in per_area.values() if rows[n].n_items > 0]
        yield AssessmentResult(
            result_id=str(uuid.uuid4()),
            person=person,
            mode="batch",
            created=created,
            engine=ENGINE,
            estimator=method,
            bank=version,
            areas=areas,
        )


def area_count(table: ResponseTable, bank: Bank) -> int:
    by_id = bank.params.items_by_id()
    return len({by_id[i].area for i in table.item_ids})


__all__ = ["area_count", "batch_results"]
