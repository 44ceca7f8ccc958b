"""Assessment results for a batch of collected responses (``digiskill score --results``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from .. import ENGINE
from ..bank.default import Bank
from ..irt.estimation import Method, estimate
from ..irt.quadrature import Quadrature
from ..scoring import ResponseTable
from .models import AreaResult, AssessmentResult, area_results, bank_version


def batch_results(
    table: ResponseTable, bank: Bank, method: Method = "eap", *, progress: Callable[[int], None] | None = None
) -> Iterator[AssessmentResult]:
    """One :class:`AssessmentResult` per person: θ and SE by ``method``, level probabilities from the posterior.

    Areas a person answered nothing in are left out of that person's result.
    """
    by_id = bank.params.items_by_id()
    latent = bank.params.calibration.latent if bank.params.calibration else None
    mean, sd = (latent.mean, latent.sd) if latent else (0.0, 1.0)
    quad = Quadrature.normal(mean=mean, sd=sd)
    per_area: dict[str, list[AreaResult]] = {}
    for area in bank.areas:
        cols = [c for c, i in enumerate(table.item_ids) if by_id[i].area == area]
        if not cols:
            continue
        ids = [table.item_ids[c] for c in cols]
        codes = table.codes[:, cols]
        est = estimate(codes, bank.params.to_arrays(ids), method, prior_mean=mean, prior_sd=sd)
        per_area[area] = area_results(bank, area, codes, ids, est.theta, est.se, quad)
        if progress is not None:
            progress(table.n_persons)
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
