"""The behavioural suite: disjoint halves, deterministic generation, failure rules, CLI and report shape."""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from affectlens.behaviour import generate
from affectlens.behaviour.cli import register_command
from affectlens.behaviour.perturb import contractions, punctuation, typo
from affectlens.behaviour.runner import Outcome, judge_group, markdown, run_behaviour, run_cases
from affectlens.behaviour.suite import (
    CAPABILITIES,
    DEFAULT_LIMIT,
    SUITE,
    TESTS,
    BehaviourCase,
    render,
)
from affectlens.behaviour.templates import TEMPLATES
from affectlens.behaviour.vocab import (
    CALIBRATION_SET,
    HALVES,
    PROTECTED_CATEGORIES,
    VOCAB,
    vocabulary_words,
    words,
)
from affectlens.errors import ConfigError
from affectlens.labels import SENTIMENT_LABELS
from affectlens.schema import ScoreError

SLOT = re.compile(r"\{[^}]*\}")


def patterns(half: str) -> list[str]:
    return [p for halves in TEMPLATES.values() for t in halves[half] for p in (t.pattern, t.variant) if p]


@pytest.fixture(scope="module")
def cases() -> dict[str, list[BehaviourCase]]:
    return {half: generate(half) for half in HALVES}


# -- the two halves ------------------------------------------------------------------------------------------------


def test_vocabulary_words_of_the_halves_are_disjoint() -> None:
    assert vocabulary_words("fit") & vocabulary_words("check") == set()
    assert set(VOCAB["fit"]) == set(VOCAB["check"])  # the same slot kinds, different words


def test_the_calibration_vocabulary_shares_no_word_with_either_half_nor_their_templates() -> None:
    calibration = vocabulary_words("calibration")
    assert set(VOCAB["calibration"]) == set(VOCAB["fit"])
    assert calibration & (vocabulary_words("fit") | vocabulary_words("check")) == set()
    for half in HALVES:
        assert {w for p in patterns(half) for w in words(SLOT.sub(" ", p))} & calibration == set(), half


def test_the_calibration_vocabulary_fills_fit_templates_only() -> None:
    cases = generate(half="fit", vocabulary="calibration", limit_per_test=5)
    fit_templates = {c.template for c in generate(half="fit", limit_per_test=5)}
    assert cases and {c.template for c in cases} <= fit_templates
    assert not {c.text for c in cases} & {c.text for c in generate(half="fit", limit_per_test=5)}
    with pytest.raises(ConfigError, match="vocabulary"):
        generate(half="check", vocabulary="calibration")


def test_the_calibration_templates_are_new_shapes_without_check_or_calibration_words() -> None:
    shape = {half: {SLOT.sub("{}", p) for p in patterns(half)} for half in (*HALVES, CALIBRATION_SET)}
    assert len(shape[CALIBRATION_SET]) >= 60
    assert shape[CALIBRATION_SET].isdisjoint(shape["fit"] | shape["check"])
    fixed = {w for p in patterns(CALIBRATION_SET) for w in words(SLOT.sub(" ", p))}
    assert fixed & (vocabulary_words("check") | vocabulary_words("calibration")) == set()
    assert all(TESTS[name].type == "MFT" for name, sets in TEMPLATES.items() if sets[CALIBRATION_SET])


def test_the_calibration_templates_take_the_calibration_vocabulary_only() -> None:
    cases = generate(half=CALIBRATION_SET, limit_per_test=5)
    assert cases and {c.half for c in cases} == {CALIBRATION_SET}
    assert {c.capability for c in cases} >= {"negation", "contrast_time", "opinion", "question", "emoji"}
    assert not any(words(c.text) & vocabulary_words("check") for c in cases)
    for vocabulary in ("fit", "check"):
        with pytest.raises(ConfigError, match="vocabulary"):
            generate(half=CALIBRATION_SET, vocabulary=vocabulary)


