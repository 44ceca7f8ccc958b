"""``digiskill cat``: adaptive-test commands (``next``: the stateless step; ``simulate``: the simulation harness)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..bank.loading import load_model_file
from ..bank.parameters import PARAMETER_BOUND, load_parameter_set
from ..cat.config import CatConfig
from ..cat.inputs import check_administered_areas, posthoc_responses, read_theta_file, step_config
from ..cat.stateless import next_step
from ..errors import InputError
from ..fileio import check_output_paths
from .common import fail_on_bad_input, progress_bar, stderr

cat_app = typer.Typer(help="Adaptive tests: the stateless next-item step and simulations.", no_args_is_help=True)


class RuleChoice(StrEnum):
    mfi = "mfi"
    kl = "kl"
    klp = "klp"
    mepv = "mepv"
    astrat = "astrat"
    cut_info = "cut_info"


class EstimatorChoice(StrEnum):
    eap = "eap"
    map = "map"
    ml = "ml"
    wle = "wle"


class PresetChoice(StrEnum):
    default = "default"
    catr = "catr"


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def _read_config(path: Path) -> CatConfig:
    """A CAT configuration (YAML for ``.yaml``/``.yml``, else JSON) through the one model-file loader."""
    return load_model_file(path, CatConfig, what="configuration")


@cat_app.command("next")
def next_cmd(
    params: Annotated[Path, typer.Option("--params", help="parameter-set JSON file")],
    administered: Annotated[str, typer.Option("--administered", help="item ids asked so far, comma-separated")] = "",
    responses: Annotated[str, typer.Option("--responses", help="the answers, comma-separated category codes")] = "",
    rule: Annotated[RuleChoice, typer.Option(help="selection rule")] = RuleChoice.mfi,
    estimator: Annotated[EstimatorChoice, typer.Option(help="ability estimator")] = EstimatorChoice.eap,
    preset: Annotated[
        PresetChoice, typer.Option(help="default: 61 points on [-6, 6]; catr: 33 points on [-4, 4], trapezoid")
    ] = PresetChoice.default,
    cut: Annotated[float | None, typer.Option("--cut", help="cut score (for --rule cut_info)")] = None,
    area: Annotated[list[str] | None, typer.Option("--area", help="restrict to this area (repeatable)")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="full CAT configuration (JSON or YAML); overrides the options")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of exposure-control draws (only with --config)")] = 0,
) -> None:
    """Print the estimate and the next item as JSON (theta, se, next_item: null when nothing is left).

    Without --config there is no stopping rule and nothing random. Exit status 2 on bad input.
    """
    try:
        items = _split(administered)
        codes = []
        for pos, tok in enumerate(_split(responses), start=1):
            try:
                codes.append(int(tok))
            except ValueError as err:
                raise InputError(f"--responses: value {pos} is {tok!r}, expected an integer category") from err
        if config is not None:
            cfg = _read_config(config)
        else:
            cfg = step_config(rule.value, estimator.value, catr=preset is PresetChoice.catr, cut=cut)
        param_set = load_parameter_set(params)
        check_administered_areas(param_set, items, area)
        result = next_step(param_set, items, codes, config=cfg, areas=area or None, seed=seed)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    typer.echo(result.model_dump_json(indent=2))


@cat_app.command("simulate")
def simulate_cmd(
    params: Annotated[Path, typer.Option("--params", help="parameter-set JSON file")],
    config: Annotated[Path | None, typer.Option("--config", help="CAT configuration (JSON or YAML)")] = None,
    n: Annotated[int, typer.Option("--n", min=2, max=10_000_000, help="number of simulees")] = 1000,
    seed: Annotated[int, typer.Option(help="seed of every draw")] = 0,
    theta_mean: Annotated[float, typer.Option(help="mean of the true θ distribution")] = 0.0,
    theta_sd: Annotated[float, typer.Option(min=0.0, help="SD of the true θ distribution")] = 1.0,
    responses: Annotated[
        Path | None, typer.Option("--responses", help="complete response CSV for a post-hoc simulation")
    ] = None,
    id_col: Annotated[str, typer.Option("--id-col", help="person-id column of --responses")] = "person",
    cut: Annotated[list[float] | None, typer.Option("--cut", help="cut score for classification accuracy")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="report file (default: standard output)")] = None,
    theta_file: Annotated[
        Path | None,
        typer.Option("--theta-file", help="CSV of true θ: a column 'theta' (all areas) or one column per area id"),
    ] = None,
) -> None:
    """Simulate complete adaptive tests and report bias, RMSE, test length, exposure and classification accuracy.

    With --responses the answers come from a complete matrix (one row per person, one column per bank item) and the
    report lists every person's test. Exit status 2 on bad input.
    """
    from ..bank.responses import read_responses
    from ..cat.simulate import simulate
    from ..fileio import atomic_write_text

    try:
        check_output_paths({"--out": out})
        numbers = [("--theta-mean", theta_mean), ("--theta-sd", theta_sd)] + [("--cut", c) for c in cut or []]
        for option, value in numbers:
            if not abs(value) <= PARAMETER_BOUND:  # NaN fails too
                raise InputError(f"{option}: expected a number between -{PARAMETER_BOUND:g} and {PARAMETER_BOUND:g}")
        cfg = _read_config(config) if config is not None else CatConfig()
        param_set = load_parameter_set(params)
        codes = person_ids = None
        if responses is not None:
            table = read_responses(responses, param_set, id_col=id_col)
            codes, person_ids = posthoc_responses(table, param_set), table.person_ids
        theta = read_theta_file(theta_file, param_set.areas) if theta_file is not None else None
        n_tests = (codes.shape[0] if codes is not None else theta.shape[0] if theta is not None else n) * len(
            param_set.areas
        )
        with progress_bar("simulating adaptive tests", n_tests) as advance:
            sim = simulate(
                param_set,
                cfg,
                n=n,
                seed=seed,
                theta_mean=theta_mean,
                theta_sd=theta_sd,
                theta=theta,
                responses=codes,
                person_ids=person_ids,
                cuts=cut or None,
                progress=advance,
            )
    except InputError as err:
        raise fail_on_bad_input(err) from err
    text = sim.report.model_dump_json(indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        stderr.print(f"wrote {out}", markup=False)
