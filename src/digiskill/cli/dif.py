"""``digiskill dif``: Mantel–Haenszel / standardization DIF by a grouping column, with the ETS classes, or
(``--method lr``) the IRT likelihood-ratio test for 2PL and GRM items with all other items as anchors.

The group column is read with the responses, as an extra column of :func:`digiskill.bank.responses.read_responses`, for
the DIF analysis only; it never reaches scoring.
"""

from __future__ import annotations

import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..bank.parameters import load_parameter_set
from ..bank.responses import read_responses
from ..calibrate.dif import DEFAULT_MIN_GROUP, DIFResult, LRDIFResult, lr_dif, mantel_haenszel_dif
from ..errors import InputError
from ..fileio import check_output_paths, write_all
from .common import fail_on_bad_input, stderr

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
    "a_common",
    "b_common",
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
        int, typer.Option("--min-group", help="fewest persons with complete responses per group", min=1)
    ] = DEFAULT_MIN_GROUP,
    out: Annotated[Path | None, typer.Option("--out", help="CSV to write (default: standard output)")] = None,
) -> None:
    """Differential item functioning between a focal and a reference group (Mantel-Haenszel with the ETS A/B/C
    classes for 0/1 items; Mantel's test and SMD with AA/BB/CC for polytomous items), or with ``--method lr`` the
    two-group IRT likelihood-ratio test of each 2PL/GRM item: both groups calibrated together (the focal group's
    latent mean and SD estimated, so a difference in ability is not taken for DIF), the studied item free in each
    group against all other items common to both as anchors (G2, df, p, Benjamini-Hochberg flag at --alpha).

    Group data is used for this fairness check only, never in scoring. Persons with a missing response or an empty
    group value are left out. Exit status 2 on bad input (unknown group value, too few persons in a group, an item
    not in the parameter set, a malformed CSV), with every problem listed; nothing is written then.
    """
    try:
        check_output_paths({"--out": out})
        if not 0 < alpha < 1:
            raise InputError(f"--alpha: the significance level must lie between 0 and 1, got {alpha!r}")
        ps = load_parameter_set(params)
        table = read_responses(responses, ps, id_col=id_col, extra_cols=[group_col])
        item_ids, groups, codes = table.item_ids, table.extra[group_col], table.codes
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
    buf = io.StringIO()
    write_dif_csv(result, buf)
    if out is None:
        sys.stdout.write(buf.getvalue())
    else:
        write_all({out: buf.getvalue()})
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
