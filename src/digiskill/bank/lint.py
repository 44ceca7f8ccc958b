"""Item-writing cues and plain language: measured rates per area and format, each against a threshold.

A *cue* is something in an item that lets a test-wise person find the key without the skill being measured
(Haladyna, Downing & Rodriguez 2002, "A review of multiple-choice item-writing guidelines"). :func:`lint_bank`
flags every item that shows a cue, then measures the rate of flagged items per area × format (and over all areas);
a rate above the cue's threshold fails. The cues:

* ``key_longest``: the key is strictly the longest option (in Danish or English). By chance 1/k of k-option items;
  at most 30 % of the single-choice items of a group.
* ``key_position``: keys pile up at one position. Measured as observed / expected count of keys at each position
  (expected = Σ 1/k over the items with at least that many options); every position within 0.5–1.5. For
  true/false items the two "positions" are the keys T and F.
* ``all_none_above``: an option "alle/ingen af ovenstående" (all/none of the above). None allowed.
* ``absolute_distractor``: a distractor says altid/aldrig/kun (always/never/only) and no key does: absolute words
  mark wrong answers. At most 10 %.
* ``unequal_options``: the longest option is more than 3× the shortest (characters, either language). At most 10 %.
* ``stem_echo``: a content word of the stem comes back in the key and in no other option ("clang association").
  Words of 4+ letters that are not function words, compared on their first 6 letters (a crude Danish/English
  stem). A cue only when it singles out the key more often than a distractor: the share of keys that alone repeat
  a stem word may exceed the share of distractors that alone do by at most 10 percentage points.
* ``near_duplicate``: two options of one item are the same text, or have (almost) the same content words (Jaccard
  ≥ 0.8 over 3+ content words, so in other words or order the same thing). Minimal pairs such as two formulas
  that differ in one sign are not duplicates. None allowed.
* ``ordering_in_order``: an ordering item shows its steps already in the right order. None allowed.
* ``lix``: the Danish stem's readability index LIX = words / sentences + 100 × long words / words (long: more than
  six letters; Björnsson 1968) is above the limit of the item's level: 40 at levels 1–2 (plain language), 50 at
  levels 3–4, 55 at levels 5–6. None allowed.
* ``translation``: the Danish and English texts differ in length beyond 0.6–1.67× (texts of 25+ characters) or do not
  contain the same numbers. At most 5 %.

Exit status of ``digiskill bank lint``: 0 when every rate is within its threshold, 1 when one is not.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import Field

from .content import FORMATS, LANGUAGES, BankContent, Item
from .frozen import FrozenModel

ALL = "all"

ABSOLUTE_WORDS = re.compile(r"\b(altid|aldrig|kun|always|never|only)\b", re.IGNORECASE)
ALL_NONE_ABOVE = re.compile(
    r"\b(alle|ingen|begge) (af )?(de )?(ovenstående|ovennævnte|svar(ene)? ovenfor)|\b(all|none|both) of the above",
    re.IGNORECASE,
)
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
SENTENCE_END = re.compile(r"[.!?:;]+(?=\s|$|['\"’”)])")
#: LIX limit of a stem by item level: plain language at levels 1-2
LIX_LIMITS = {1: 40.0, 2: 40.0, 3: 50.0, 4: 50.0, 5: 55.0, 6: 55.0}
MAX_OPTION_RATIO = 3.0
NEAR_DUPLICATE = 0.8
NEAR_DUPLICATE_MIN_WORDS = 3
PARITY_RATIO = (0.6, 1 / 0.6)
PARITY_MIN_CHARS = 25
KEY_POSITION_RATIO = (0.5, 1.5)
STEM_ECHO_EXCESS = 0.10

CHOICE = ("single_choice", "multiple_response")


class Flag(FrozenModel):
    """One item showing one cue."""

    item_id: str
    area: str
    format: str
    cue: str
    detail: str


class CueRate(FrozenModel):
    """The measured rate of one cue in one area (or ``all``) and format, and whether it is within its threshold."""

    cue: str
    area: str
    format: str
    n_items: int
    n_flagged: int
    value: float = Field(description="share of items flagged; for key_position the worst observed/expected ratio")
    limit: str = Field(description="the threshold in words, e.g. '<= 30%' or '0.5-1.5'")
    ok: bool


class LixStats(FrozenModel):
    """LIX of the Danish stems at one level."""

    level: int
    n_items: int
    mean: float
    max: float
    limit: float


class LintReport(FrozenModel):
    """The result of :func:`lint_bank`: the rates, the flagged items and the LIX per level."""

    folder: str
    n_items: int
    rates: list[CueRate]
    flags: list[Flag]
    lix: list[LixStats]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rates)

    @property
    def exit_code(self) -> int:
        """0 when every rate is within its threshold, 1 otherwise."""
        return 0 if self.ok else 1

    def failed(self) -> list[CueRate]:
        return [r for r in self.rates if not r.ok]


# ------------------------------------------------------------------------------------------------- text measures
def words(text: str) -> list[str]:
    return WORD.findall(text)


def lix(text: str) -> float:
    """LIX = words / sentences + 100 × long words / words; a long word has more than six letters.

    Sentences end at ``. ! ? : ;`` followed by a space, a quote or the end; a text without an end mark is one
    sentence.
    """
    ws = words(text)
    if not ws:
        return 0.0
    sentences = max(1, len(SENTENCE_END.findall(text.strip())))
    long = sum(len(w) > 6 for w in ws)
    return len(ws) / sentences + 100.0 * long / len(ws)


#: function words of 4+ letters that carry no content (Danish and English)
STOPWORDS = frozenset(
    """alle altid andre efter eller også hvad hvem hvor hvordan hvilke hvilken hvilket ikke inden kunne meget
    mens noget nogen over sådan selv skal skulle under være været vil ville være dine dit din dig mine sine
    deres hans hende hendes their there these this that what when where which while with without would your
    yours from have into only about after before other same some than then they them will does should could""".split()
)


def _stems(text: str) -> set[str]:
    """Content words of 4+ letters (no function words), lower case, cut to their first 6 letters."""
    return {w.lower()[:6] for w in words(text) if len(w) >= 4 and not w.isdigit() and w.lower() not in STOPWORDS}


def _numbers(text: str) -> Counter[str]:
    """The numbers of a text, without separators; a whole hour (``10:00``, Danish ``10.00``) counts as ``10``."""
    return Counter(re.sub(r"[.,:]", "", re.sub(r"^(\d{1,2})[.:]00$", r"\1", n)) for n in NUMBER.findall(text))


# ------------------------------------------------------------------------------------------------ per-item cues
def _texts(item: Item, lang: str) -> tuple[list[str], list[str]]:
    """(key texts, distractor texts) of a choice item in ``lang``."""
    key = [getattr(o, lang) for o in item.options if o.id in item.key]
    other = [getattr(o, lang) for o in item.options if o.id not in item.key]
    return key, other


def cue_key_longest(item: Item) -> str | None:
    for lang in LANGUAGES:
        key, other = _texts(item, lang)
        if len(key[0]) > max(len(t) for t in other):
            return f"key is the longest option in {lang} ({len(key[0])} vs ≤ {max(len(t) for t in other)} characters)"
    return None


def cue_all_none_above(item: Item) -> str | None:
    for o in item.options:
        for lang in LANGUAGES:
            if m := ALL_NONE_ABOVE.search(getattr(o, lang)):
                return f"option {o.id} says {m.group(0)!r}"
    return None


def cue_absolute_distractor(item: Item) -> str | None:
    for lang in LANGUAGES:
        key, other = _texts(item, lang)
        if any(ABSOLUTE_WORDS.search(t) for t in key):
            continue
        for t in other:
            if m := ABSOLUTE_WORDS.search(t):
                return f"distractor says {m.group(0)!r} ({lang}: {t!r})"
    return None


def cue_unequal_options(item: Item) -> str | None:
    for lang in LANGUAGES:
        lengths = [len(getattr(o, lang)) for o in item.options]
        if max(lengths) > MAX_OPTION_RATIO * min(lengths):
            return f"options of {min(lengths)}–{max(lengths)} characters in {lang}"
    return None


def _echoes(item: Item, lang: str) -> list[list[str]]:
    """For each option: the stem's content words it alone repeats (no other option does)."""
    stem = _stems(getattr(item.stem, lang))
    opts = [_stems(getattr(o, lang)) & stem for o in item.options]
    return [sorted(own - set().union(*(opts[:j] + opts[j + 1 :]))) for j, own in enumerate(opts)]


