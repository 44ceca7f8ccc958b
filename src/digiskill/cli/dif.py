"""``digiskill dif``: Mantel–Haenszel / standardization DIF by a grouping column, with the ETS classes, or
(``--method lr``) the IRT likelihood-ratio test for 2PL and GRM items with all other items as anchors.

The group column is read here, for the DIF analysis only; it never reaches scoring.
"""

from __future__ import annotations

import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..bank.parameters import ParameterSet, load_parameter_set
from ..calibrate.dif import DEFAULT_MIN_GROUP, DIFResult, LRDIFResult, lr_dif, mantel_haenszel_dif
from ..errors import InputError, Problem
from ..fileio import atomic_writer
from ..scoring import MISSING_TOKENS
from .common import fail_on_bad_input, stderr

MAX_PROBLEMS = 200
COLUMNS = (
    "item",
    "kind",
    "n_reference",
    "n_focal",
    "n_strata",
    "alpha_mh",
    "delta_mh",
    "se_delta_mh",
    "mh_chi2",
    "mh_p",
    "p_abs_delta_gt_1",
    "mantel_chi2",
    "mantel_p",
    "smd",
    "smd_effect",
    "ets_class",
    "favours",
)
LR_COLUMNS = (
    "item",
    "model",
    "tested",
    "reason",
    "n_reference",
    "n_focal",
    "g2",
    "df",
    "p",
    "p_bh",
    "flag",
    "a_reference",
    "a_focal",
    "b_reference",
    "b_focal",
    "focal_mean",
    "focal_sd",
    "converged",
)


class MatchingChoice(StrEnum):
    total = "total"
    rest = "rest"


class MethodChoice(StrEnum):
    mh = "mh"
    lr = "lr"


def read_grouped_responses(
    path: Path, params: ParameterSet, group_col: str, id_col: str | None
) -> tuple[list[str], list[str], np.ndarray]:
    """Item ids, group labels (``""`` = unknown) and integer codes (−1 = missing) from a response CSV with a group
    column. Every problem is collected (file, line, column) before anything is computed.

    Raises:
        InputError: no such group column, an item not in ``params``, malformed rows, or a response that is not one
            of the item's categories.
    """
    name = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = csv.reader(fh)
            header_row = next((r for r in rows if any(c.strip() for c in r)), None)
            if header_row is None:
                raise InputError(Problem("the file is empty: expected a header and one row per person", path=name))
            header = [h.strip() for h in header_row]
            header_line = rows.line_num
            if group_col not in header:
                raise InputError(
                    Problem(
                        f"no group column {group_col!r}; the header has {', '.join(header)}",
                        path=name,
                        line=header_line,
                    )
                )
            g_idx = header.index(group_col)
            id_idx = header.index(id_col) if id_col is not None and id_col in header else None
            item_cols = [c for c in range(len(header)) if c not in (g_idx, id_idx)]
            item_ids = [header[c] for c in item_cols]
            known = params.items_by_id()
            problems = [
                Problem(f"unknown item id: not in parameter set {params.id!r}", name, header_line, column=header[c])
                for c in item_cols
                if header[c] not in known
            ]
            if not item_cols:
                problems.append(Problem("no item columns in the header", name, header_line))
            if len(set(header)) != len(header):
                problems.append(Problem("duplicate column names in the header", name, header_line))
            if problems:
                raise InputError(problems)
            n_cat = params.to_arrays(item_ids).n_cat
            groups: list[str] = []
            cells: list[list[str]] = []
            lines: list[int] = []
            for r in rows:
                if not any(c.strip() for c in r):
                    continue
                if len(r) != len(header):
                    problems.append(
                        Problem(f"{len(r)} fields, expected {len(header)} as in the header", name, rows.line_num)
                    )
                    if len(problems) >= MAX_PROBLEMS:
                        break
                    continue
                groups.append(r[g_idx].strip())
                cells.append([r[c] for c in item_cols])
                lines.append(rows.line_num)
    except OSError as err:
        raise InputError(Problem(f"cannot read response file: {err.strerror}", path=name)) from err
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(Problem(f"not a readable UTF-8 CSV file: {err}", path=name)) from err
    if not cells and not problems:
        problems.append(Problem("no data rows: the file has a header only", path=name))
    codes = _parse_codes(cells, lines, item_ids, n_cat, name, problems) if cells else np.empty((0, len(item_ids)))
    if problems:
        raise InputError(problems)
    return item_ids, groups, codes.astype(np.int16)


def _parse_codes(
    cells: list[list[str]], lines: list[int], item_ids: list[str], n_cat: np.ndarray, name: str, problems: list[Problem]
) -> np.ndarray:
    """Integer codes from the cells, parsing each distinct token once; bad cells are listed as problems."""
    tokens, inverse = np.unique(np.char.strip(np.array(cells, dtype=str)), return_inverse=True)
    inverse = inverse.reshape(len(cells), len(item_ids))
    values = np.full(tokens.size, -1, dtype=np.int64)
    parsed = np.zeros(tokens.size, dtype=bool)
    bad_token = np.zeros(tokens.size, dtype=bool)
    for t, tok in enumerate(tokens):  # distinct tokens, not cells
        if tok in MISSING_TOKENS:
            continue
        try:
            values[t], parsed[t] = int(tok), True
        except ValueError:
            bad_token[t] = True
    codes = values[inverse]
    bad = bad_token[inverse] | (parsed[inverse] & ((codes < 0) | (codes >= n_cat)))
    for row, col in np.argwhere(bad)[: max(MAX_PROBLEMS - len(problems), 0)]:
        tok = str(tokens[inverse[row, col]])
        problems.append(
            Problem(
                f"value {tok!r} is not a category of this item: expected 0..{n_cat[col] - 1} or an empty cell",
                name,
                lines[row],
                column=item_ids[col],
            )
        )
    return np.where(bad, -1, codes)


