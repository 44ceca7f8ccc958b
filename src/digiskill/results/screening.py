"""Screening scores against job profiles: support for a caseworker, never a decision.

For a job profile and each area ``a`` it names: ``π_a = P(θ_a ≥ c_{a, L_req} | responses)`` from the person's
posterior (the result's level probabilities), and the profile score ``S = ∏_{essential a} π_a``. Bands:
``S ≥ 0.8`` "expected to meet", ``0.2 < S < 0.8`` "uncertain: test further or talk", ``S ≤ 0.2`` "skills gap:
upskilling" with the essential areas whose ``π_a`` falls short listed for upskilling. Optional areas are reported
beside the score and never enter it.

Every screening output carries ``caseworker_decision_required = true`` and the numbers behind it (GDPR art. 22: a
person must not be subject to a decision based solely on automated processing).

A multidimensional test's π comes from its joint posterior (every area's answers inform every area, the more
accurate estimate for most people); beside it stands ``own_probability``, the area's own answers alone. What enters
``S`` and the bands is π kept within the area's own evidence as the certified level is
(:func:`~digiskill.results.levels.bounded_probability`: ``min(max(π, own), own + 0.3)``), so that screening never
says "expected to meet" on the strength of the other areas where the certificate would not show the level
(:mod:`digiskill.results.adaptive`). The reason names all of them, so that a caseworker sees where the other areas
carry an area or where its own answers hold it back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..bank.content import Profile
from ..bank.default import Bank
from ..bank.frozen import FrozenModel
from ..errors import InputError, Problem
from .levels import bounded_probability
from .models import AssessmentResult, Localized

MEETS, UNCERTAIN, GAP = "expected_to_meet", "uncertain", "skills_gap"
HIGH, LOW = 0.8, 0.2
AREA_SHORTFALL = 0.8  # an essential area with π below this is named for upskilling / further testing

BAND_TEXT = {
    MEETS: Localized(da="forventes at opfylde kravene", en="expected to meet the requirements"),
    UNCERTAIN: Localized(da="usikkert: test videre eller tal sammen", en="uncertain: test further or talk"),
    GAP: Localized(da="kompetencegab: opkvalificering", en="skills gap: upskilling"),
}


class AreaScreening(FrozenModel):
    area: str
    required_level: int
    essential: bool
    cut_score: float = Field(description="cut score of the required level on the area's scale")
    probability: float | None = Field(description="π = P(θ ≥ cut | responses); null when the area was not tested")
    own_probability: float | None = Field(
        None,
        description="a multidimensional test: P(θ ≥ cut | the area's own answers alone), beside π from all the test's "
        "answers; null otherwise",
    )
    scored_probability: float | None = Field(
        None,
        description="the π that enters S and the bands: π itself, or for a multidimensional test π kept within the "
        "area's own evidence, min(max(π, own), own + 0.3), as the certified level is; null when not tested",
    )
    theta: float | None
    se: float | None


class ScreeningResult(FrozenModel):
    """One person against one job profile."""

    person: str
    result_id: str
    profile: str
    profile_name: Localized
    score: float = Field(description="S = product of the scored π over the essential areas")
    band: Literal["expected_to_meet", "uncertain", "skills_gap"]
    band_text: Localized
    upskill_areas: list[str] = Field(description="essential areas whose scored π is below 0.8")
    untested_areas: list[str] = Field(description="essential areas without a result (π taken as unknown = 0)")
    areas: list[AreaScreening]
    reason: Localized = Field(description="plain-language explanation")
    caseworker_decision_required: Literal[True] = True
    provisional: bool = Field(description="true when the result comes from a provisional parameter set")
    parameter_set: str


def _check_bank(result: AssessmentResult, bank: Bank) -> None:
    if result.bank.parameter_set != bank.params.id or result.bank.content_digest != bank.content_digest:
        raise InputError(
            Problem(
                f"result {result.result_id} was made with parameter set {result.bank.parameter_set!r} and content "
                f"{result.bank.content_digest[:12]}…, the bank given is {bank.params.id!r} with content "
                f"{bank.content_digest[:12]}…; screen with the bank that produced the result"
            )
        )


def profile_by_id(bank: Bank, profile_id: str, profiles: list[Profile] | None = None) -> Profile:
    pool = profiles if profiles is not None else bank.content.profiles.profiles
    for p in pool:
        if p.id == profile_id:
            return p
    known = ", ".join(p.id for p in pool)
    raise InputError(Problem(f"unknown job profile {profile_id!r}; known: {known}"))


def screen(result: AssessmentResult, profile: Profile, bank: Bank) -> ScreeningResult:
    """Screen one result against one profile (see module notes)."""
    _check_bank(result, bank)
    tested = {a.area: a for a in result.areas}
    rows, score, upskill, untested = [], 1.0, [], []
    for req in profile.requirements:
        cuts = bank.cut_scores.areas.get(req.area)
        if cuts is None or req.level not in cuts.cuts:
            raise InputError(
                Problem(
                    f"profile {profile.id!r} needs level {req.level} in {req.area!r}, which has no "
                    "cut score in this bank"
                )
            )
        ar = tested.get(req.area)
        pi = ar.level_probabilities.get(req.level) if ar is not None else None
        own = ar.own_answers.level_probabilities.get(req.level) if ar is not None and ar.own_answers else None
        scored = pi if pi is None or own is None else round(bounded_probability(pi, own), 6)
        rows.append(
            AreaScreening(
                area=req.area,
                required_level=req.level,
                essential=req.essential,
                cut_score=cuts.cuts[req.level],
                probability=pi,
                own_probability=own,
                scored_probability=scored,
                theta=ar.theta if ar else None,
                se=ar.se if ar else None,
            )
        )
        if req.essential:
            if scored is None:
                untested.append(req.area)
                score = 0.0
            else:
                score *= scored
                if scored < AREA_SHORTFALL:
                    upskill.append(req.area)
    band = MEETS if score >= HIGH else GAP if score <= LOW else UNCERTAIN
    return ScreeningResult(
        person=result.person,
        result_id=result.result_id,
        profile=profile.id,
        profile_name=Localized(da=profile.name.da, en=profile.name.en),
        score=round(score, 6),
        band=band,
        band_text=BAND_TEXT[band],
        upskill_areas=upskill,
        untested_areas=untested,
        areas=rows,
        reason=_reason(profile, band, score, rows, upskill, untested, bank),
        provisional=result.provisional,
        parameter_set=result.bank.parameter_set,
    )


def matching_profiles(result: AssessmentResult, bank: Bank) -> list[ScreeningResult]:
    """The other direction: every profile of the bank for one person, best score first."""
    out = [screen(result, p, bank) for p in bank.content.profiles.profiles]
    return sorted(out, key=lambda s: -s.score)


def rank(results: list[AssessmentResult], profile: Profile, bank: Bank) -> list[ScreeningResult]:
    """Candidates for one profile, best score first (ties by person reference)."""
    return sorted((screen(r, profile, bank) for r in results), key=lambda s: (-s.score, s.person))


def _area_name(bank: Bank, area: str) -> Localized:
    a = bank.content.framework.area(area)
    return Localized(da=a.name.da, en=a.name.en) if a else Localized(da=area, en=area)


def _reason(profile, band, score, rows, upskill, untested, bank) -> Localized:
    essential = [r for r in rows if r.essential]
    parts_da, parts_en = [], []
    for r in essential:
        name = _area_name(bank, r.area)
        if r.probability is None:
            parts_da.append(f"{name.da}: ikke testet")
            parts_en.append(f"{name.en}: not tested")
        else:
            pct = round(100 * r.probability)
            parts_da.append(f"{name.da}: {pct} % sandsynlighed for mindst niveau {r.required_level}")
            parts_en.append(f"{name.en}: {pct}% probability of at least level {r.required_level}")
            if r.own_probability is not None:  # a multidimensional test: π uses every area's answers
                own = round(100 * r.own_probability)
                parts_da[-1] += f" ud fra alle svar, {own} % ud fra områdets egne svar"
                parts_en[-1] += f" from all answers, {own}% from the area's own answers"
                counted = round(100 * r.scored_probability)
                if counted != pct:
                    parts_da[-1] += f", regnes som {counted} %"
                    parts_en[-1] += f", counted as {counted}%"
    head_da = f"Samlet {round(100 * score)} % for de nødvendige områder ({BAND_TEXT[band].da})."
    head_en = f"Overall {round(100 * score)}% for the essential areas ({BAND_TEXT[band].en})."
    tail_da = tail_en = ""
    if upskill or untested:
        names = [_area_name(bank, a) for a in upskill + untested]
        tail_da = " Se nærmere på: " + ", ".join(n.da for n in names) + "."
        tail_en = " Look further at: " + ", ".join(n.en for n in names) + "."
    note_da = " En sagsbehandler træffer beslutningen; tallet er kun et støtteredskab."
    note_en = " A caseworker makes the decision; the score only supports it."
    return Localized(
        da=f"{head_da} " + "; ".join(parts_da) + "." + tail_da + note_da,
        en=f"{head_en} " + "; ".join(parts_en) + "." + tail_en + note_en,
    )