def cue_stem_echo(item: Item) -> str | None:
    for lang in LANGUAGES:
        echo = _echoes(item, lang)[item.option_ids.index(item.key[0])]
        if echo:
            return f"only the key repeats {', '.join(echo)}… from the stem ({lang})"
    return None


def stem_echo_excess(items: Sequence[Item]) -> tuple[float, str]:
    """How much more often the key alone repeats a stem word than a distractor alone does (share of key options
    minus share of distractor options), the larger of the two languages.

    Repeating the stem's words is only a cue when it singles out the key more often than it singles out a wrong
    option; the per-item flags name the items where the key alone repeats a stem word.
    """
    worst, detail = -1.0, ""
    for lang in LANGUAGES:
        key_only = dis_only = n_dis = 0
        for item in items:
            k = item.option_ids.index(item.key[0])
            for j, echo in enumerate(_echoes(item, lang)):
                if j == k:
                    key_only += bool(echo)
                else:
                    dis_only += bool(echo)
                    n_dis += 1
        key_rate, dis_rate = key_only / len(items), dis_only / max(n_dis, 1)
        if key_rate - dis_rate > worst:
            worst = key_rate - dis_rate
            detail = f"{lang}: key alone {key_rate:.0%}, a distractor alone {dis_rate:.0%}"
    return worst, detail


