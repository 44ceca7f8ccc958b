"""A readable calibration report (Markdown): convergence, fit, parameters with SEs, flags and test information.

Plots of item characteristic curves and the test information function are drawn with matplotlib when it is
installed (``pip install 'digiskill[plots]'``), as :class:`matplotlib.figure.Figure` objects (no pyplot, no backend
switch); the caller writes them beside the report (``digiskill calibrate --report``). Without matplotlib the report
says so and keeps the information table. Nothing here writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..irt.response import expected_score, item_information, test_information
from ._models import Priors
from .fit import FitReport
from .flags import item_flags
from .result import CalibrationResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, eq=False)
class CalibrationReport:
    """The report's Markdown ``text`` and its ``figures`` by file name (``<stem>-icc.png``,
    ``<stem>-information.png``; empty without plots), which the text links to."""

    text: str
    figures: dict[str, Figure] = field(default_factory=dict)


def prior_summary(result: CalibrationResult, priors: Priors) -> str:
    """One line naming each prior of ``priors`` that acted on an estimated parameter of ``result``, and on how many
    items (read from the free-parameter names, so anchors and models without that parameter do not count)."""
    free = set(result.parameter_names)
    ids = result.params.ids

    def items(*names: str, also: tuple[str, ...] = ()) -> list[str]:
        """Ids of the items with a free parameter in ``names`` (and, when given, also one in ``also``)."""
        hit = [i for i in ids if any(f"{i}.{n}" in free for n in names)]
        return [i for i in hit if any(f"{i}.{n}" in free for n in also)] if also else hit

    def num(v: float) -> str:
        return f"{v:g}"

    intercepts = ("d", "d1")  # every item with a free intercept has one of these
    parts: list[str] = []
    candidates = [
        (priors.guessing, "Beta", "lower asymptote c", items("logit_c"), ""),
        (priors.slipping, "Beta", "upper asymptote", items("logit_u"), ""),
        (priors.slope, "LogNormal", "slope a", items("a"), ""),
        (priors.intercept, "Normal", "intercepts d", items(*intercepts), ""),
        (priors.difficulty, "Normal", "difficulties b", items(*intercepts), ""),
    ]
    if priors.slope is None:
        candidates.insert(
            2, (priors.asymptote_slope, "LogNormal", "slope a", items("a", also=("logit_c", "logit_u")), " (3PL/4PL)")
        )
    if priors.difficulty is not None and "1pl.a" in free:
        candidates[-1] = (*candidates[-1][:4], " (through the common 1PL slope too)")
    for prior, dist, what, hit, note in candidates:
        if prior is None or not hit:
            continue
        parts.append(f"{dist}({num(prior[0])}, {num(prior[1])}) on the {what} of {len(hit)} item(s){note}")
    if not parts:
        return "- item priors: none (maximum likelihood)"
    return f"- item priors (MAP; log prior {result.log_prior:.4f} at the estimates): " + "; ".join(parts)


def calibration_report(
    result: CalibrationResult,
    *,
    title: str = "Calibration report",
    plots: bool = False,
    plot_stem: str = "calibration",
    fit: FitReport | None = None,
    priors: Priors | None = None,
) -> CalibrationReport:
    """The report as Markdown text; with ``plots`` also the figures (``<plot_stem>-icc.png``,
    ``<plot_stem>-information.png``) when matplotlib is available, linked from the text by those file names.

    With ``priors`` (those passed to :func:`~digiskill.calibrate.calibrate`, ``Priors()`` for its default) the report
    lists the priors that acted on the estimates; without, it does not mention priors (the result does not record
    them)."""
    p = result.params
    out = [f"# {title}", ""]
    out += [
        "## Convergence and fit",
        "",
        f"- model: {result.model_name}; {p.n_items} items; {result.n_persons:g} persons; "
        f"{result.n_parameters} free parameters",
        f"- log-likelihood {result.loglik:.4f}; AIC {result.aic:.3f}; BIC {result.bic:.3f}",
        f"- EM cycles {result.iterations}; {'converged' if result.converged else '**not converged**'} "
        f"(largest parameter change {result.max_change:.2e})",
        f"- latent distribution N({result.latent_mean:g}, {result.latent_sd:.4f}²)",
    ]
    if priors is not None:
        out.append(prior_summary(result, priors))
    if result.se_method:
        pd = "positive definite" if result.information_positive_definite else "**not positive definite**"
        out.append(
            f"- standard errors: {result.se_method}; information matrix {pd}, condition number "
            f"{result.condition_number:.4g}"
        )
    hist = np.asarray(result.loglik_history)
    if hist.size:
        out.append(f"- log-likelihood history: start {hist[0]:.3f}, end {hist[-1]:.3f} ({hist.size} values)")
    out += [
        "",
        "## Item parameters (IRT form)",
        "",
        "| item | model | a | SE a | b (thresholds/steps) | SE b | c | flags |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    flags = item_flags(result.params, result.se)
    for j, item_id in enumerate(p.ids):
        k = int(p.n_cat[j]) - 1
        b = ", ".join(f"{v:.3f}" for v in p.b[j, :k])
        se_a = se_b = ""
        if result.se is not None:
            se_a = _fmt(result.se.a[j])
            se_b = ", ".join(_fmt(v) for v in result.se.b[j, :k])
        c = f"{p.c[j]:.3f}" if p.c[j] > 0 else ""
        out.append(f"| {item_id} | {result.models[j]} | {p.a[j]:.3f} | {se_a} | {b} | {se_b} | {c} | {flags[j]} |")
    if fit is not None:
        out += ["", "## Item fit", "", fit.to_markdown()]
    grid = np.arange(-4.0, 4.01, 1.0)
    info = test_information(grid, p)
    out += [
        "",
        "## Test information",
        "",
        "| θ | " + " | ".join(f"{t:g}" for t in grid) + " |",
        "| --- |" + " --- |" * grid.size,
        "| information | " + " | ".join(f"{v:.2f}" for v in info) + " |",
        "| SE | " + " | ".join(f"{1 / np.sqrt(v):.2f}" for v in info) + " |",
        "",
    ]
    figures: dict[str, Figure] = {}
    if plots:
        figures = _figures(result, plot_stem)
        out += (
            _plot_links(plot_stem)
            if figures
            else [
                "Plots: matplotlib is not installed (`pip install 'digiskill[plots]'`).",
                "",
            ]
        )
    return CalibrationReport("\n".join(out) + "\n", figures)


def _fmt(v: float) -> str:
    return f"{v:.3f}" if np.isfinite(v) else "—"


def _plot_links(stem: str) -> list[str]:
    return [f"![item characteristic curves]({stem}-icc.png)", "", f"![test information]({stem}-information.png)", ""]


def _figures(result: CalibrationResult, stem: str) -> dict[str, Figure]:
    """The item characteristic curves and the test information as figures by file name (empty without
    matplotlib)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return {}
    theta = np.linspace(-4, 4, 161)
    icc = Figure(figsize=(7, 4))
    ax = icc.subplots()
    es = expected_score(theta, result.params) / (result.params.n_cat - 1)
    ax.plot(theta, es, lw=0.8)
    ax.set(xlabel="θ", ylabel="expected score / max", title="Item characteristic curves")
    icc.tight_layout()
    info = Figure(figsize=(7, 4))
    ax = info.subplots()
    ax.plot(theta, test_information(theta, result.params), label="test")
    ax.plot(theta, item_information(theta, result.params), lw=0.5, alpha=0.5)
    ax.set(xlabel="θ", ylabel="information", title="Test and item information")
    info.tight_layout()
    return {f"{stem}-icc.png": icc, f"{stem}-information.png": info}
