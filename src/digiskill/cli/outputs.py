"""Outputs of one command as one unit: every path checked before the work, all files written or none.

:func:`check_output_paths` refuses, before anything is computed, an output that is a folder, lies in a folder that
cannot be created or written, is not writable, or is named twice. :func:`write_together` writes every file to a
temporary beside its target and renames them only when all were written; if a rename fails, the files already
renamed are removed again (a failure leaves nothing new behind).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError, Problem


def _existing_ancestor(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path("/")


def check_output_paths(outputs: Sequence[tuple[Path, str]]) -> None:
    """Raise :class:`InputError` listing every output (``(path, option name)``) that cannot be written."""
    problems = []
    seen: dict[Path, str] = {}
    for path, option in outputs:
        resolved = path.resolve()
        if resolved in seen:
            problems.append(Problem(f"{option} names the same file as {seen[resolved]}", str(path)))
            continue
        seen[resolved] = option
        if path.is_dir():
            problems.append(Problem(f"{option} is a folder; give a file name", str(path)))
        elif path.exists() and not os.access(path, os.W_OK):
            problems.append(Problem(f"{option}: the file exists and is not writable", str(path)))
        else:
            folder = _existing_ancestor(path.absolute())
            if not folder.is_dir():
                problems.append(Problem(f"{option}: {folder} is a file, not a folder", str(path)))
            elif not os.access(folder, os.W_OK | os.X_OK):
                problems.append(Problem(f"{option}: cannot write in the folder {folder}", str(path)))
    if problems:
        raise InputError(problems)


def write_together(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write every ``(path, data)``: all appear, or none does (InputError when the file system refuses)."""
    temps: list[tuple[str, Path]] = []
    done: list[Path] = []
    try:
        for path, data in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((tmp, path))
            mask = os.umask(0)
            os.umask(mask)
            os.fchmod(fd, 0o666 & ~mask)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in temps:
            os.replace(tmp, path)
            done.append(path)
    except OSError as err:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for path in done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        raise InputError(Problem(f"cannot write the output: {err.strerror or err}", err.filename)) from err
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
