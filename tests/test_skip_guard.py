"""Part 5 of issue 12: a fresh clone runs every test. A skip fails the run (tests/skip_guard.py), and no test reads
a file outside the repository (the golden files are in tests/data)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

MODULE_SKIP = 'import pytest\npytest.importorskip("no_such_module_for_digiskill")\n\ndef test_a():\n    assert True\n'
RUN_SKIP = 'import pytest\n\ndef test_b():\n    pytest.skip("not here")\n\ndef test_c():\n    assert True\n'
CLEAN = "def test_d():\n    assert 1 + 1 == 2\n"


def _pytest(folder: Path, source: str, *, allow: bool = False) -> subprocess.CompletedProcess[str]:
    """Run pytest with the skip guard (and nothing else of our conftest) on the module ``source`` and a clean one
    in ``folder``."""
    (folder / "conftest.py").write_text('pytest_plugins = ["skip_guard"]\n', encoding="utf-8")
    (folder / "test_probe.py").write_text(source, encoding="utf-8")
    (folder / "test_clean.py").write_text(CLEAN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DIGISKILL_ALLOW_SKIPS"}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    if allow:
        env["DIGISKILL_ALLOW_SKIPS"] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the skip guard (hypothesis, xdist … cost a second to load)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", str(folder)]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("source", "allow", "code", "needle"),
    [
        (MODULE_SKIP, False, 1, "skipped modules are not allowed"),
        (RUN_SKIP, False, 1, "skipped tests are not allowed"),
        (MODULE_SKIP, True, 0, "1 passed, 1 skipped"),  # (the whole suite passing shows a clean run passes)
    ],
    ids=["module-skip-fails", "runtime-skip-fails", "module-skip-allowed"],
)
def test_a_skip_fails_the_run(source: str, allow: bool, code: int, needle: str, tmp_path: Path) -> None:
    proc = _pytest(tmp_path, source, allow=allow)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert needle in proc.stdout, proc.stdout


def test_no_test_builds_a_path_outside_the_repository() -> None:
    """No string in the tests names the project's ../shared folder (it is absent from a fresh clone)."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == Path(__file__).name:  # this test names the folder it looks for
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.replace("\\", "/")
                if node.value == "shared" or "../shared" in text or "/shared/" in text:
                    found.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert found == []
