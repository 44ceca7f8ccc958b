"""The command starts without importing what it does not need (issue 16: start-up is what `cat next` callers wait for).

Each check runs the real entry point in a fresh interpreter and inspects ``sys.modules`` afterwards; no timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digiskill.cli.main import COMMANDS, app, load_command

PARAMS = Path(__file__).parents[1] / "src" / "digiskill" / "data" / "default-params.json"

# PDF, signing, plotting, progress bars and scipy's statistics: none is needed to list commands or choose an item
HEAVY = ("fpdf", "fontTools", "pyld", "cryptography", "matplotlib", "segno", "rich.progress", "scipy.stats", "yaml")

PROBE = """
import json, sys
sys.argv = ["digiskill", *json.loads(sys.argv[1])]
from digiskill.cli.main import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _run(args: list[str]) -> tuple[int, set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=60, check=False
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), proc.stdout


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_help_imports_no_subcommand_module_and_no_numpy() -> None:
    code, modules, out = _run(["--help"])
    assert code == 0
    for name in COMMANDS:  # every command is listed although none was imported
        assert f" {name} " in out
    assert _loaded(modules, (*HEAVY, "numpy", "scipy", "pydantic", "digiskill.cat", "digiskill.calibrate")) == []


def test_cat_next_imports_nothing_heavy() -> None:
    code, modules, out = _run(["cat", "next", "--params", str(PARAMS)])
    assert code in (0, None)
    step = json.loads(out)
    assert step["next_item"] and step["n_administered"] == 0
    # scipy as a whole stays out: the IRT core uses numpy versions of expit, log_softmax and logsumexp
    assert _loaded(modules, (*HEAVY, "scipy", "digiskill.calibrate", "digiskill.results")) == []
    assert _loaded(modules, ("rich", "pyarrow", "pandas")) == []  # nothing printed to stderr, no response file read


def test_calibrate_imports_no_statistics_plotting_or_pdf(tmp_path: Path) -> None:
    lsat7 = Path(__file__).parents[1] / "examples" / "lsat7" / "responses.csv"
    code, modules, _ = _run(["calibrate", str(lsat7), "--out", str(tmp_path / "p.json"), "--se", "none"])
    assert code in (0, None)
    assert (tmp_path / "p.json").exists()
    # no scipy at all (S-X2 p-values from irt.special.chi2_sf; sparse designs and M2 import theirs when used), and no
    # pandas (pyarrow's scalar conversions would import it when installed)
    assert _loaded(modules, (*HEAVY, "scipy", "pandas", "digiskill.calibrate.dif", "digiskill.calibrate.linking")) == []
    assert _loaded(modules, ("rich", "concurrent")) == []  # plain lines on stderr; one block: no thread pool


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_matches_the_command(name: str) -> None:
    """The one-line help shown by `digiskill --help` (without importing) is the start of the command's own help."""
    command = load_command(name)
    assert command.name == name
    own = " ".join((command.help or "").split())
    listed = COMMANDS[name].help
    assert own[:40] == listed[:40]
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"digiskill {name}" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


@pytest.mark.parametrize(("preset", "expected"), [(None, "1"), ("2", "2")])
def test_one_blas_thread_unless_the_user_chose(preset: str | None, expected: str) -> None:
    """numpy reads OPENBLAS_NUM_THREADS when it is first imported: the entry point sets it first, never overriding."""
    probe = (
        "import os, sys; sys.argv = ['digiskill', '--version']\n"
        "from digiskill.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "import numpy\nprint(os.environ['OPENBLAS_NUM_THREADS'], 'numpy' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split()[-2:] == [expected, "True"]
