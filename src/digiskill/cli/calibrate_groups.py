"""Groups in ``digiskill calibrate``: ``--group-col`` (multiple-group calibration) and translation DIF in the report.

A response CSV may carry a grouping column beside the items. With ``--group-col COL`` the calibration is a
multiple-group one (:func:`~digiskill.calibrate.calibrate` with ``groups``): item parameters common to every group,
the reference group's latent distribution N(0, 1), every other group's mean and SD estimated. A column named
``language`` (the language the test was taken in) is never an item; when it is present and ``--report`` is asked
for, the report gets a section with the likelihood-ratio DIF test (:func:`~digiskill.calibrate.dif.lr_dif`) of every
2PL/GRM item between the languages, so that an item whose Danish and English versions do not measure the same is
found after the pilot.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bank.responses import ResponseTable
from ..errors import InputError, Problem

if TYPE_CHECKING:
    from ..calibrate.result import CalibrationResult

LANGUAGE_COL = "language"
#: the reference language of the translation DIF test when present (the bank is written in Danish first)
REFERENCE_LANGUAGE = "da"


def extra_columns(path: Path, group_col: str | None) -> list[str]:
    """The non-item columns to read: ``group_col`` (if given) and ``language`` when the header has it."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
    except OSError:
        header = []  # read_responses reports the unreadable file
    cols = [group_col] if group_col else []
    return cols + ([LANGUAGE_COL] if LANGUAGE_COL in header and LANGUAGE_COL not in cols else [])


def group_arguments(table: ResponseTable, group_col: str | None, reference_group: str | None) -> dict[str, Any]:
    """``groups``/``reference_group`` for :func:`~digiskill.calibrate.calibrate` (empty without ``--group-col``).

    Raises:
        InputError: a person without a group value, or a reference group nobody belongs to.
    """
    if group_col is None:
        if reference_group is not None:
            raise InputError(Problem("--reference-group needs --group-col"))
        return {}
    labels = np.asarray(table.extra[group_col], dtype=object)
    empty = np.flatnonzero(labels == "")
    if empty.size:
        rows = ", ".join(str(table.person_ids[i]) for i in empty[:5])
        raise InputError(
            Problem(f"{empty.size} person(s) without a value in group column {group_col!r} (persons {rows}…)")
        )
    found = sorted(set(labels.tolist()))
    if reference_group is not None and reference_group not in found:
        raise InputError(
            Problem(f"reference group {reference_group!r} is not in column {group_col!r} ({', '.join(found)})")
        )
    return {"groups": labels, "reference_group": reference_group if reference_group is not None else found[0]}


def translation_dif_section(table: ResponseTable, models: str | Sequence[str], *, alpha: float = 0.05) -> str:
    """A Markdown section: the LR DIF test of every 2PL/GRM item between the test languages of ``table``.

    The reference language is Danish when present (else the first in sorted order); with more than two languages
    each other language is tested against it. A test that cannot run (too few persons in a language, say) is
    reported with its reason instead of failing the calibration.
    """
    from ..calibrate.dif import lr_dif

    labels = np.asarray(table.extra[LANGUAGE_COL], dtype=object)
    languages = sorted({str(v) for v in labels.tolist() if v != ""})
    lines = ["", "## Translation DIF (likelihood ratio, by test language)", ""]
    if len(languages) < 2:
        lines.append(f"Only one test language in column `{LANGUAGE_COL}` ({', '.join(languages) or 'none'}): no test.")
        return "\n".join(lines) + "\n"
    reference = REFERENCE_LANGUAGE if REFERENCE_LANGUAGE in languages else languages[0]
    lines.append(
        f"Each 2PL/GRM item is tested for differential functioning between the languages of column `{LANGUAGE_COL}` "
        f"(reference `{reference}`): both groups calibrated together with all other items common, G² = 2 (ll_M1 − "
        f"ll_M0), flagged when the Benjamini–Hochberg adjusted p < {alpha}. A flagged item's translation should be "
        "reviewed."
    )
    for focal in [lang for lang in languages if lang != reference]:
        lines += ["", f"### {focal} against {reference}", ""]
        try:
            res = lr_dif(table.codes, labels, focal, reference, models=models, item_ids=table.item_ids, alpha=alpha)
        except InputError as err:
            lines.append("Not tested: " + "; ".join(p.message for p in err.problems))
            continue
        lines.append(
            f"Persons: {res.n_reference} ({reference}), {res.n_focal} ({focal}); focal latent mean "
            f"{res.focal_mean:.3f}, SD {res.focal_sd:.3f}. Flagged: "
            + (", ".join(i for i, f in zip(res.item_ids, res.flag, strict=True) if f) or "none")
            + "."
        )
        lines += ["", "| item | G² | df | p | adjusted p | flag |", "| --- | ---: | ---: | ---: | ---: | --- |"]
        for j, item in enumerate(res.item_ids):
            if not res.tested[j]:
                lines.append(f"| {item} | | | | | not tested: {res.reason[j]} |")
                continue
            lines.append(
                f"| {item} | {res.g2[j]:.2f} | {int(res.df[j])} | {res.p[j]:.4f} | {res.p_adjusted[j]:.4f} | "
                f"{'DIF' if res.flag[j] else ''} |"
            )
    return "\n".join(lines) + "\n"


def group_summary(result: CalibrationResult) -> str:
    """One line: each group's latent N(mean, SD²) with SEs, the reference group first."""
    assert result.group_latent_mean is not None and result.group_latent_sd is not None
    parts = []
    for g, label in enumerate(result.group_labels):
        mean, sd = result.group_latent_mean[g], result.group_latent_sd[g]
        if g == 0:
            parts.append(f"{label} N(0, 1) (reference)")
            continue
        se_mean = result.se_group_latent_mean[g] if result.se_group_latent_mean is not None else np.nan
        parts.append(f"{label} mean {mean:.3f} (SE {se_mean:.3f}), SD {sd:.3f}")
    return "groups: " + "; ".join(parts)
