"""The behavioural suite: test definitions and their deterministic expansion into cases.

Three test types (the CheckList methodology): MFT (minimum functionality: the label must be in the gold set),
INV (invariance: a meaning-preserving change, or a swap of a name, a number or a protected attribute, must not
change the label nor move the predicted label's probability by more than :data:`INV_TOLERANCE`), DIR
(directional: a change must not move one probability the wrong way by more than :data:`DIR_TOLERANCE`).

``generate(half, seed)`` gives the cases of one half; the same arguments always give the same cases. The *fit*
half may be used for training and calibration data; only the *check* half (disjoint templates and words) may be
used to make claims.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from affectlens.behaviour.perturb import PERTURBATIONS
from affectlens.behaviour.templates import TEMPLATES, Template
from affectlens.behaviour.vocab import CALIBRATION_SET, PERSON_PATTERNS, PROTECTED_CATEGORIES, TEMPLATE_SETS, VOCAB
from affectlens.errors import ConfigError

SUITE_VERSION = 1
TEST_TYPES = ("MFT", "INV", "DIR")
INV_TOLERANCE = 0.10  # INV: |p_variant(L) - p_base(L)| for the base's predicted label L
DIR_TOLERANCE = 0.05  # DIR: how far p(label) may move the wrong way
DEFAULT_LIMIT = 60  # cases (MFT) or groups (INV, DIR) per test
ENTITY_SWAPS = 3  # INV swaps of a name, city or number: this many other values per group

CAPABILITIES: tuple[str, ...] = (
    "vocabulary",
    "intensity",
    "negation",
    "contrast_time",
    "opinion",
    "question",
    "sarcasm",
    "emoji",
    "robustness",
    "entities",
    "fairness",
)


@dataclass(frozen=True)
class BehaviourTest:
    """One test: ``swap`` (INV: the slot kind whose value is swapped) or ``perturb`` (INV: a perturbation)."""

    name: str
    capability: str
    type: str
    description: str
    swap: str | None = None
    perturb: str | None = None

    def __post_init__(self) -> None:
        if self.type not in TEST_TYPES:
            raise ConfigError(f"test {self.name}: type must be one of {', '.join(TEST_TYPES)}, not {self.type!r}")
        if self.capability not in CAPABILITIES:
            raise ConfigError(f"test {self.name}: unknown capability {self.capability!r}")
        if self.type == "INV" and (self.swap is None) == (self.perturb is None):
            raise ConfigError(f"INV test {self.name} needs exactly one of swap= or perturb=")

    @property
    def tolerance(self) -> float | None:
        return INV_TOLERANCE if self.type == "INV" else DIR_TOLERANCE if self.type == "DIR" else None


@dataclass(frozen=True)
class BehaviourCase:
    """One text to score. Cases with the same ``group`` are judged together (an MFT case is its own group).

    ``role``: "case" (MFT), "base" or "variant" (INV, DIR). ``expected``: gold labels (MFT; INV bases and
    variants and DIR bases where the template knows them). ``direction``: DIR variants' ``(rule, label)``.
    """

    text: str
    test: str
    capability: str
    test_type: str
    group: str
    role: str
    half: str
    template: str
    expected: frozenset[str] | None = None
    direction: tuple[str, str] | None = None
    tolerance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "test": self.test,
            "capability": self.capability,
            "type": self.test_type,
            "group": self.group,
            "role": self.role,
            "half": self.half,
            "template": self.template,
            "expected": None if self.expected is None else sorted(self.expected),
            "direction": None if self.direction is None else list(self.direction),
            "tolerance": self.tolerance,
        }


@dataclass(frozen=True)
class Target:
    """What later work must meet on the check half: hybrid failure rate <= ``max_failure`` on every test listed."""

    name: str
    tests: tuple[str, ...]
    max_failure: float


def _t(name: str, capability: str, type_: str, description: str, **kw: str) -> BehaviourTest:
    return BehaviourTest(name, capability, type_, description, **kw)


SUITE: tuple[BehaviourTest, ...] = (
    _t("vocab_positive", "vocabulary", "MFT", "plain positive statements are positive"),
    _t("vocab_negative", "vocabulary", "MFT", "plain negative statements are negative"),
    _t("vocab_neutral", "vocabulary", "MFT", "factual statements are neutral"),
    _t("vocab_opposite_clause", "vocabulary", "DIR", "adding a clause of the other polarity does not raise p(label)"),
    _t("intensity_intensified", "intensity", "MFT", "intensified adjectives keep their polarity"),
    _t("intensity_intensifier", "intensity", "DIR", "an intensifier does not lower the polar probability"),
    _t("intensity_reducer", "intensity", "DIR", "a reducer does not raise the polar probability"),
    _t("neg_positive", "negation", "MFT", "negated positive is negative (not, n't, never, hardly, far from)"),
    _t("neg_negative", "negation", "MFT", "negated negative is positive or neutral"),
    _t("neg_neutral", "negation", "MFT", "negated neutral statement stays neutral"),
    _t("neg_cant_say", "negation", "MFT", '"can\'t say I ...", "would never say ..."'),
    _t("neg_quantifier", "negation", "MFT", "negative quantifiers as subjects (nobody, no one, nothing, none of)"),
    _t("neg_neither_nor", "negation", "MFT", "neither ... nor ..."),
    _t("neg_intervening", "negation", "MFT", "negation with material between cue and opinion word"),
    _t("neg_end_of_contrast", "negation", "MFT", 'negation at the end of a contrast ("..., but it was not")'),
    _t("neg_non_negating", "negation", "MFT", '"not only ... but also", "no doubt", "nothing but" do not negate'),
    _t("contrast_but", "contrast_time", "MFT", "the conclusion after but / although / despite decides"),
    _t("time_change", "contrast_time", "MFT", 'the present opinion decides ("used to ... now ...")'),
    _t("opinion_others_vs_mine", "opinion", "MFT", "the author's opinion counts, not others'"),
    _t("question_answered", "question", "MFT", "a yes/no question with its answer"),
    _t("question_unanswered", "question", "MFT", "a question without an answer is neutral"),
    _t("sarcasm_markers", "sarcasm", "MFT", "praise words with sarcasm markers about a mishap are negative"),
    _t("emoji_polar", "emoji", "MFT", "a polar emoji after a neutral sentence decides the label"),
    _t("emoji_contradicts_words", "emoji", "MFT", "emoji that contradict the words (irony emoji; slang praise)"),
    _t("emoji_agreeing", "emoji", "DIR", "an emoji that agrees does not lower the polar probability"),
    _t("robust_typo", "robustness", "INV", "one swap of two adjacent letters", perturb="typo"),
    _t("robust_url_handle", "robustness", "INV", "a user handle or a URL added", perturb="url_handle"),
    _t("robust_punctuation", "robustness", "INV", "final punctuation dropped or split off", perturb="punctuation"),
    _t("robust_contractions", "robustness", "INV", "long forms contracted (I am -> I'm)", perturb="contractions"),
    _t("entity_names", "entities", "INV", "another person's name", swap="name"),
    _t("entity_cities", "entities", "INV", "another city", swap="city"),
    _t("entity_numbers", "entities", "INV", "another number", swap="number"),
    *(
        _t(f"fairness_{c}", "fairness", "INV", f"another protected attribute: {c}", swap=c)
        for c in PROTECTED_CATEGORIES
    ),
)

TESTS: dict[str, BehaviourTest] = {t.name: t for t in SUITE}

TARGETS: tuple[Target, ...] = (
    Target("negation", tuple(t.name for t in SUITE if t.capability == "negation"), 0.05),
    Target(
        "contrast, time, whose opinion, questions",
        tuple(t.name for t in SUITE if t.capability in ("contrast_time", "opinion", "question")),
        0.10,
    ),
    Target("fairness invariance", tuple(t.name for t in SUITE if t.capability == "fairness"), 0.02),
)
# ... and no capability where the hybrid fails more often than the better of neural and lexicon by this much.
CAPABILITY_MARGIN = 0.02

_SLOT = re.compile(r"\{([A-Za-z_]+?)(\d?)\}")
_ARTICLE = re.compile(r"\b([Aa]) (?=([\w-]+))")
_CONSONANT_SOUND = ("uni", "use", "usu", "one", "eu")
_VOWEL_SOUND = ("hour", "honest", "honou")


def _article(match: re.Match[str]) -> str:
    word = match.group(2).lower()
    vowel = (word[0] in "aeiou" and not word.startswith(_CONSONANT_SOUND)) or word.startswith(_VOWEL_SOUND)
    return f"{match.group(1)}n " if vowel else match.group(0)


def _slots(patterns: Iterable[str]) -> list[tuple[str, str]]:
    """(key, kind) of every slot: key "pos_adj2" has kind "pos_adj"; capitalized slots share the lower key."""
    seen: dict[str, str] = {}
    for pattern in patterns:
        for m in _SLOT.finditer(pattern):
            kind = m.group(1).lower()
            seen.setdefault(kind + m.group(2), kind)
    return list(seen.items())


def render(pattern: str, values: Mapping[str, str]) -> str:
    """Fill ``pattern``; ``{Kind}`` capitalizes; a/an agree with the next word; the first letter is upper case."""

    def fill(m: re.Match[str]) -> str:
        value = values[m.group(1).lower() + m.group(2)]
        return value[:1].upper() + value[1:] if m.group(1)[:1].isupper() else value

    text = _ARTICLE.sub(_article, _SLOT.sub(fill, pattern))
    return text[:1].upper() + text[1:]


def _person(vocabulary: str, category: str, attr: str, role: str) -> str:
    return PERSON_PATTERNS[vocabulary][category].format(attr=attr, role=role)


def _draw(
    slots: Sequence[tuple[str, str]], vocabulary: str, rng: random.Random, category: str | None
) -> dict[str, str]:
    vocab = VOCAB[vocabulary]
    values: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    for key, kind in slots:
        if kind == "person":
            if category is None:
                raise ConfigError("a {person} slot needs a fairness test (swap=<protected category>)")
            values["_attr"] = rng.choice(vocab[category])
            values["_role"] = rng.choice(vocab["role"]) if "{role}" in PERSON_PATTERNS[vocabulary][category] else ""
            continue
        choices = [v for v in vocab[kind] if v not in used.get(kind, set())]
        values[key] = rng.choice(choices)
        used.setdefault(kind, set()).add(values[key])
    return values


def _expand_template(
    test: BehaviourTest, half: str, index: int, template: Template, seed: int, limit: int, vocabulary: str
) -> list[list[BehaviourCase]]:
    """Up to ``limit`` groups of cases from one template, in a deterministic order."""
    salt = "" if vocabulary == half else f"/{vocabulary}"
    rng = random.Random(f"{seed}/{half}/{test.name}/{index}{salt}")
    patterns = [template.pattern] + ([template.variant] if template.variant else [])
    slots = _slots(patterns)
    category = test.swap if test.swap in PROTECTED_CATEGORIES else None
    template_id = f"{test.name}/{half}/{index}"
    groups: list[list[BehaviourCase]] = []
    seen: set[tuple[tuple[str, str], ...]] = set()

    def case(text: str, role: str, k: int, **kw: Any) -> BehaviourCase:
        return BehaviourCase(
            text, test.name, test.capability, test.type, f"{template_id}/{k}", role, half, template_id, **kw
        )

    misses = 0
    while len(groups) < limit and misses < 200:  # 200 draws in a row without a new filling: (nearly) exhausted
        values = _draw(slots, vocabulary, rng, category)
        identity = tuple(sorted((k, v) for k, v in values.items() if not (category and k == "_attr")))
        if identity in seen:
            misses += 1
            continue
        misses = 0
        seen.add(identity)
        if category:
            values["person"] = _person(vocabulary, category, values["_attr"], values["_role"])
        base = render(template.pattern, values)
        k = len(groups)
        if test.type == "MFT":
            groups.append([case(base, "case", k, expected=template.expected)])
        elif test.type == "DIR":
            assert template.variant is not None and template.direction is not None, template_id
            groups.append(
                [
                    case(base, "base", k, expected=template.expected, tolerance=test.tolerance),
                    case(
                        render(template.variant, values),
                        "variant",
                        k,
                        direction=template.direction,
                        tolerance=test.tolerance,
                    ),
                ]
            )
        else:
            variants = _variants(test, vocabulary, values, base, template.pattern, rng)
            if not variants:
                continue
            kw = {"expected": template.expected, "tolerance": test.tolerance}
            groups.append([case(base, "base", k, **kw)] + [case(v, "variant", k, **kw) for v in variants])
    return groups


def _variants(
    test: BehaviourTest, vocabulary: str, values: dict[str, str], base: str, pattern: str, rng: random.Random
) -> list[str]:
    vocab = VOCAB[vocabulary]
    if test.perturb is not None:
        out = PERTURBATIONS[test.perturb](base, rng, vocab)
    else:
        assert test.swap is not None
        if test.swap in PROTECTED_CATEGORIES:
            others = [a for a in vocab[test.swap] if a != values["_attr"]]
            swapped = [{**values, "person": _person(vocabulary, test.swap, a, values["_role"])} for a in others]
        else:
            key = next(k for k, kind in _slots([pattern]) if kind == test.swap)
            others = [v for v in vocab[test.swap] if v != values[key]]
            swapped = [{**values, key: v} for v in rng.sample(others, min(ENTITY_SWAPS, len(others)))]
        out = [render(pattern, v) for v in swapped]
    return list(dict.fromkeys(v for v in out if v != base))


def generate(
    half: str = "check",
    seed: int = 0,
    limit_per_test: int = DEFAULT_LIMIT,
    tests: Iterable[str] | None = None,
    vocabulary: str | None = None,
) -> list[BehaviourCase]:
    """All cases of one half, test by test. Each test gets up to ``limit_per_test`` groups, its templates in turn.

    ``half``: "fit", "check" or "calibration" (the fit half's calibration templates: MFT tests only, never trained
    on). ``vocabulary``: the words that fill the templates (default: the set's own; "calibration" may also fill
    the fit templates, with words neither half uses, for calibration data). Deterministic: the same arguments always
    give the same cases, in the same order.
    """
    if half not in TEMPLATE_SETS:
        raise ConfigError(f"half must be one of {', '.join(TEMPLATE_SETS)}, not {half!r}")
    vocabulary = half if vocabulary is None else vocabulary
    allowed = {"check": ("check",), CALIBRATION_SET: (CALIBRATION_SET,)}.get(half, ("fit", CALIBRATION_SET))
    if vocabulary not in allowed:
        raise ConfigError(f"the {half} templates take the vocabulary {' or '.join(allowed)}, not {vocabulary!r}")
    if limit_per_test < 1:
        raise ConfigError(f"limit_per_test must be at least 1, not {limit_per_test}")
    names = list(TESTS) if tests is None else list(tests)
    unknown = [n for n in names if n not in TESTS]
    if unknown:
        raise ConfigError(f"unknown behavioural test(s) {', '.join(unknown)}; known: {', '.join(TESTS)}")
    out: list[BehaviourCase] = []
    for name in names:
        test = TESTS[name]
        per_template = [
            _expand_template(test, half, i, t, seed, limit_per_test, vocabulary)
            for i, t in enumerate(TEMPLATES[name].get(half, ()))
        ]
        picked: list[list[BehaviourCase]] = []
        depth = 0
        while len(picked) < limit_per_test and any(depth < len(g) for g in per_template):
            picked += [g[depth] for g in per_template if depth < len(g)]
            depth += 1
        texts_seen: set[str] = set()
        kept = 0
        for group in picked:
            key = group[0].text if test.type == "MFT" else "\n".join(c.text for c in group)
            if key in texts_seen or kept >= limit_per_test:
                continue
            texts_seen.add(key)
            out += group
            kept += 1
    return out
