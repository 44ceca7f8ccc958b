"""Item priors given as text, ``MU,SD`` / ``ALPHA,BETA`` or ``none`` per option (as ``digiskill calibrate``'s
``--prior-*`` options), turned into :class:`~digiskill.calibrate.Priors`."""

from __future__ import annotations

import numpy as np

from ..errors import InputError, Problem
from ._models import Priors

# option name -> (Priors field, distribution, names of its two numbers)
PRIOR_OPTIONS: dict[str, tuple[str, str, str]] = {
    "--prior-slope": ("slope", "LogNormal", "MU,SD"),
    "--prior-difficulty": ("difficulty", "Normal", "MU,SD"),
    "--prior-intercept": ("intercept", "Normal", "MU,SD"),
    "--prior-guessing": ("guessing", "Beta", "ALPHA,BETA"),
    "--prior-slipping": ("slipping", "Beta", "ALPHA,BETA"),
}


def parse_priors(values: dict[str, str | None]) -> Priors:
    """The item priors from the ``--prior-*`` options (option name -> text, None when not given).

    An option not given keeps the default of :class:`~digiskill.calibrate.Priors`; ``none`` switches that prior off;
    otherwise the text is two numbers separated by a comma. ``--prior-slope MU,SD`` puts the LogNormal on every free
    slope (replacing the default on 3PL/4PL slopes), and ``--prior-slope none`` removes every slope prior, the
    3PL/4PL default included.

    Raises:
        InputError: every malformed or inadmissible value, one problem per option.
    """
    problems: list[Problem] = []
    fields: dict[str, tuple[float, float] | None] = {}
    for option, text in values.items():
        if text is None:
            continue
        field, dist, names = PRIOR_OPTIONS[option]
        if text.strip().lower() == "none":
            fields[field] = None
            if field == "slope":
                fields["asymptote_slope"] = None
            continue
        parts = text.split(",")
        try:
            pair = tuple(float(v) for v in parts)
        except ValueError:
            pair = ()
        first, second = names.split(",")
        if len(pair) != 2 or not np.isfinite(pair).all():
            problems.append(
                Problem(f"{option}: expected {names} (two numbers separated by a comma) or 'none', got {text!r}")
            )
        elif dist == "Beta" and not (pair[0] >= 1 and pair[1] >= 1):
            problems.append(Problem(f"{option}: Beta({first}, {second}) needs {first}, {second} >= 1, got {text!r}"))
        elif dist != "Beta" and not pair[1] > 0:
            problems.append(Problem(f"{option}: {dist}({first}, {second}) needs {second} > 0, got {text!r}"))
        else:
            fields[field] = (pair[0], pair[1])
    if problems:
        raise InputError(problems)
    return Priors(**fields)
