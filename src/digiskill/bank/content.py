"""The content of the item bank (``items/``): framework, items in Danish and English, job profiles.

Three kinds of YAML file, described in ``items/README.md``:

* ``framework.yaml``: the framework version, the competence areas (names, descriptions, DigComp 2.2 competences) and
  the proficiency levels 1–8 with band, names and descriptors;
* ``areas/<area-id>.yaml``: the items of one area, tagged by ``format`` (``single_choice``, ``multiple_response``,
  ``ordering``, ``true_false``), each with stem, options and explanation in both languages;
* ``profiles.yaml``: example job profiles, a required level and essential/optional per area.

:func:`load_bank_content` reads and validates the files and reports *every* schema problem with file, line and item
id; :func:`check_bank` then checks the bank as a whole (ids, areas, competences, coverage, reading load) and returns a
:class:`BankReport` with the coverage table and reading-length statistics. :func:`score_response` applies the scoring
rule fixed by an item's format.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..errors import InputError, Problem
from .frozen import FrozenModel
from .loading import parse_yaml, read_text_file

FORMATS = ("single_choice", "multiple_response", "ordering", "true_false")
LANGUAGES = ("da", "en")
CONTEXTS = ("general", "office", "care", "crafts", "hotel_cleaning", "canteen_retail", "sme_marketing", "analysis")
BANDS = {1: "foundation", 2: "foundation", 3: "intermediate", 4: "intermediate", 5: "advanced", 6: "advanced"}
BANDS |= {7: "highly_specialised", 8: "highly_specialised"}
#: the 21 competences of DigComp 2.2 (5 areas)
DIGCOMP_COMPETENCES = frozenset(
    f"{area}.{n}" for area, count in ((1, 3), (2, 6), (3, 4), (4, 4), (5, 4)) for n in range(1, count + 1)
)
_M = TypeVar("_M", bound=BaseModel)
FRAMEWORK_FILE = "framework.yaml"
PROFILES_FILE = "profiles.yaml"
AREAS_DIR = "areas"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty or blank")
    return text


Text = Annotated[str, AfterValidator(_not_blank)]
AreaId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
CompetenceId = Annotated[str, Field(pattern=r"^[1-9]\.[1-9]$", description='DigComp competence id, e.g. "4.1"')]
ItemId = Annotated[str, Field(pattern=r"^[A-Z]{2,5}-[0-9]{3}$", description="area prefix + 3 digits, e.g. SEC-001")]
OptionId = Annotated[str, Field(min_length=1, max_length=8, pattern=r"^\S+$")]
Context = Literal[
    "general", "office", "care", "crafts", "hotel_cleaning", "canteen_retail", "sme_marketing", "analysis"
]
Format = Literal["single_choice", "multiple_response", "ordering", "true_false"]
#: the content themes DigComp 3.0 integrates across its competences (an item may address none, one or more)
THEMES = ("ai", "cybersecurity", "disinformation", "digital_rights", "wellbeing")
Theme = Literal["ai", "cybersecurity", "disinformation", "digital_rights", "wellbeing"]
Band = Literal["foundation", "intermediate", "advanced", "highly_specialised"]


def _duplicates(values: Sequence[Any]) -> list[Any]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


# --------------------------------------------------------------------------------------------------- framework
class LocalizedText(FrozenModel):
    """A text in Danish and English (both required)."""

    da: Text
    en: Text


class Competence(FrozenModel):
    id: CompetenceId
    name: LocalizedText

    @field_validator("id")
    @classmethod
    def _digcomp(cls, value: str) -> str:
        if value not in DIGCOMP_COMPETENCES:
            raise ValueError(f"{value!r} is not a DigComp 2.2 competence (1.1–1.3, 2.1–2.6, 3.1–3.4, 4.1–4.4, 5.1–5.4)")
        return value


class Alignment3(FrozenModel):
    """How an area maps to DigComp 3.0: the 3.0 competences it covers and a note on what changed or is left out.

    DigComp 3.0 keeps the 2.2 structure (5 areas, 21 competences, same numbering) with new wording, so ``competences``
    are ids of the same 21 competences; an area may list one 3.0 competence more or fewer than its 2.2 list when the
    3.0 scope of that competence (e.g. AI, disinformation) fits the area's content.
    """

    competences: list[CompetenceId] = Field(min_length=1)
    note: LocalizedText | None = None

    @field_validator("competences")
    @classmethod
    def _known_unique(cls, competences: list[str]) -> list[str]:
        if unknown := [c for c in competences if c not in DIGCOMP_COMPETENCES]:
            raise ValueError(
                f"not a DigComp 3.0 competence: {', '.join(unknown)} (1.1–1.3, 2.1–2.6, 3.1–3.4, 4.1–4.4, 5.1–5.4)"
            )
        if dup := _duplicates(competences):
            raise ValueError(f"competence listed twice: {', '.join(dup)}")
        return competences


class Area(FrozenModel):
    """A competence area: the unit of one θ scale."""

    id: AreaId
    name: LocalizedText
    description: LocalizedText
    competences: list[Competence] = Field(min_length=1)
    digcomp3: Alignment3 | None = Field(None, description="the area's DigComp 3.0 alignment (optional)")

    @field_validator("competences")
    @classmethod
    def _unique(cls, competences: list[Competence]) -> list[Competence]:
        if dup := _duplicates([c.id for c in competences]):
            raise ValueError(f"competence listed twice: {', '.join(dup)}")
        return competences

    @property
    def competence_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.competences)


class Level(FrozenModel):
    """A proficiency level with its DigComp band and a descriptor in our own words."""

    level: int = Field(ge=1, le=8)
    band: Band
    name: LocalizedText
    descriptor: LocalizedText

    @model_validator(mode="after")
    def _band_matches(self) -> Level:
        if BANDS[self.level] != self.band:
            raise ValueError(f"level {self.level} belongs to band {BANDS[self.level]!r}, got {self.band!r}")
        return self


Level3Id = Literal["basic", "intermediate", "advanced", "highly_advanced"]


class Level3(FrozenModel):
    """A DigComp 3.0 proficiency level and the levels 1–8 we certify that fall in it."""

    id: Level3Id
    name: LocalizedText
    levels: list[int] = Field(min_length=1, description="our levels (1–8) in this 3.0 level")


class DigComp3(FrozenModel):
    """The DigComp 3.0 reference: source, area titles and the four 3.0 proficiency levels over our levels 1–8."""

    version: Literal["3.0"]
    reference: Text
    areas: dict[Literal["1", "2", "3", "4", "5"], LocalizedText]
    levels: list[Level3]

    @field_validator("areas")
    @classmethod
    def _five_areas(cls, areas: dict[str, LocalizedText]) -> dict[str, LocalizedText]:
        if sorted(areas) != ["1", "2", "3", "4", "5"]:
            raise ValueError(f"DigComp 3.0 has the areas 1–5, got {', '.join(sorted(areas))}")
        return areas

    @field_validator("levels")
    @classmethod
    def _partition(cls, levels: list[Level3]) -> list[Level3]:
        ours = [lv for level in levels for lv in level.levels]
        if ours != list(range(1, 9)):
            raise ValueError(f"the 3.0 levels must cover our levels 1–8 once each, in order; got {ours}")
        if dup := _duplicates([lv.id for lv in levels]):
            raise ValueError(f"3.0 level listed twice: {', '.join(dup)}")
        return levels

    def level_of(self, level: int) -> Level3:
        """The 3.0 proficiency level that our level ``level`` (1–8) falls in."""
        return next(lv for lv in self.levels if level in lv.levels)


class Framework(FrozenModel):
    """``framework.yaml``: areas, competences and levels (DigComp 2.2), optionally the DigComp 3.0 mapping."""

    version: Text
    digcomp_version: Text
    areas: list[Area] = Field(min_length=1)
    levels: list[Level]
    digcomp3: DigComp3 | None = Field(None, description="the DigComp 3.0 mapping beside the 2.2 one (optional)")

    @field_validator("areas")
    @classmethod
    def _unique_areas(cls, areas: list[Area]) -> list[Area]:
        if dup := _duplicates([a.id for a in areas]):
            raise ValueError(f"area id used twice: {', '.join(dup)}")
        return areas

    @field_validator("levels")
    @classmethod
    def _levels_one_to_eight(cls, levels: list[Level]) -> list[Level]:
        got = [lv.level for lv in levels]
        if got != list(range(1, 9)):
            raise ValueError(f"levels must be 1, 2, …, 8 in order, got {got}")
        return levels

    @model_validator(mode="after")
    def _digcomp3_declared(self) -> Framework:
        if self.digcomp3 is None and (mapped := [a.id for a in self.areas if a.digcomp3 is not None]):
            raise ValueError(f"areas {', '.join(mapped)} have a digcomp3 mapping, but the framework has no digcomp3")
        return self

    @property
    def area_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.areas)

    def area(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def band(self, level: int) -> str:
        return next((lv.band for lv in self.levels if lv.level == level), BANDS.get(level, "unknown"))


# ------------------------------------------------------------------------------------------------------- items
class Option(FrozenModel):
    """One answer option (or one step of an ordering item) in both languages."""

    id: OptionId
    da: Text
    en: Text


#: review stages of an item, in order: written by the content team; approved by a content expert and a jobcenter
#: practitioner against the review checklist; answered in a pilot and calibrated; released for certificates
STAGES = ("draft", "expert_reviewed", "piloted", "operational")
Stage = Literal["draft", "expert_reviewed", "piloted", "operational"]
#: the review checklist (``items/README.md``): an approval names every point
CHECKLIST = (
    "content_accuracy",
    "one_key",
    "plausible_distractors",
    "job_nearness",
    "plain_language",
    "bias_sensitivity",
    "translation",
)
Check = Literal[
    "content_accuracy",
    "one_key",
    "plausible_distractors",
    "job_nearness",
    "plain_language",
    "bias_sensitivity",
    "translation",
]
Decision = Literal["written", "revised", "approved", "piloted", "released", "returned"]
#: decision -> (stages it may follow; None = the first entry, stage it leads to)
DECISIONS: dict[str, tuple[tuple[str | None, ...], str]] = {
    "written": ((None,), "draft"),
    "revised": (STAGES, "draft"),  # changed text must be reviewed again
    "approved": (("draft",), "expert_reviewed"),
    "piloted": (("expert_reviewed",), "piloted"),
    "released": (("piloted",), "operational"),
    "returned": (STAGES, "draft"),
}


class StatusEvent(FrozenModel):
    """One decision about an item: when, by whom (a role, not necessarily a name), what, and why.

    ``approved`` lists the review checklist points that were checked (all of :data:`CHECKLIST`).
    """

    date: datetime.date
    role: Text
    decision: Decision
    checks: list[Check] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _approval_is_complete(self) -> StatusEvent:
        if self.decision == "approved" and (missing := [c for c in CHECKLIST if c not in self.checks]):
            raise ValueError(f"an approval checks every point of the review checklist; missing {', '.join(missing)}")
        return self


class Status(FrozenModel):
    """Where an item stands in the review workflow ``draft → expert_reviewed → piloted → operational``.

    ``stage`` must be the stage the ``history`` leads to: a first ``written`` entry (draft), then ``approved``
    (expert_reviewed), ``piloted``, ``released`` (operational), with ``revised``/``returned`` back to draft at any
    point; dates never go backwards.
    """

    stage: Stage
    history: list[StatusEvent] = Field(min_length=1)

    @model_validator(mode="after")
    def _history_leads_to_stage(self) -> Status:
        stage: str | None = None
        for n, event in enumerate(self.history):
            allowed, target = DECISIONS[event.decision]
            if stage not in allowed:
                after = "as the first entry" if stage is None else f"after stage {stage!r}"
                raise ValueError(f"history[{n}]: decision {event.decision!r} is not possible {after}")
            if n and event.date < self.history[n - 1].date:
                raise ValueError(f"history[{n}]: date {event.date} is before the previous entry")
            stage = target
        if stage != self.stage:
            raise ValueError(f"stage is {self.stage!r} but the history leads to {stage!r}")
        return self

    @property
    def reviewed(self) -> bool:
        """True from ``expert_reviewed`` on."""
        return self.stage != "draft"


class _ItemBase(FrozenModel):
    """Fields shared by every format; subclasses fix ``format``, the option count and the key rule."""

    _n_options: ClassVar[tuple[int, int]] = (3, 5)

    id: ItemId
    competence: CompetenceId
    level: int = Field(ge=1, le=6, description="intended DigComp proficiency level")
    format: Format
    contexts: list[Context] = Field(min_length=1)
    themes: list[Theme] = Field(default_factory=list, description="DigComp 3.0 content themes the item addresses")
    status: Status
    stem: LocalizedText
    options: list[Option]
    key: list[OptionId] = Field(min_length=1)
    explanation: LocalizedText

    @field_validator("contexts")
    @classmethod
    def _unique_contexts(cls, contexts: list[str]) -> list[str]:
        if dup := _duplicates(contexts):
            raise ValueError(f"context listed twice: {', '.join(dup)}")
        return contexts

    @field_validator("options")
    @classmethod
    def _check_options(cls, options: list[Option]) -> list[Option]:
        lo, hi = cls._n_options
        if not lo <= len(options) <= hi:
            want = f"exactly {lo}" if lo == hi else f"{lo}–{hi}"
            raise ValueError(f"a {cls._format()} item has {want} options, got {len(options)}")
        if dup := _duplicates([o.id for o in options]):
            raise ValueError(f"option id used twice: {', '.join(dup)}")
        return options

    @field_validator("key")
    @classmethod
    def _check_key(cls, key: list[str], info: ValidationInfo) -> list[str]:
        options = info.data.get("options")
        if options is None:  # the options failed validation; that error is reported already
            return key
        option_ids = [o.id for o in options]
        unknown = [k for k in key if k not in option_ids]
        if unknown:
            raise ValueError(f"key {', '.join(unknown)} not among the option ids {', '.join(option_ids)}")
        if dup := _duplicates(key):
            raise ValueError(f"key lists {', '.join(dup)} twice")
        cls._key_rule(key, option_ids)
        return key

    @classmethod
    def _format(cls) -> str:
        return cls.model_fields["format"].annotation.__args__[0]  # type: ignore[union-attr]

    @classmethod
    def _key_rule(cls, key: list[str], option_ids: list[str]) -> None:
        raise NotImplementedError

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)


class SingleChoiceItem(_ItemBase):
    """Choose one of 3–5 options; 1 point for the key."""

    format: Literal["single_choice"]

    @classmethod
    def _key_rule(cls, key: list[str], option_ids: list[str]) -> None:
        if len(key) != 1:
            raise ValueError(f"a single_choice item has exactly one key, got {len(key)}: {', '.join(key)}")


class TrueFalseItem(_ItemBase):
    """A statement that is true or false: options ``T`` and ``F``, key ``[T]`` or ``[F]``."""

    _n_options: ClassVar[tuple[int, int]] = (2, 2)
    format: Literal["true_false"]

    @field_validator("options")
    @classmethod
    def _t_and_f(cls, options: list[Option]) -> list[Option]:
        if sorted(o.id for o in options) != ["F", "T"]:
            raise ValueError(f"a true_false item has options T and F, got {', '.join(o.id for o in options)}")
        return options

    @classmethod
    def _key_rule(cls, key: list[str], option_ids: list[str]) -> None:
        if len(key) != 1:
            raise ValueError(f"a true_false item has the key [T] or [F], got [{', '.join(key)}]")


class MultipleResponseItem(_ItemBase):
    """Tick every right option: 2–3 keys among 4–5 options, partial credit ``max(0, right − wrong)``."""

    _n_options: ClassVar[tuple[int, int]] = (4, 5)
    format: Literal["multiple_response"]

    @classmethod
    def _key_rule(cls, key: list[str], option_ids: list[str]) -> None:
        if not 2 <= len(key) <= 3:
            raise ValueError(f"a multiple_response item has 2–3 keys, got {len(key)}: {', '.join(key)}")


class OrderingItem(_ItemBase):
    """Put 3–5 steps in order; the key lists every option id in the right order, 1 point for the whole order."""

    format: Literal["ordering"]

    @classmethod
    def _key_rule(cls, key: list[str], option_ids: list[str]) -> None:
        if sorted(key) != sorted(option_ids):
            missing = [o for o in option_ids if o not in key]
            raise ValueError(f"an ordering key lists every option id once; missing {', '.join(missing)}")


Item = Annotated[SingleChoiceItem | MultipleResponseItem | OrderingItem | TrueFalseItem, Field(discriminator="format")]
ITEM_ADAPTER: TypeAdapter[Item] = TypeAdapter(Item)


class AreaFile(FrozenModel):
    """``areas/<area-id>.yaml``: the items of one area."""

    area: AreaId
    items: list[Item]


# ---------------------------------------------------------------------------------------------------- profiles
class Requirement(FrozenModel):
    """What a job needs in one area. Areas and levels are checked against the framework by :func:`check_bank`."""

    area: AreaId
    level: int
    essential: bool


class Profile(FrozenModel):
    """An example job profile."""

    id: AreaId
    name: LocalizedText
    description: LocalizedText
    requirements: list[Requirement] = Field(min_length=1)
    rationale: LocalizedText
    ai: LocalizedText | None = Field(
        None,
        description="the AI competence the job needs and which required areas carry it (AI is no area of its own: "
        "DigComp 3.0 integrates it into the existing competences, and the AI items count on their areas' scales)",
    )

    @field_validator("requirements")
    @classmethod
    def _one_per_area(cls, requirements: list[Requirement]) -> list[Requirement]:
        if dup := _duplicates([r.area for r in requirements]):
            raise ValueError(f"area required twice: {', '.join(dup)}")
        return requirements


class ProfilesFile(FrozenModel):
    """``profiles.yaml``."""

    version: Text
    profiles: list[Profile]

    @field_validator("profiles")
    @classmethod
    def _unique(cls, profiles: list[Profile]) -> list[Profile]:
        if dup := _duplicates([p.id for p in profiles]):
            raise ValueError(f"profile id used twice: {', '.join(dup)}")
        return profiles


# ------------------------------------------------------------------------------------------------------ scoring
def item_categories(item: Item) -> int:
    """Number of score categories: 2 for the dichotomous formats, ``len(key) + 1`` for multiple response."""
    return len(item.key) + 1 if item.format == "multiple_response" else 2


def score_response(item: Item, answer: str | Sequence[str]) -> int:
    """Score one answer by the rule of the item's format (``items/README.md``).

    ``answer`` is the chosen option id (``single_choice``, ``true_false``), the ticked option ids
    (``multiple_response``; may be empty) or all option ids in the order given (``ordering``).

    Raises:
        InputError: the answer is of the wrong kind or names an option the item does not have.
    """

    def bad(message: str) -> InputError:
        return InputError(Problem(f"{message}, got {answer!r}", item_id=item.id))

    options = item.option_ids
    if item.format in ("single_choice", "true_false"):
        if not isinstance(answer, str):
            raise bad(f"a {item.format} answer is one option id")
        if answer not in options:
            raise bad(f"answer must be one of {', '.join(options)}")
        return int(answer == item.key[0])
    if isinstance(answer, str):
        raise bad(f"a {item.format} answer is a list of option ids")
    answer = list(answer)
    if unknown := [a for a in answer if a not in options]:
        raise bad(f"option(s) {', '.join(map(str, unknown))} not among {', '.join(options)}")
    if _duplicates(answer):
        raise bad("an option appears twice in the answer")
    if item.format == "multiple_response":
        right = sum(a in item.key for a in answer)
        return max(0, right - (len(answer) - right))
    if len(answer) != len(options):
        raise bad(f"an ordering answer lists all {len(options)} option ids")
    return int(answer == item.key)


def unreviewed_items(items: Iterable[Item], item_ids: Iterable[str]) -> list[str]:
    """The ids among ``item_ids`` whose item is still a draft (not reviewed by a content expert), in the given order.

    An id that is not among ``items`` counts as unreviewed: nothing vouches for it. Results and certificates use
    this to say that they rest on items not yet reviewed.
    """
    reviewed = {it.id for it in items if it.status.reviewed}
    return [i for i in item_ids if i not in reviewed]


# ------------------------------------------------------------------------------------------------ loading YAML
@dataclass(frozen=True)
class SourceFile:
    """A file read from the bank folder, with the line of every key and list element (1-based)."""

    path: Path
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, repr=False)

    def line(self, *loc: str | int) -> int | None:
        """The line of ``loc`` or of its nearest enclosing element that exists in the file."""
        for n in range(len(loc), -1, -1):
            if (found := self.lines.get(tuple(loc[:n]))) is not None:
                return found
        return None


@dataclass(frozen=True)
class AreaSource:
    source: SourceFile
    content: AreaFile


@dataclass(frozen=True)
class BankContent:
    """The validated content of a bank folder and where every piece came from."""

    folder: Path
    framework: Framework
    framework_source: SourceFile
    profiles: ProfilesFile
    profiles_source: SourceFile
    area_files: tuple[AreaSource, ...]

    def iter_items(self) -> Iterator[tuple[SourceFile, int, Item]]:
        """``(file, index in the file, item)`` for every item, files in name order."""
        for af in self.area_files:
            for n, item in enumerate(af.content.items):
                yield af.source, n, item

    @property
    def items(self) -> list[Item]:
        return [item for _, _, item in self.iter_items()]


def _node_lines(node: yaml.Node, path: tuple[str | int, ...], lines: dict, duplicates: list) -> None:
    """Record the line of every mapping key and sequence element below ``node``, and keys given twice."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append(((*path, key), line))
            seen.add(key)
            lines[(*path, key)] = line
            _node_lines(value_node, (*path, key), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for n, child in enumerate(node.value):
            _node_lines(child, (*path, n), lines, duplicates)


def _read_yaml(path: Path, problems: list[Problem]) -> tuple[Any, SourceFile] | None:
    """Parse one YAML file with line numbers; ``None`` (and a problem) when it cannot be read or parsed (see
    :func:`digiskill.bank.loading.parse_yaml`: no anchors/aliases, bounded size and depth)."""
    try:
        text = read_text_file(path)
        data, node = parse_yaml(text, str(path))
    except InputError as err:
        problems.extend(err.problems)
        return None
    source = SourceFile(path)
    duplicates: list[tuple[tuple, int]] = []
    if node is not None:
        _node_lines(node, (), source.lines, duplicates)
    for loc, line in duplicates:
        message = f"key {loc[-1]!r} appears twice in one mapping (YAML keeps only the last)"
        problems.append(Problem(message, str(path), line, item_id=_item_id(data, loc)))
    return data, source


def _item_id(raw: Any, loc: tuple) -> str | None:
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and isinstance(raw, dict):
        try:
            value = raw["items"][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return None if value is None else str(value)
    return None


def _validation_problems(err: ValidationError, raw: Any, source: SourceFile, model: type[BaseModel]) -> list[Problem]:
    problems = []
    for e in err.errors():
        if e["loc"] == () and e["type"] == "model_type":  # the whole file is not a mapping
            got = "an empty file" if raw is None else f"a {type(raw).__name__}"
            message = f"expected a mapping with the keys {', '.join(model.model_fields)}; got {got}"
            problems.append(Problem(message, str(source.path), source.line() or 1))
            continue
        # drop the union tag pydantic puts after a list index ("items", 3, "ordering", "key")
        loc = tuple(
            p for n, p in enumerate(e["loc"]) if not (p in FORMATS and n > 0 and isinstance(e["loc"][n - 1], int))
        )
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "format")
        if e["type"] == "string_type" and isinstance(e["input"], int | float | bool):
            message += f" (got {e['input']!r}: put the value in quotes)"
        elif e["type"] in ("literal_error", "string_pattern_mismatch", "int_parsing", "int_type", "bool_type"):
            message += f" (got {e['input']!r})"
        item_id = _item_id(raw, loc)
        where = loc[2:] if item_id is not None else loc
        label = ".".join(str(p) for p in where)
        problems.append(
            Problem(f"{label}: {message}" if label else message, str(source.path), source.line(*loc), item_id=item_id)
        )
    return problems


def _load(path: Path, model: type[_M], problems: list[Problem]) -> tuple[_M, SourceFile] | None:
    read = _read_yaml(path, problems)
    if read is None:
        return None
    raw, source = read
    try:
        return model.model_validate(raw), source
    except ValidationError as err:
        problems.extend(_validation_problems(err, raw, source, model))
        return None


def load_bank_content(folder: str | Path) -> BankContent:
    """Read and validate ``framework.yaml``, ``profiles.yaml`` and ``areas/*.yaml`` of a bank folder.

    Raises:
        InputError: every problem in every file (unreadable file, broken YAML, schema error), each with the file,
            the line and, for items, the item id. Bank-wide checks (duplicate ids, coverage, …) are
            :func:`check_bank`'s job.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    framework = _load(folder / FRAMEWORK_FILE, Framework, problems)
    profiles = _load(folder / PROFILES_FILE, ProfilesFile, problems)
    area_paths = sorted((folder / AREAS_DIR).glob("*.yaml"))
    if not area_paths:
        problems.append(Problem(f"no item files: expected {AREAS_DIR}/<area-id>.yaml", str(folder / AREAS_DIR)))
    areas = [_load(p, AreaFile, problems) for p in area_paths]
    if problems or framework is None or profiles is None:
        raise InputError(problems)
    return BankContent(
        folder=folder,
        framework=framework[0],
        framework_source=framework[1],
        profiles=profiles[0],
        profiles_source=profiles[1],
        area_files=tuple(AreaSource(source, content) for content, source in areas if content is not None),  # type: ignore[misc]
    )


# --------------------------------------------------------------------------------------------------- the check
class ReportProblem(FrozenModel):
    """One problem of a bank, for the JSON report."""

    path: str | None
    line: int | None
    item_id: str | None
    message: str

    @classmethod
    def of(cls, p: Problem) -> ReportProblem:
        return cls(path=p.path, line=p.line, item_id=p.item_id, message=p.message)


class CoverageRow(FrozenModel):
    """Number of items of one area and level, by format."""

    area: str
    level: int
    single_choice: int
    multiple_response: int
    ordering: int
    true_false: int
    total: int


class ReadingStats(FrozenModel):
    """Length of the stems in one language and level band (``band = "all"`` for every level)."""

    band: str
    levels: list[int]
    language: Literal["da", "en"]
    n_items: int
    chars_mean: float
    chars_median: float
    chars_max: int
    words_mean: float
    words_median: float
    words_max: int


class BankReport(FrozenModel):
    """The result of :func:`check_bank`: problems, coverage (area × level × format) and reading load."""

    folder: str
    framework_version: str | None = None
    n_items: int = 0
    n_reviewed: int = Field(0, description="items past the draft stage (expert_reviewed or later)")
    by_stage: dict[Stage, int] = Field(default_factory=dict, description="number of items at each review stage")
    n_profiles: int = 0
    problems: list[ReportProblem] = Field(default_factory=list)
    coverage: list[CoverageRow] = Field(default_factory=list)
    reading: list[ReadingStats] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 when the bank passes, 2 when it has a problem (bad input)."""
        return 0 if self.ok else 2

    @classmethod
    def from_input_error(cls, folder: str | Path, err: InputError) -> BankReport:
        """A report for a folder that could not be loaded: its problems only."""
        return cls(folder=str(folder), problems=[ReportProblem.of(p) for p in err.problems])


LOW_LEVELS = (1, 2)


def check_bank(
    content: BankContent,
    *,
    min_items_per_area: int = 40,
    min_items_per_level: int = 3,
    required_levels: Sequence[int] = (1, 2, 3, 4),
    max_stem_chars_low: int = 200,
) -> BankReport:
    """Check a loaded bank as a whole and describe its coverage and reading load.

    Problems: an id used more than once (in any files); an area file whose ``area`` differs from its file name or is
    not in the framework; an item competence that is not one of its area's competences; an area with fewer than
    ``min_items_per_area`` items, or fewer than ``min_items_per_level`` at a level of ``required_levels``; a stem
    longer than ``max_stem_chars_low`` characters (in either language) at levels 1–2; a profile requiring an unknown
    area or a level the framework does not have, or without an essential area.
    """
    fw = content.framework
    problems: list[Problem] = []
    counts: Counter[tuple[str, int, str]] = Counter()
    area_totals: Counter[str] = Counter()
    area_line: dict[str, tuple[str, int | None]] = {}
    checked: list[Item] = []  # items of areas in the framework: the ones the coverage and reading load describe

    first_seen: dict[str, str] = {}
    for src, n, item in content.iter_items():
        where = f"{src.path}:{src.line('items', n)}"
        if item.id in first_seen:
            problems.append(
                Problem(f"duplicate id, first used at {first_seen[item.id]}", *_at(src, n), item_id=item.id)
            )
        else:
            first_seen[item.id] = where

    for af in content.area_files:
        src, area = af.source, af.content.area
        here = (str(src.path), src.line("area"))
        area_line.setdefault(area, here)
        if area != src.path.stem:
            problems.append(Problem(f"area {area!r} does not match the file name {src.path.name!r}", *here))
        fw_area = fw.area(area)
        if fw_area is None:
            problems.append(Problem(f"area {area!r} is not in the framework ({', '.join(fw.area_ids)})", *here))
            continue
        for n, item in enumerate(af.content.items):
            if item.competence not in fw_area.competence_ids:
                problems.append(
                    Problem(
                        f"competence {item.competence!r} is not a competence of area {area!r} "
                        f"({', '.join(fw_area.competence_ids)})",
                        *_at(src, n, "competence"),
                        item_id=item.id,
                    )
                )
            if item.level in LOW_LEVELS:
                for lang in LANGUAGES:
                    stem = getattr(item.stem, lang)
                    if len(stem) > max_stem_chars_low:
                        problems.append(
                            Problem(
                                f"stem.{lang} has {len(stem)} characters; at most {max_stem_chars_low} at level "
                                f"{item.level}",
                                *_at(src, n, "stem", lang),
                                item_id=item.id,
                            )
                        )
            counts[(area, item.level, item.format)] += 1
            area_totals[area] += 1
            checked.append(item)

    fw_src = content.framework_source
    for i, area in enumerate(fw.areas):
        if area.id not in area_line:
            problems.append(
                Problem(
                    f"area {area.id!r} has no item file {AREAS_DIR}/{area.id}.yaml; at least {min_items_per_area} "
                    "items needed",
                    str(fw_src.path),
                    fw_src.line("areas", i, "id"),
                )
            )
            continue
        here = area_line[area.id]
        if area_totals[area.id] < min_items_per_area:
            problems.append(
                Problem(
                    f"area {area.id!r} has {area_totals[area.id]} items; at least {min_items_per_area} needed", *here
                )
            )
        for level in required_levels:
            n_level = sum(counts[(area.id, level, f)] for f in FORMATS)
            if n_level < min_items_per_level:
                problems.append(
                    Problem(
                        f"area {area.id!r} has {n_level} item(s) at level {level}; at least {min_items_per_level} "
                        "needed",
                        *here,
                    )
                )

    problems.extend(_check_profiles(content))

    coverage = []
    levels = sorted({*range(1, 7), *(lv for (_, lv, _) in counts)})
    for area in fw.areas:
        for level in levels:
            by_format = {f: counts[(area.id, level, f)] for f in FORMATS}
            coverage.append(CoverageRow(area=area.id, level=level, **by_format, total=sum(by_format.values())))

    items = content.items
    return BankReport(
        folder=str(content.folder),
        framework_version=fw.version,
        n_items=len(items),
        n_reviewed=sum(it.status.reviewed for it in items),
        by_stage={stage: sum(it.status.stage == stage for it in items) for stage in STAGES},
        n_profiles=len(content.profiles.profiles),
        problems=[ReportProblem.of(p) for p in problems],
        coverage=coverage,
        reading=reading_statistics(checked, fw),
    )


def _at(src: SourceFile, n: int, *loc: str) -> tuple[str, int | None]:
    """File and line of item ``n`` of an area file (or of ``loc`` inside it)."""
    return str(src.path), src.line("items", n, *loc)


def _check_profiles(content: BankContent) -> list[Problem]:
    fw, src = content.framework, content.profiles_source
    path = str(src.path)
    levels = [lv.level for lv in fw.levels]
    problems = []
    for i, profile in enumerate(content.profiles.profiles):
        for j, req in enumerate(profile.requirements):
            if fw.area(req.area) is None:
                problems.append(
                    Problem(
                        f"profile {profile.id!r} requires unknown area {req.area!r} ({', '.join(fw.area_ids)})",
                        path,
                        src.line("profiles", i, "requirements", j, "area"),
                    )
                )
            if req.level not in levels:
                problems.append(
                    Problem(
                        f"profile {profile.id!r} requires level {req.level} in {req.area!r}; levels are "
                        f"{min(levels)}–{max(levels)}",
                        path,
                        src.line("profiles", i, "requirements", j, "level"),
                    )
                )
        if not any(r.essential for r in profile.requirements):
            problems.append(
                Problem(f"profile {profile.id!r} has no essential area", path, src.line("profiles", i, "requirements"))
            )
    return problems


def reading_statistics(items: Sequence[Item], framework: Framework) -> list[ReadingStats]:
    """Stem length in characters and words per language, by level band and over all levels."""
    bands: dict[str, list[int]] = {}
    for lv in framework.levels:
        bands.setdefault(lv.band, []).append(lv.level)
    groups = [(band, lvls) for band, lvls in bands.items() if any(it.level in lvls for it in items)]
    groups.append(("all", sorted({it.level for it in items})))
    out = []
    for band, lvls in groups:
        chosen = [it for it in items if it.level in lvls]
        if not chosen:
            continue
        for lang in LANGUAGES:
            stems = [getattr(it.stem, lang) for it in chosen]
            chars = [len(s) for s in stems]
            words = [len(s.split()) for s in stems]
            out.append(
                ReadingStats(
                    band=band,
                    levels=lvls,
                    language=lang,
                    n_items=len(stems),
                    chars_mean=round(statistics.fmean(chars), 1),
                    chars_median=float(statistics.median(chars)),
                    chars_max=max(chars),
                    words_mean=round(statistics.fmean(words), 1),
                    words_median=float(statistics.median(words)),
                    words_max=max(words),
                )
            )
    return out
