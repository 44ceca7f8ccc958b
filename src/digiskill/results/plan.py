"""What an adaptive test covers: the competence areas chosen by id, or the essential areas of a job profile.

One rule for the terminal test (``digiskill take``) and the service's invitations: areas and a profile exclude each
other; a profile gives its essential areas in the profile's order; areas given by id must be areas of the bank
(repeats are dropped, the order is kept); neither given (``None`` or an empty list) means every area of the bank.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..bank.default import Bank
from ..errors import InputError, Problem
from .screening import profile_by_id


def areas_to_test(bank: Bank, areas: Sequence[str] | None = None, profile: str | None = None) -> list[str]:
    """The area ids of a test over ``areas`` or over the essential areas of job profile ``profile``.

    Raises:
        InputError: both given, an unknown job profile, or an unknown area id.
    """
    if areas and profile:
        raise InputError(Problem("give areas or a job profile, not both"))
    if profile:
        return [r.area for r in profile_by_id(bank, profile).requirements if r.essential]
    if not areas:
        return list(bank.areas)
    chosen = list(dict.fromkeys(areas))
    unknown = [a for a in chosen if a not in bank.areas]
    if unknown:
        raise InputError(Problem(f"unknown area(s) {', '.join(unknown)}; known: {', '.join(bank.areas)}"))
    return chosen
