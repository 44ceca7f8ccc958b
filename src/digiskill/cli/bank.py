"""``digiskill bank …``: commands on the item bank content (``items/``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from ..bank.content import FORMATS, BankReport, ReportProblem, check_bank, load_bank_content
from ..errors import InputError

bank_app = typer.Typer(help="Check the item bank content: framework, items and job profiles.", no_args_is_help=True)

FORMAT_ABBREV = {"single_choice": "sc", "multiple_response": "mr", "ordering": "ord", "true_false": "tf"}


@bank_app.command("check")
def check(
    folder: Annotated[
        Path,
        typer.Argument(
            help="bank folder with framework.yaml, profiles.yaml and areas/",
            file_okay=False,
            exists=True,
            metavar="FOLDER",
        ),
    ] = Path("items"),
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
