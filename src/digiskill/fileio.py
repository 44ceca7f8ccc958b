"""Atomic file writes: a temporary file in the target folder, then an atomic rename.

A crash or an error while writing leaves the previous file (or nothing) in place, never half a file.
:func:`write_all` does the same for the several files of one command (all or none), and
:func:`check_output_paths` checks output paths before any work.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .errors import InputError, Problem


@contextlib.contextmanager
def _atomic(path: str | Path, mode: str, *, private: bool = False, **open_kw: Any) -> Iterator[IO[Any]]:
    """A temporary file beside ``path``, fsynced and renamed over ``path`` when the block ends without an exception.

    ``private``: keep mkstemp's owner-only mode 0o600 (secrets); otherwise the usual ``0o666 & ~umask``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if not private:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; an ordinary output file gets the usual permissions
    try:
        with os.fdopen(fd, mode, **open_kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_writer(path: str | Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open a text file for writing that appears at ``path`` only if the block finishes without an exception."""
    with _atomic(path, "w", encoding="utf-8", newline=newline) as fh:
        yield fh


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_writer(path) as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (``private``: owner-only mode 0o600 from the start, for secrets)."""
    with _atomic(path, "wb", private=private) as fh:
        fh.write(data)


def write_all(files: Mapping[str | Path, str | bytes], *, modes: Mapping[str | Path, int] | None = None) -> None:
    """Write several files as one transaction: all of them or none.

    Every file is first written in full to a temporary in its target folder (folders are created); only when all
    were written are they renamed onto their targets. On a failure while writing, every temporary is removed and
    nothing new remains; on a failure while renaming (rare: the temporaries are in the target folders), the files
    already renamed are put back as they were. Text is written as UTF-8.

    Args:
        files: target path -> content.
        modes: target path -> permission bits, for files that must never be readable by others (a private key
            gets ``0o600`` from its creation on, never wider). Other files get the usual ``0o666 & ~umask``.
    """
    wanted = {Path(p).absolute(): data for p, data in files.items()}
    if len(wanted) != len(files):
        raise ValueError("write_all: the same file given twice")
    perms = {Path(p).absolute(): m for p, m in (modes or {}).items()}
    temps: dict[Path, str] = {}
    try:
        for path, data in wanted.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps[path] = tmp
            os.fchmod(fd, perms.get(path, 0o666 & ~_umask()))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        _remove(temps.values())
        raise
    _rename_all(temps)


def _rename_all(temps: dict[Path, str]) -> None:
    backups: dict[Path, str | None] = {}
    try:
        for path, tmp in temps.items():
            backups[path] = _backup(path)
            os.replace(tmp, path)
    except BaseException:
        for path, backup in backups.items():
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                elif not os.path.exists(temps[path]):  # renamed already: remove the new file
                    os.unlink(path)
        _remove(temps.values())
        raise
    _remove(b for b in backups.values() if b is not None)


def _backup(path: Path) -> str | None:
    """A hard link to the current file at ``path`` (to restore it), or ``None`` when there is none."""
    if not path.is_file():
        return None
    name = tempfile.mktemp(prefix=f".{path.name}.", suffix=".bak", dir=path.parent)
    try:
        os.link(path, name)
    except OSError:
        return None
    return name


def _remove(paths: Iterable[str]) -> None:
    for p in list(paths):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def check_output_paths(paths: Mapping[str, str | Path | None], *, overwrite: bool = True) -> None:
    """Check, before any work, that every output file can be written.

    Args:
        paths: option name (as the user typed it, e.g. ``"--out"``) -> path; ``None`` entries are skipped.
        overwrite: whether an existing file may be replaced.

    Raises:
        InputError: one problem per bad path, naming the option: the path is a folder, lies under something that is
            not a folder, its folder cannot be written, it exists and must not be overwritten, or two options name
            the same file.
    """
    problems: list[Problem] = []
    seen: dict[Path, str] = {}
    for option, raw in paths.items():
        if raw is None:
            continue
        path = Path(raw)
        where = str(path)
        resolved = path.absolute()
        if resolved in seen:
            problems.append(Problem(f"{option}: the same file as {seen[resolved]}", where))
            continue
        seen[resolved] = option
        if path.is_dir():
            problems.append(Problem(f"{option}: is a folder; give a file name", where))
            continue
        if path.exists() and not overwrite:
            problems.append(Problem(f"{option}: the file exists already and is not overwritten", where))
            continue
        if not path.name or path.name in (".", ".."):
            problems.append(Problem(f"{option}: not a file name", where))
            continue
        ancestor = resolved.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            problems.append(Problem(f"{option}: cannot create the file: {ancestor} is not a folder", where))
        elif not os.access(ancestor, os.W_OK | os.X_OK):
            problems.append(Problem(f"{option}: cannot write into the folder {ancestor}", where))
    if problems:
        raise InputError(problems)