def write_dif_csv(result: DIFResult | LRDIFResult, fh: io.TextIOBase) -> None:
    columns = LR_COLUMNS if isinstance(result, LRDIFResult) else COLUMNS
    writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in result.to_rows():
        writer.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in row.items()})


def dif_command(
    responses: Annotated[Path, typer.Argument(help="CSV: person id, group column and item columns (0..K-1)")],
    params: Annotated[Path, typer.Option("--params", help="parameter-set JSON file of the items")],
    group_col: Annotated[str, typer.Option("--group-col", help="column holding each person's group")],
    focal: Annotated[str, typer.Option("--focal", help="value of the group column for the focal group")],
    reference: Annotated[
        str | None, typer.Option("--reference", help="reference group value (default: every other value)")
    ] = None,
    id_col: Annotated[str, typer.Option("--id-col", help="person-id column (if present)")] = "person",
    method: Annotated[
        MethodChoice,
        typer.Option(
            "--method",
            help="mh: Mantel-Haenszel with ETS classes; lr: IRT likelihood ratio for 2PL/GRM items (models from "
            "--params, parameters re-estimated from the data; --matching/--purify do not apply)",
        ),
    ] = MethodChoice.mh,
    matching: Annotated[
        MatchingChoice, typer.Option(help="match on the total score (ETS; includes the item) or the rest score")
    ] = MatchingChoice.total,
    purify: Annotated[bool, typer.Option(help="two-stage criterion refinement (drop C items from matching)")] = False,
    alpha: Annotated[
        float, typer.Option(help="significance level of the ETS rules (lr: Benjamini-Hochberg false-discovery rate)")
    ] = 0.05,
    min_group: Annotated[
        int, typer.Option("--min-group", help="fewest persons with complete responses per group")
    ] = DEFAULT_MIN_GROUP,
    out: Annotated[Path | None, typer.Option("--out", help="CSV to write (default: standard output)")] = None,
) -> None:
    """Differential item functioning between a focal and a reference group (Mantel-Haenszel with the ETS A/B/C
    classes for 0/1 items; Mantel's test and SMD with AA/BB/CC for polytomous items), or with ``--method lr`` the
    IRT likelihood-ratio test of each 2PL/GRM item with all other items anchored at the reference group's estimates
    (G2, df, p, Benjamini-Hochberg flag; the reference estimates are treated as known, which is anti-conservative
    unless the reference group is much larger than the focal group).

    Group data is used for this fairness check only, never in scoring. Persons with a missing response or an empty
    group value are left out. Exit status 2 on bad input (unknown group value, too few persons in a group, an item
    not in the parameter set, a malformed CSV), with every problem listed; nothing is written then.
    """
    try:
        ps = load_parameter_set(params)
        item_ids, groups, codes = read_grouped_responses(responses, ps, group_col, id_col)
        result: DIFResult | LRDIFResult
        if method is MethodChoice.lr:
            by_id = ps.items_by_id()
            result = lr_dif(
                codes,
                groups,
                focal,
                reference,
                models=[by_id[i].model for i in item_ids],
                item_ids=item_ids,
                alpha=alpha,
                min_group_size=min_group,
            )
        else:
            result = mantel_haenszel_dif(
                codes,
                groups,
                focal,
                reference=reference,
                item_ids=item_ids,
                items=ps.to_arrays(item_ids),
                matching=matching.value,
                purify=purify,
                alpha=alpha,
                min_group_size=min_group,
            )
    except InputError as err:
        raise fail_on_bad_input(err) from err
    except ValueError as err:  # a bad option value (alpha outside (0, 1))
        raise fail_on_bad_input(InputError(str(err))) from err
    if out is None:
        write_dif_csv(result, sys.stdout)
    else:
        with atomic_writer(out, newline="") as fh:
            write_dif_csv(result, fh)
    stderr.print(result.summary().splitlines()[0], markup=False)
    stderr.print(result.summary().splitlines()[1], markup=False)
    if isinstance(result, LRDIFResult):
        skipped = [i for i, t in zip(result.item_ids, result.tested, strict=True) if not t]
        stderr.print(
            f"flagged (Benjamini-Hochberg at {result.alpha:g}): {', '.join(result.flagged()) or 'none'}; "
            f"not tested: {', '.join(skipped) or 'none'}",
            markup=False,
        )
        if out is not None:
            stderr.print(f"wrote {out}", markup=False)
        return
    worst = result.flagged("C")
    moderate = [i for i in result.flagged("B") if i not in worst]
    stderr.print(
        f"C/CC (large): {', '.join(worst) or 'none'}; B/BB (moderate): {', '.join(moderate) or 'none'}", markup=False
    )
    if out is not None:
        stderr.print(f"wrote {out}", markup=False)
