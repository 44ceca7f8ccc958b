"""Shared pieces of the command line: error reporting with exit codes, and progress bars on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer

from ..errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_BAD_INPUT = 2


class _StderrConsole:
    """rich's console on stderr, made (and rich imported) when a command first prints to it: ``cat next``, which
    answers on stdout, never pays for it."""

    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    def print(self, *objects: Any, markup: bool | None = None, **options: Any) -> None:
        """Plain text (``markup=False``, no options) is written as it is, without rich; anything else goes to rich."""
        if markup is False and not options and all(isinstance(o, str) for o in objects):
            sys.stderr.write(" ".join(objects) + "\n")
            return
        self.console.print(*objects, markup=markup, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


stderr: Any = _StderrConsole()


def fail_on_bad_input(err: InputError) -> typer.Exit:
    """Print every problem of ``err`` to stderr and return the exit for status 2 (nothing has been written)."""
    stderr.print(f"[bold red]error:[/] {len(err.problems)} problem(s); nothing was written", markup=True)
    for line in str(err).splitlines():
        stderr.print(f"  {line}", markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def busy(message: str) -> Iterator[None]:
    """A spinner with ``message`` on stderr while the block runs, when stderr is a terminal (else nothing: no
    display thread, no imports)."""
    if not sys.stderr.isatty():
        yield
        return
    with stderr.status(message):
        yield


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; otherwise a silent callback."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr.console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