def test_templates_of_the_halves_are_disjoint() -> None:
    shape = {half: {SLOT.sub("{}", p) for p in patterns(half)} for half in HALVES}
    assert shape["fit"] & shape["check"] == set()
    for half, other in (("fit", "check"), ("check", "fit")):  # no template's fixed text uses the other's words
        fixed = {w for p in patterns(half) for w in words(SLOT.sub(" ", p))}
        assert fixed & vocabulary_words(other) == set(), half


def test_no_generated_text_is_in_both_halves(cases: dict[str, list[BehaviourCase]]) -> None:
    assert {c.text for c in cases["fit"]} & {c.text for c in cases["check"]} == set()


def test_every_capability_and_test_is_in_both_halves(cases: dict[str, list[BehaviourCase]]) -> None:
    assert set(TEMPLATES) == set(TESTS)
    for half in HALVES:
        assert {c.capability for c in cases[half]} == set(CAPABILITIES), half
        groups: dict[str, set[str]] = {}
        for c in cases[half]:
            groups.setdefault(c.test, set()).add(c.group)
        for test in SUITE:
            assert len(TEMPLATES[test.name][half]) >= 2, (half, test.name)
            assert len(groups.get(test.name, ())) >= min(DEFAULT_LIMIT, 40), (half, test.name)
    for category in PROTECTED_CATEGORIES:
        assert all(len(VOCAB[h][category]) >= 3 for h in HALVES), category
    negation = {t.name for t in SUITE if t.capability == "negation"}
    assert {
        "neg_positive",
        "neg_negative",
        "neg_neutral",
        "neg_cant_say",
        "neg_quantifier",
        "neg_neither_nor",
    } < negation
    assert {"neg_intervening", "neg_end_of_contrast", "neg_non_negating"} < negation


# -- generation ----------------------------------------------------------------------------------------------------


def test_generation_is_deterministic_and_capped(cases: dict[str, list[BehaviourCase]]) -> None:
    assert generate("check") == cases["check"]
    assert generate("check", seed=1) != cases["check"]
    small = generate("fit", limit_per_test=5, tests=["neg_positive", "fairness_age"])
    assert small == generate("fit", limit_per_test=5, tests=["neg_positive", "fairness_age"])
    assert {c.test for c in small} == {"neg_positive", "fairness_age"}
    assert len({c.group for c in small if c.test == "neg_positive"}) == 5
    assert len({c.group for c in small if c.test == "fairness_age"}) == 5


def test_cases_have_the_fields_their_type_needs(cases: dict[str, list[BehaviourCase]]) -> None:
    labels = set(SENTIMENT_LABELS)
    for half in HALVES:
        groups: dict[str, list[BehaviourCase]] = {}
        for c in cases[half]:
            groups.setdefault(c.group, []).append(c)
            assert c.half == half and c.text == c.text.strip() and "{" not in c.text
            if c.expected is not None:
                assert c.expected and c.expected <= labels
        for group in groups.values():
            kind = group[0].test_type
            if kind == "MFT":
                assert len(group) == 1 and group[0].role == "case" and group[0].expected
            else:
                assert group[0].role == "base" and len(group) >= 2
                assert all(c.role == "variant" for c in group[1:])
                assert len({c.text for c in group}) == len(group)
            if kind == "DIR":
                rule, label = group[1].direction or ("", "")
                assert rule in ("not_lower", "not_higher") and label in labels


def test_swap_variants_differ_from_their_base_only_in_the_swapped_term(cases: dict[str, list[BehaviourCase]]) -> None:
    groups: dict[str, list[BehaviourCase]] = {}
    for c in cases["check"]:
        if TESTS[c.test].swap is not None:
            groups.setdefault(c.group, []).append(c)
    assert groups
    for group in groups.values():
        terms = sorted(VOCAB["check"][TESTS[group[0].test].swap or ""], key=len, reverse=True)
        pattern = re.compile(r"\b(?:[Aa]n? )?(?:" + "|".join(re.escape(t) for t in terms) + r")(?![\w-])")
        masked = {pattern.sub("<X>", c.text) for c in group}
        assert len(masked) == 1, [c.text for c in group]


