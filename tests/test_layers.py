"""The package's import layers (the design document, DESIGN.md): every import in ``src/digiskill`` runs downward.

Order, lowest first: ``irt`` → ``calibrate`` → ``bank`` → ``cat`` → ``results`` → ``service`` / ``web`` → ``cli``.
``errors``, ``fileio`` and ``localstate`` (the per-installation secrets folder; it imports only ``errors``) are the
base, which any module may import and which import nothing else of the package. Every ``import`` statement is
checked, also those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "digiskill"

BASE = {"errors", "fileio", "localstate"}
ORDER = ("irt", "calibrate", "bank", "cat", "results", "service", "web", "cli")
RANK = {name: n for n, name in enumerate(ORDER)}  # web pages are built on the service, so web sits above it
TOP = {"__init__", "__main__"}  # the package itself: ``__main__`` runs the command, ``__init__`` holds the version

# (importing module, imported module) pairs allowed to go against the order. Keep this empty.
ALLOWED: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    """The layer of a module ``digiskill.x.y``: its first part below the package (``"top"`` for the package)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    first = parts[1]
    return first if first not in TOP else "top"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``digiskill`` module a file imports, with its line (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "digiskill"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "digiskill":
                continue
            for a in node.names:  # ``from . import x``: x may be a module or a name of the package
                sub = SRC.parent.joinpath(*target.split("."), a.name)
                is_module = sub.with_suffix(".py").is_file() or sub.is_dir()
                out.append((node.lineno, f"{target}.{a.name}" if is_module else target))
    return sorted(set(out))


def _allowed(importer: str, imported: str) -> bool:
    src, dst = _layer(importer), _layer(imported)
    if dst in BASE:
        return True
    if src in BASE:
        return False  # the base imports only the base
    if dst == "top":
        return True  # ``digiskill.__version__``/``ENGINE``: package metadata only
    if src == "top":
        return True
    if src not in RANK or dst not in RANK:
        return False
    return RANK[dst] <= RANK[src]


FILES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unknown = {_module_name(p) for p in FILES if _layer(_module_name(p)) not in RANK | dict.fromkeys(BASE | {"top"})}
    assert not unknown, f"modules outside the layers (move them into one): {sorted(unknown)}"


def test_the_layer_map() -> None:
    """The checker itself: a few imports it must refuse and accept."""
    assert not _allowed("digiskill.calibrate.em", "digiskill.bank.parameters")
    assert not _allowed("digiskill.irt.items", "digiskill.calibrate")
    assert not _allowed("digiskill.results.batch", "digiskill.service.db")
    assert not _allowed("digiskill.errors", "digiskill.irt.items")
    assert _allowed("digiskill.bank.parameters", "digiskill.calibrate.result")
    assert _allowed("digiskill.cli.score", "digiskill.results.scoring")
    assert _allowed("digiskill.irt.items", "digiskill.errors")
    assert _allowed("digiskill.web.pages", "digiskill.service.db")
    assert not _allowed("digiskill.service.db", "digiskill.web.pages")
    found = _imports(SRC / "calibrate" / "em.py")
    assert any(name.startswith("digiskill.irt") for _, name in found)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_run_downward(path: Path) -> None:
    importer = _module_name(path)
    upward = [
        f"{path.relative_to(SRC)}:{line}: {importer} ({_layer(importer)}) imports {name} ({_layer(name)})"
        for line, name in _imports(path)
        if not _allowed(importer, name) and (importer, name) not in ALLOWED
    ]
    assert not upward, (
        "imports against the layers irt → calibrate → bank → cat → results → service/web → cli:\n" + "\n".join(upward)
    )
