"""The error and warning tree of digiskill.

Every error raised at a boundary (files, command line, API input) is a :class:`DigiskillError`; the ones caused by
bad input are also :class:`ValueError` and carry where the problem is (file, line, column, item id), so that a
message can say *what*, *where*, *expected* and *got*.
"""

from __future__ import annotations

from dataclasses import dataclass


class DigiskillError(Exception):
    """Base class of all digiskill errors."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is and what is wrong."""

    message: str
    path: str | None = None
    line: int | None = None
    column: str | None = None
    item_id: str | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.path, self.line) if p is not None)
        parts = [where] if where else []
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.item_id is not None and self.item_id != self.column:
            parts.append(f"item {self.item_id!r}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(DigiskillError, ValueError):
    """Bad input: one or more :class:`Problem` found; nothing was computed or written."""

    def __init__(self, problems: list[Problem] | Problem | str, *, max_shown: int = 25) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        shown = [str(p) for p in self.problems[:max_shown]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problem(s)")
        super().__init__("\n".join(shown))


class ParameterFileError(InputError):
    """A parameter-set file that cannot be read or does not validate."""


class DigiskillWarning(UserWarning):
    """Base class of digiskill warnings."""


class ConvergenceWarning(DigiskillWarning):
    """An iterative estimate did not meet its convergence criterion."""