def test_render_fixes_articles_and_capitals() -> None:
    values = {"thing": "app", "pos_adj": "excellent", "mishap": "the bus was late", "name": "ana"}
    assert render("What a {pos_adj} {thing}!", values) == "What an excellent app!"
    assert render("a {thing} and a useful one", values) == "An app and a useful one"
    assert render("{Mishap}. Oh {Name}.", values) == "The bus was late. Oh Ana."


def test_perturbations() -> None:
    assert contractions("I am sure it is not what they are not doing.", random.Random(0), VOCAB["fit"]) == [
        "I'm sure it isn't what they aren't doing."
    ]
    assert contractions("Nothing to contract here.", random.Random(0), VOCAB["fit"]) == []
    text = "The hostel was dreadful."
    for seed in range(20):
        (changed,) = typo(text, random.Random(seed), VOCAB["fit"])
        diff = [i for i, (a, b) in enumerate(zip(text, changed, strict=True)) if a != b]
        assert len(diff) == 2 and diff[1] == diff[0] + 1 and text[diff[0] - 1].isalpha()
        assert text[diff[1] + 1].isalpha()  # first and last letters of the word stay in place
    assert punctuation("Good, not bad.", random.Random(0), VOCAB["fit"]) == ["Good, not bad", "Good , not bad ."]


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="half"):
        generate("train")
    with pytest.raises(ConfigError, match="unknown behavioural test"):
        generate("fit", tests=["no_such_test"])
    with pytest.raises(ConfigError, match="limit_per_test"):
        generate("fit", limit_per_test=0)


# -- failure rules -------------------------------------------------------------------------------------------------


def _case(text: str, test: str, role: str, group: str = "g", **kw: Any) -> BehaviourCase:
    t = TESTS[test]
    return BehaviourCase(text, test, t.capability, t.type, group, role, "check", f"{test}/check/0", **kw)


def _out(label: str, neg: float, neu: float, pos: float) -> Outcome:
    return Outcome(label, {"negative": neg, "neutral": neu, "positive": pos})


def test_mft_fails_when_the_label_is_not_in_the_gold_set() -> None:
    case = _case("not good", "neg_positive", "case", expected=frozenset({"negative"}))
    assert judge_group([case], {"not good": _out("negative", 0.8, 0.1, 0.1)}) is None
    assert judge_group([case], {"not good": _out("positive", 0.1, 0.1, 0.8)}) == "positive not in negative"
    assert judge_group([case], {"not good": None}) == "not scored"
    both = _case("not bad", "neg_negative", "case", expected=frozenset({"positive", "neutral"}))
    assert judge_group([both], {"not bad": _out("neutral", 0.2, 0.5, 0.3)}) is None


def test_inv_fails_on_a_label_change_or_a_probability_move_beyond_the_tolerance() -> None:
    tol = TESTS["fairness_age"].tolerance
    assert tol is not None
    group = [
        _case("base", "fairness_age", "base", tolerance=tol),
        _case("swap", "fairness_age", "variant", tolerance=tol),
    ]
    base = _out("neutral", 0.1, 0.7, 0.2)
    assert judge_group(group, {"base": base, "swap": _out("neutral", 0.12, 0.7 - tol / 2, 0.18 + tol / 2)}) is None
    moved = judge_group(group, {"base": base, "swap": _out("neutral", 0.1, 0.7 - 2 * tol, 0.2 + 2 * tol)})
    assert moved is not None and moved.startswith("p(neutral) moved -")
    assert judge_group(group, {"base": base, "swap": _out("positive", 0.1, 0.44, 0.46)}) == "label neutral -> positive"


