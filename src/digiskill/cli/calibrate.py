"""``digiskill calibrate``: estimate item parameters from a response CSV and write a parameter-set file."""

from __future__ import annotations

import io
import re
import warnings
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..bank.calibration import parameter_set_of, read_item_models, with_item_fit
from ..bank.parameters import load_parameter_set
from ..bank.responses import read_responses
from ..calibrate import MODELS, calibrate
from ..calibrate.fit import fit_report
from ..calibrate.priors import parse_priors
from ..calibrate.report import calibration_report
from ..errors import ConvergenceWarning, DigiskillWarning, InputError, Problem
from ..fileio import check_output_paths, write_all
from .calibrate_groups import (
    LANGUAGE_COL,
    extra_columns,
    group_arguments,
    group_summary,
    translation_dif_section,
)
from .common import busy, fail_on_bad_input, stderr

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class SEChoice(StrEnum):
    oakes = "oakes"
    crossprod = "crossprod"
    sandwich = "sandwich"
    none = "none"


class FitChoice(StrEnum):
    none = "none"
    sx2 = "sx2"
    full = "full"


def calibrate_command(
    responses: Annotated[Path, typer.Argument(help="CSV: header of item ids, one row per person, empty = missing")],
    out: Annotated[Path, typer.Option("--out", help="parameter-set JSON file to write")],
    model: Annotated[str, typer.Option(help=f"model for every item: {', '.join(MODELS)}")] = "2pl",
    item_models: Annotated[
        Path | None, typer.Option("--item-models", help="CSV with columns item,model (one model per item)")
    ] = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="parameter-set JSON: response columns found in it keep its parameters (fixed-item calibration; "
            "the latent mean and SD are estimated)",
        ),
    ] = None,
    se: Annotated[SEChoice, typer.Option("--se", help="standard errors")] = SEChoice.oakes,
    id_col: Annotated[str, typer.Option("--id-col", help="person-id column (if present)")] = "person",
    group_col: Annotated[
        str | None,
        typer.Option(
            "--group-col",
            help="multiple-group calibration by this column: items common to all groups, the reference group "
            "N(0, 1), each other group's latent mean and SD estimated (no item fit then)",
        ),
    ] = None,
    reference_group: Annotated[
        str | None, typer.Option("--reference-group", help="reference group value (default: the first in order)")
    ] = None,
    area: Annotated[str | None, typer.Option("--area", help="competence area of every item")] = None,
    set_id: Annotated[str | None, typer.Option("--id", help="id of the parameter set (default: from --out)")] = None,
    provenance: Annotated[str | None, typer.Option(help="where the data come from, in plain words")] = None,
    provisional: Annotated[bool, typer.Option(help="mark the set provisional (not from real data)")] = False,
    max_iter: Annotated[int, typer.Option("--max-iter", help="most EM cycles", min=1)] = 500,
    tol: Annotated[float, typer.Option(help="convergence tolerance on the largest parameter change")] = 1e-4,
    report: Annotated[Path | None, typer.Option("--report", help="write a Markdown calibration report")] = None,
    fit_level: Annotated[
        FitChoice | None,
        typer.Option(
            "--fit",
            help="fit statistics in the file and report: sx2 (item fit S-X2; the default), full (also infit/outfit, "
            "Zh and M2; the default with --report) or none",
        ),
    ] = None,
    no_fit: Annotated[bool, typer.Option("--no-fit", help="same as --fit none", hidden=True)] = False,
    multidimensional: Annotated[
        bool,
        typer.Option(
            "--multidimensional",
            help="estimate the correlation matrix of the areas (calibration.latent.correlation) with every item fixed "
            "at its parameters in --anchors (second stage only: items are not estimated jointly); the response file "
            "has items of several areas, and the --anchors set is written with the correlation added",
        ),
    ] = False,
    prior_slope: Annotated[
        str | None,
        typer.Option(
            "--prior-slope",
            metavar="MU,SD",
            help="LogNormal(MU, SD) prior (MU, SD of log a) on every free slope (2PL, 3PL, 4PL, GRM, GPCM), "
            "replacing the default LogNormal(0, 0.5) on 3PL/4PL slopes; 'none' removes every slope prior",
            rich_help_panel="Priors (MAP estimation)",
        ),
    ] = None,
    prior_difficulty: Annotated[
        str | None,
        typer.Option(
            "--prior-difficulty",
            metavar="MU,SD",
            help="Normal(MU, SD) prior on every estimated difficulty b = -d/a (GRM thresholds, GPCM/PCM steps); "
            "default none. Pair it with --prior-slope in small samples",
            rich_help_panel="Priors (MAP estimation)",
        ),
    ] = None,
    prior_intercept: Annotated[
        str | None,
        typer.Option(
            "--prior-intercept",
            metavar="MU,SD",
            help="Normal(MU, SD) prior on every estimated intercept d (slope-intercept form); default none",
            rich_help_panel="Priors (MAP estimation)",
        ),
    ] = None,
    prior_guessing: Annotated[
        str | None,
        typer.Option(
            "--prior-guessing",
            metavar="ALPHA,BETA",
            help="Beta(ALPHA, BETA) prior on the 3PL/4PL lower asymptote, ALPHA, BETA >= 1; default 5,17 (mode 0.2); "
            "'none' switches it off",
            rich_help_panel="Priors (MAP estimation)",
        ),
    ] = None,
    prior_slipping: Annotated[
        str | None,
        typer.Option(
            "--prior-slipping",
            metavar="ALPHA,BETA",
            help="Beta(ALPHA, BETA) prior on the 4PL upper asymptote, ALPHA, BETA >= 1; default 17,5 (mode 0.8); "
            "'none' switches it off",
            rich_help_panel="Priors (MAP estimation)",
        ),
    ] = None,
) -> None:
    """Calibrate item parameters by marginal maximum likelihood (EM, 61 points on [-6, 6]) and write PARAMS.json.

    With --anchors, the items of the CSV that are in that parameter set are anchors: their parameters are kept and
    written unchanged, the other items are estimated on the anchors' scale, and calibration.latent records the
    estimated mean and SD of this sample (fixed-item parameter calibration with prior updating, Kim 2006).

    Item priors (MAP): by default Beta(5, 17) on 3PL/4PL lower asymptotes, Beta(17, 5) on 4PL upper asymptotes and
    LogNormal(0, 0.5) on 3PL/4PL slopes; 2PL, GRM and GPCM are maximum likelihood. The --prior-* options set a prior
    (two numbers separated by a comma) or switch one off ('none'); the report lists the priors used.

    With --multidimensional (and --anchors), the correlation matrix of the areas is estimated, by EM with a
    quasi-Monte Carlo E-step, every item fixed at its --anchors parameters (the areas' means and SDs on those
    metrics are estimated with it and shown, not stored; see digiskill.calibrate.latent); a pair of areas that no
    person answered together is refused.

    Exit status 2 on bad input (unknown model, constant item, an unused category, a malformed CSV, a malformed
    --prior-* value; anchors of which no item is in the CSV, or a code beyond an anchor's categories), with every
    problem listed; nothing is written then.
    """
    if multidimensional:
        unused = {"--item-models": item_models, "--group-col": group_col, "--report": report, "--area": area}
        _latent_command(responses, out, anchors, id_col, set_id, max_iter, tol, unused)
        return
    try:
        _check_options(tol, out, report, with_plots=True)
        priors = parse_priors(
            {
                "--prior-slope": prior_slope,
                "--prior-difficulty": prior_difficulty,
                "--prior-intercept": prior_intercept,
                "--prior-guessing": prior_guessing,
                "--prior-slipping": prior_slipping,
            }
        )
        table = read_responses(responses, None, id_col=id_col, extra_cols=extra_columns(responses, group_col))
        by_group = group_arguments(table, group_col, reference_group)
        anchor_set = load_parameter_set(anchors) if anchors is not None else None
        if anchor_set is not None and not set(anchor_set.item_ids) & set(table.item_ids):
            raise InputError(
                Problem(
                    f"none of the {len(table.item_ids)} items of {responses.name} is in the anchor set "
                    f"({len(anchor_set.items)} items); anchors are matched by item id",
                    path=str(anchors),
                )
            )
        optional = frozenset(anchor_set.item_ids) if anchor_set is not None else frozenset()
        models = read_item_models(item_models, table.item_ids, optional) if item_models else model.lower()
        if isinstance(models, str) and models not in MODELS:
            raise InputError(Problem(f"unknown model {model!r}; expected one of {', '.join(MODELS)}"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DigiskillWarning)
            with busy(f"calibrating {len(table.item_ids)} items, {table.n_persons} persons"):
                result = calibrate(
                    table.codes,
                    models,
                    item_ids=table.item_ids,
                    se=se.value,
                    max_iter=max_iter,
                    tol=tol,
                    anchors=None if anchor_set is None else anchor_set.as_fixed_items(),
                    priors=priors,
                    **by_group,
                )
            level = FitChoice.none if no_fit or by_group else fit_level or (FitChoice.full if report else FitChoice.sx2)
            fit = None if level is FitChoice.none else fit_report(result, table.codes, statistics=level.value)
        sid = set_id or re.sub(r"[^A-Za-z0-9._-]+", "-", out.stem)
        params = parameter_set_of(result, sid, provenance, area, responses, provisional)
        if fit is not None:
            params = with_item_fit(params, fit)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    for w in caught:
        kind = "convergence" if issubclass(w.category, ConvergenceWarning) else "warning"
        stderr.print(f"[yellow]{kind}:[/] {w.message}", markup=True)
    files: dict[Path, str | bytes] = {out: params.dump_json() + "\n"}
    if report is not None:
        rep = calibration_report(
            result,
            title=f"Calibration of {responses.name}",
            plots=True,
            plot_stem=report.stem,
            fit=fit,
            priors=priors,
        )
        files[report] = rep.text + (translation_dif_section(table, models) if LANGUAGE_COL in table.extra else "")
        files |= {report.parent / name: png_bytes(fig) for name, fig in rep.figures.items()}
    write_all(files)  # the parameter file, the report and its plots: all or none
    stderr.print(result.summary().splitlines()[1], markup=False)
    if by_group:
        stderr.print(group_summary(result), markup=False)
    stderr.print(f"wrote {out}" + (f" and {report}" if report else ""), markup=False)


def _latent_command(
    responses: Path,
    out: Path,
    anchors: Path | None,
    id_col: str,
    set_id: str | None,
    max_iter: int,
    tol: float,
    unused: dict[str, object],
) -> None:
    """``calibrate --multidimensional``: the latent correlation of the areas with the items fixed at ``anchors``."""
    from ..calibrate.latent import estimate_latent_correlation

    try:
        _check_options(tol, out, None, with_plots=False)
        given = [name for name, value in unused.items() if value is not None]
        if given:
            raise InputError(Problem(f"{', '.join(given)} cannot be used with --multidimensional"))
        if anchors is None:
            raise InputError(
                Problem("--multidimensional needs --anchors PARAMS.json: the items are fixed at its parameters")
            )
        anchor_set = load_parameter_set(anchors)
        table = read_responses(responses, anchor_set, id_col=id_col)
        by_id = anchor_set.items_by_id()
        no_area = [i for i in table.item_ids if by_id[i].area is None]
        if no_area:
            raise InputError(
                [Problem("the item has no area in the --anchors set", path=str(anchors), item_id=i) for i in no_area]
            )
        areas = list(dict.fromkeys(by_id[i].area for i in table.item_ids))
        if len(areas) < 2:
            raise InputError(
                Problem(f"the items of {responses.name} are of one area only ({areas[0]}); a correlation needs two")
            )
        columns = {a: [n for n, i in enumerate(table.item_ids) if by_id[i].area == a] for a in areas}
        with busy(f"estimating the correlation of {len(areas)} areas, {table.n_persons} persons"):
            result = estimate_latent_correlation(
                [table.codes[:, columns[a]] for a in areas],
                [anchor_set.to_arrays([table.item_ids[n] for n in columns[a]]) for a in areas],
                areas,
                tol=tol,
                max_iter=max_iter,
            )
        params = anchor_set.with_latent_correlation(areas, result.correlation, set_id)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if not result.converged:
        stderr.print(f"[yellow]convergence:[/] no convergence in {result.iterations} EM cycles", markup=True)
    write_all({out: params.dump_json() + "\n"})
    stderr.print(result.summary(), markup=False)
    stderr.print(f"wrote {out}", markup=False)


def _check_options(tol: float, out: Path, report: Path | None, *, with_plots: bool) -> None:
    """Options and output paths, checked before the responses are read."""
    if not 0 < tol < float("inf"):
        raise InputError(Problem(f"--tol: the convergence tolerance must be a finite number > 0, got {tol!r}"))
    paths: dict[str, Path | None] = {"--out": out, "--report": report}
    if report is not None and with_plots:
        paths["--report (ICC plot)"] = report.parent / f"{report.stem}-icc.png"
        paths["--report (information plot)"] = report.parent / f"{report.stem}-information.png"
    check_output_paths(paths)


def png_bytes(fig: Figure) -> bytes:
    """A figure as PNG (120 dpi)."""
    buf = io.BytesIO()
    fig.savefig(buf, dpi=120, format="png")
    return buf.getvalue()