def cue_near_duplicate(item: Item) -> str | None:
    for lang in LANGUAGES:
        texts = [
            (o.id, " ".join(getattr(o, lang).lower().split()).rstrip("."), _stems(getattr(o, lang)))
            for o in item.options
        ]
        for n, (a, ta, sa) in enumerate(texts):
            for b, tb, sb in texts[n + 1 :]:
                if ta == tb:
                    return f"options {a} and {b} are the same ({lang})"
                if min(len(sa), len(sb)) >= NEAR_DUPLICATE_MIN_WORDS:
                    overlap = len(sa & sb) / len(sa | sb)
                    if overlap >= NEAR_DUPLICATE:
                        return f"options {a} and {b} share {overlap:.0%} of their content words ({lang})"
    return None


def cue_ordering_in_order(item: Item) -> str | None:
    return "the steps are shown in the right order" if list(item.key) == list(item.option_ids) else None


def cue_lix(item: Item) -> str | None:
    value, limit = lix(item.stem.da), LIX_LIMITS[item.level]
    return f"LIX {value:.0f} > {limit:.0f} at level {item.level}" if value > limit else None


def _pairs(item: Item) -> list[tuple[str, str, str]]:
    out = [("stem", item.stem.da, item.stem.en), ("explanation", item.explanation.da, item.explanation.en)]
    return out + [(f"option {o.id}", o.da, o.en) for o in item.options]


def cue_translation(item: Item) -> str | None:
    lo, hi = PARITY_RATIO
    for where, da, en in _pairs(item):
        if min(len(da), len(en)) >= PARITY_MIN_CHARS and not lo <= len(en) / len(da) <= hi:
            return f"{where}: English is {len(en) / len(da):.2f}× the Danish length"
        if _numbers(da) != _numbers(en):
            return f"{where}: numbers differ ({', '.join(_numbers(da))} / {', '.join(_numbers(en))})"
    return None


@dataclass(frozen=True)
class Cue:
    """A per-item cue: which formats it applies to, the test, and the largest admissible share of flagged items."""

    name: str
    formats: tuple[str, ...]
    test: Callable[[Item], str | None]
    max_rate: float