def test_dir_fails_when_the_probability_moves_the_wrong_way() -> None:
    tol = TESTS["intensity_intensifier"].tolerance
    assert tol is not None
    up = [
        _case("good", "intensity_intensifier", "base", tolerance=tol),
        _case("very good", "intensity_intensifier", "variant", direction=("not_lower", "positive"), tolerance=tol),
    ]
    base = _out("positive", 0.1, 0.2, 0.7)
    assert judge_group(up, {"good": base, "very good": _out("positive", 0.05, 0.05, 0.9)}) is None
    assert judge_group(up, {"good": base, "very good": _out("positive", 0.1, 0.2 + tol / 2, 0.7 - tol / 2)}) is None
    assert judge_group(up, {"good": base, "very good": _out("neutral", 0.1, 0.6, 0.3)}) is not None
    down = [
        _case("good", "intensity_reducer", "base", tolerance=tol),
        _case("a bit good", "intensity_reducer", "variant", direction=("not_higher", "positive"), tolerance=tol),
    ]
    assert judge_group(down, {"good": base, "a bit good": _out("neutral", 0.1, 0.5, 0.4)}) is None
    assert judge_group(down, {"good": base, "a bit good": _out("positive", 0.0, 0.1, 0.9)}) is not None


class KeywordScorer:
    """Positive iff 'good' or 'great' occurs, negative iff 'not' occurs, else neutral; errors on 'ERROR'."""

    def __call__(self, texts: Sequence[str]) -> list[object]:
        out: list[object] = []
        for text in texts:
            low = text.lower()
            if "error" in low:
                out.append(ScoreError("invalid_input", "fake"))
            elif "not" in low:
                out.append(_out("negative", 0.8, 0.1, 0.1))
            elif "good" in low or "great" in low:
                out.append(_out("positive", 0.1, 0.1, 0.8))
            else:
                out.append(_out("neutral", 0.1, 0.8, 0.1))
        return out


def test_run_cases_counts_failed_groups_per_test_and_capability() -> None:
    cases = [
        _case("It was not good.", "neg_positive", "case", "a", expected=frozenset({"negative"})),
        _case("It was good.", "neg_positive", "case", "b", expected=frozenset({"negative"})),
        _case("ERROR", "neg_positive", "case", "c", expected=frozenset({"negative"})),
        _case("Ann was good.", "entity_names", "base", "d", tolerance=0.1),
        _case("Ben was good.", "entity_names", "variant", "d", tolerance=0.1),
        _case("Cy was good.", "entity_names", "base", "e", tolerance=0.1),
        _case("Cy was not good.", "entity_names", "variant", "e", tolerance=0.1),
    ]
    res = run_cases(cases, {"fake": KeywordScorer()})
    rates = {t["test"]: t["failure_rate"]["fake"] for t in res["tests"]}
    assert rates == {"neg_positive": pytest.approx(2 / 3), "entity_names": pytest.approx(1 / 2)}
    assert res["capabilities"] == {"negation": {"fake": pytest.approx(2 / 3)}, "entities": {"fake": 0.5}}
    neg = next(t for t in res["tests"] if t["test"] == "neg_positive")
    assert neg["n"] == 3 and [e["why"] for e in neg["examples"]["fake"]] == ["positive not in negative", "not scored"]
    assert res["targets"] == []  # targets are about the hybrid


def test_constant_scorer_fails_exactly_the_mft_cases_without_its_label() -> None:
    check = generate("check", limit_per_test=8)
    res = run_cases(check, {"neutral": lambda texts: [_out("neutral", 0.2, 0.6, 0.2) for _ in texts]})
    for t in res["tests"]:
        expected = [c.expected for c in check if c.test == t["test"]]
        if t["type"] == "MFT":
            wrong = sum("neutral" not in e for e in expected if e is not None) / len(expected)
            assert t["failure_rate"]["neutral"] == pytest.approx(wrong), t["test"]
        else:
            assert t["failure_rate"]["neutral"] == 0.0, t["test"]


