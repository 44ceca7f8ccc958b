"""``digiskill bank …``: commands on the item bank content (``items/``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from ..bank.content import FORMATS, BankReport, ReportProblem, check_bank, load_bank_content
from ..errors import InputError
from .common import fail_on_bad_input

if TYPE_CHECKING:
    from ..bank.lint import CueRate, LintReport

bank_app = typer.Typer(help="Check the item bank content: framework, items and job profiles.", no_args_is_help=True)

FolderArg = Annotated[
    Path,
    typer.Argument(
        help="bank folder with framework.yaml, profiles.yaml and areas/", file_okay=False, exists=True, metavar="FOLDER"
    ),
]
FORMAT_ABBREV = {"single_choice": "sc", "multiple_response": "mr", "ordering": "ord", "true_false": "tf"}


@bank_app.command("check")
def check(
    folder: FolderArg = Path("items"),
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON instead of tables")] = False,
    min_items_per_area: Annotated[int, typer.Option(help="fewest items an area may have", min=0)] = 40,
    min_items_per_level: Annotated[int, typer.Option(help="fewest items per area at each of levels 1-4", min=0)] = 3,
    max_stem_chars_low: Annotated[int, typer.Option(help="longest stem (characters) at levels 1-2", min=1)] = 200,
) -> None:
    """Validate the bank in FOLDER: every file against its schema, then the bank as a whole.

    Prints every problem as file:line: item ID: message, then the coverage table (area × level × format) and the
    reading load of the stems. Exit status 0 when the bank passes, 2 when it has any problem.
    """
    try:
        content = load_bank_content(folder)
    except InputError as err:
        report = BankReport.from_input_error(folder, err)
    else:
        report = check_bank(
            content,
            min_items_per_area=min_items_per_area,
            min_items_per_level=min_items_per_level,
            max_stem_chars_low=max_stem_chars_low,
        )
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _render(report)
    raise typer.Exit(report.exit_code)


def format_problem(p: ReportProblem) -> str:
    """``file:line: item ID: message`` (parts that are unknown are left out)."""
    where = ":".join(str(x) for x in (p.path, p.line) if x is not None)
    parts = [where] if where else []
    if p.item_id is not None:
        parts.append(f"item {p.item_id}")
    return ": ".join([*parts, p.message])


def _render(report: BankReport) -> None:
    # plain text; wide enough for the tables when the output goes to a file or pipe
    stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    for p in report.problems:
        stdout.print(format_problem(p), markup=False)
    if report.coverage:
        stdout.print()
        stdout.print(_coverage_table(report))
        stdout.print(_reading_table(report))
    if report.framework_version is not None:
        stdout.print(
            f"{report.n_items} items ({report.n_reviewed} reviewed), {report.n_profiles} job profiles, "
            f"framework {report.framework_version}",
            markup=False,
        )
        stages = ", ".join(f"{stage} {n}" for stage, n in report.by_stage.items())
        stdout.print(f"review status: {stages}", markup=False)
    verdict = "[green]bank OK[/]" if report.ok else f"[bold red]{len(report.problems)} problem(s)[/]"
    stdout.print(verdict)


def _coverage_table(report: BankReport) -> Table:
    levels = sorted({r.level for r in report.coverage})
    legend = "/".join(FORMAT_ABBREV[f] for f in FORMATS)
    table = Table(
        title=f"Coverage: items per area × level (by format {legend})", title_justify="left", box=box.MARKDOWN
    )
    table.add_column("area", no_wrap=True)
    for level in levels:
        table.add_column(f"L{level}", justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    areas = list(dict.fromkeys(r.area for r in report.coverage))

    def cell(rows: list) -> str:
        total = sum(r.total for r in rows)
        return f"{total} ({'/'.join(str(sum(getattr(r, f) for r in rows)) for f in FORMATS)})"

    for area in [*areas, None]:
        rows = [r for r in report.coverage if area is None or r.area == area]
        by_level = [cell([r for r in rows if r.level == level]) for level in levels]
        table.add_row(area or "all", *by_level, cell(rows), end_section=area == areas[-1])
    return table


def _reading_table(report: BankReport) -> Table:
    table = Table(title="Reading load of the stems (characters | words)", title_justify="left", box=box.MARKDOWN)
    for name, justify in [("band", "left"), ("levels", "left"), ("lang", "left"), ("n", "right")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name in ("chars mean", "median", "max", "words mean", "median", "max"):
        table.add_column(name, justify="right")
    for s in report.reading:
        levels = f"{s.levels[0]}-{s.levels[-1]}" if s.levels else ""
        table.add_row(
            s.band,
            levels,
            s.language,
            str(s.n_items),
            f"{s.chars_mean:.1f}",
            f"{s.chars_median:g}",
            str(s.chars_max),
            f"{s.words_mean:.1f}",
            f"{s.words_median:g}",
            str(s.words_max),
        )
    return table


@bank_app.command("lint")
def lint(
    folder: FolderArg = Path("items"),
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON instead of tables")] = False,
    show_items: Annotated[
        bool, typer.Option("--items/--no-items", help="list every flagged item with the reason")
    ] = True,
) -> None:
    """Measure item-writing cues and plain language in FOLDER, per area and format, against thresholds.

    Cues: key is the longest option, key position balance, "all/none of the above", absolute words in distractors,
    very unequal option lengths, key alone repeating stem words, near-duplicate options, ordering steps shown in
    order, Danish readability (LIX) of the stem by level, and Danish/English translation parity. Exit status 0 when
    every rate is within its threshold, 1 when one is not, 2 when the bank cannot be read.
    """
    from ..bank.lint import lint_bank

    try:
        report = lint_bank(load_bank_content(folder))
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _render_lint(report, show_items)
    raise typer.Exit(report.exit_code)


def _render_lint(report: LintReport, show_items: bool) -> None:
    stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    if show_items:
        for f in report.flags:
            stdout.print(f"item {f.item_id} ({f.area}, {FORMAT_ABBREV[f.format]}): {f.cue}: {f.detail}", markup=False)
        stdout.print()
    areas = list(dict.fromkeys(r.area for r in report.rates))
    areas = [a for a in areas if a != "all"] + ["all"]
    table = Table(
        title="Item-writing cues per area and format: rate (flagged/items); key_position: worst observed/expected; "
        "stem_echo: key alone minus a distractor alone",
        title_justify="left",
        box=box.MARKDOWN,
    )
    for name, justify in [("cue", "left"), ("fmt", "left"), ("limit", "left")]:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for area in areas:
        table.add_column(area, justify="right", no_wrap=True)
    rows = list(dict.fromkeys((r.cue, r.format) for r in report.rates))
    for cue, fmt in rows:
        cells = {r.area: r for r in report.rates if (r.cue, r.format) == (cue, fmt)}
        limit = next(iter(cells.values())).limit
        table.add_row(cue, FORMAT_ABBREV[fmt], limit, *(_lint_cell(cells.get(a)) for a in areas))
    stdout.print(table)
    lix = Table(title="LIX of the Danish stems by level", title_justify="left", box=box.MARKDOWN)
    for name in ("level", "n", "mean", "max", "limit"):
        lix.add_column(name, justify="right")
    for row in report.lix:
        lix.add_row(str(row.level), str(row.n_items), f"{row.mean:.1f}", f"{row.max:.1f}", f"{row.limit:g}")
    stdout.print(lix)
    failed = report.failed()
    verdict = (
        f"[green]lint OK[/]: {report.n_items} items, every rate within its threshold"
        if not failed
        else f"[bold red]{len(failed)} rate(s) over the threshold[/] ({', '.join(sorted({r.cue for r in failed}))})"
    )
    stdout.print(verdict)


def _lint_cell(rate: CueRate | None) -> str:
    if rate is None:
        return ""
    if rate.cue == "key_position":
        text = f"{rate.value:.2f}"
    elif rate.cue == "stem_echo":
        text = f"{rate.value:+.0%}"
    else:
        text = f"{rate.value:.0%} ({rate.n_flagged}/{rate.n_items})"
    return text if rate.ok else f"✗ {text}"