CUES = (
    Cue("key_longest", ("single_choice",), cue_key_longest, 0.30),
    Cue("all_none_above", CHOICE, cue_all_none_above, 0.0),
    Cue("absolute_distractor", CHOICE, cue_absolute_distractor, 0.10),
    Cue("unequal_options", CHOICE, cue_unequal_options, 0.10),
    Cue("stem_echo", ("single_choice",), cue_stem_echo, 1.0),  # judged by stem_echo_excess, not by its rate
    Cue("near_duplicate", ("single_choice", "multiple_response", "ordering"), cue_near_duplicate, 0.0),
    Cue("ordering_in_order", ("ordering",), cue_ordering_in_order, 0.0),
    Cue("lix", FORMATS, cue_lix, 0.0),
    Cue("translation", FORMATS, cue_translation, 0.05),
)
CUE_NAMES = (*(c.name for c in CUES[:1]), "key_position", *(c.name for c in CUES[1:]))


def key_position_ratio(items: Sequence[Item]) -> tuple[float, str]:
    """The observed / expected number of keys at the position farthest from balance, and a description.

    Single choice: position = index of the key among the options, expected Σ 1/k over the items with more than
    that many options. True/false: the keys T and F, expected half each.
    """
    observed: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    for item in items:
        if item.format == "true_false":
            observed[item.key[0]] += 1
            for label in ("T", "F"):
                expected[label] += 0.5
        else:
            observed[chr(ord("A") + item.option_ids.index(item.key[0]))] += 1
            for n in range(len(item.options)):
                expected[chr(ord("A") + n)] += 1 / len(item.options)
    if not expected:
        return 1.0, ""
    ratios = {p: observed[p] / e for p, e in sorted(expected.items())}
    worst = max(ratios, key=lambda p: abs(ratios[p] - 1.0))
    detail = ", ".join(f"{p} {observed[p]}/{expected[p]:.1f}" for p in sorted(expected))
    return ratios[worst], detail


# ------------------------------------------------------------------------------------------------------ the lint
def lint_items(items: Sequence[tuple[str, Item]], folder: str = "") -> LintReport:
    """Lint ``(area, item)`` pairs: flag every cue, measure rates per area × format and over all areas."""
    flags = [
        Flag(item_id=item.id, area=area, format=item.format, cue=cue.name, detail=detail)
        for area, item in items
        for cue in CUES
        if item.format in cue.formats and (detail := cue.test(item)) is not None
    ]
    flagged = {(f.item_id, f.cue) for f in flags}
    areas = sorted({a for a, _ in items})
    rates: list[CueRate] = []
    for name in CUE_NAMES:
        cue = next((c for c in CUES if c.name == name), None)
        formats = ("single_choice", "true_false") if cue is None else cue.formats
        for fmt in formats:
            for area in [*areas, ALL]:
                group = [it for a, it in items if it.format == fmt and area in (a, ALL)]
                if not group:
                    continue
                n = sum((it.id, name) in flagged for it in group)
                if name == "key_position":
                    value, _ = key_position_ratio(group)
                    lo, hi = KEY_POSITION_RATIO
                    ok, limit = lo <= value <= hi, f"{lo:g}-{hi:g}"
                elif name == "stem_echo":
                    value, _ = stem_echo_excess(group)
                    ok, limit = value <= STEM_ECHO_EXCESS, f"<= +{STEM_ECHO_EXCESS:.0%}"
                else:
                    assert cue is not None
                    value = n / len(group)
                    ok, limit = value <= cue.max_rate + 1e-12, f"<= {cue.max_rate:.0%}"
                rates.append(
                    CueRate(
                        cue=name,
                        area=area,
                        format=fmt,
                        n_items=len(group),
                        n_flagged=n,
                        value=round(value, 4),
                        limit=limit,
                        ok=ok,
                    )
                )
    lix_rows = []
    for level in sorted({it.level for _, it in items}):
        values = [lix(it.stem.da) for _, it in items if it.level == level]
        lix_rows.append(
            LixStats(
                level=level,
                n_items=len(values),
                mean=round(sum(values) / len(values), 1),
                max=round(max(values), 1),
                limit=LIX_LIMITS[level],
            )
        )
    return LintReport(folder=folder, n_items=len(items), rates=rates, flags=flags, lix=lix_rows)


def lint_bank(content: BankContent) -> LintReport:
    """Lint every item of a loaded bank (see the module docstring for the cues and thresholds)."""
    pairs = [(af.content.area, item) for af in content.area_files for item in af.content.items]
    return lint_items(pairs, str(content.folder))