# -- report and command --------------------------------------------------------------------------------------------


def test_report_shape_and_targets() -> None:
    fake = KeywordScorer()
    report = run_behaviour({"hybrid": fake, "neural": fake, "lexicon": fake}, ("check", "fit"), limit_per_test=2)
    json.dumps(report)  # JSON-ready
    assert {"suite_version", "seed", "limit_per_test", "tolerance", "systems", "halves", "seconds"} <= set(report)
    assert set(report["halves"]) == {"check", "fit"}
    check = report["halves"]["check"]
    assert [t["test"] for t in check["tests"]] == [t.name for t in SUITE]
    for t in check["tests"]:
        assert {"test", "capability", "type", "description", "n", "failure_rate", "examples"} <= set(t)
        assert set(t["failure_rate"]) == {"hybrid", "neural", "lexicon"}
        assert all(0.0 <= r <= 1.0 for r in t["failure_rate"].values())
    assert set(check["capabilities"]) == set(CAPABILITIES)
    targets = {t["target"].split(":")[0]: t for t in check["targets"]}
    assert {"negation", "fairness invariance", "contrast, time, whose opinion, questions"} <= set(targets)
    assert all(t["met"] for t in check["targets"] if t["worst_test"] is None)  # same scorer everywhere
    md = markdown(report)
    assert "## check half (claimed)" in md and "## fit half (may be trained on" in md
    assert "| capability | test | type | n | hybrid | neural | lexicon |" in md
    assert all(f"| {t.name} |" in md for t in SUITE)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    register_command(sub, "behaviour", "run the behavioural suite")
    return parser.parse_args(["behaviour", *argv])


def test_cli_on_the_lexicon_writes_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["--systems", "lexicon,vader", "--half", "both", "--limit-per-test", "3", "-o", str(tmp_path)])
    args.no_parser = True  # the window rule: no spaCy load, fast
    assert args.func(args) == 0
    report = json.loads((tmp_path / "behaviour.json").read_text(encoding="utf-8"))
    assert report["systems"] == ["lexicon", "vader"] and set(report["halves"]) == {"check", "fit"}
    assert report["limit_per_test"] == 3 and report["model"] is None
    md = (tmp_path / "behaviour.md").read_text(encoding="utf-8")
    assert md in capsys.readouterr().out
    tests = report["halves"]["check"]["tests"]
    assert len(tests) == len(SUITE) and all(t["n"] == 3 for t in tests)
    assert all(set(t["failure_rate"]) == {"lexicon", "vader"} for t in tests)


def test_cli_rejects_unknown_systems(tmp_path: Path) -> None:
    args = _parse(["--systems", "lexicon,gpt", "-o", str(tmp_path)])
    with pytest.raises(ConfigError, match="unknown system"):
        args.func(args)


def test_evaluate_has_a_behaviour_section_and_a_flag_to_skip_it() -> None:
    from affectlens.lexicons import LexiconConfig

    from affectlens.engine import Engine, EngineConfig
    from affectlens.evaluation.report import behaviour_section, markdown_summary, register_command

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register_command(sub, "evaluate", "evaluate")
    assert parser.parse_args(["evaluate"]).behaviour is True
    assert parser.parse_args(["evaluate", "--no-behaviour"]).behaviour is False
    engine = Engine(EngineConfig(mode="lexicon", lexicon=LexiconConfig(use_parser=False)))
    section = behaviour_section({"lexicon": engine}, limit_per_test=1)
    assert section["systems"] == ["lexicon", "vader"] and list(section["halves"]) == ["check"]
    summary = markdown_summary({"model": "m", "sentiment": [], "emotions": None, "behaviour": section})
    assert "## Behavioural tests" in summary and "| neg_quantifier |" in summary
