"""Run the behavioural suite on any scorer and report failure rates per test, per capability and per system.

A scorer is an :class:`~affectlens.engine.Engine` (anything with ``score_batch(texts)``) or a callable
``texts -> list[Prediction | ScoreError]``, results in input order; a result needs ``label`` and ``scores``
(negative / neutral / positive). A text that could not be scored fails its group.

Failure rules (a group fails if any of its cases does):

* MFT: the predicted label is not in the gold set.
* INV: a variant's label differs from the base's label L, or its p(L) differs from the base's by more than the
  test's tolerance (:data:`~affectlens.behaviour.suite.INV_TOLERANCE`).
* DIR: ``not_lower``: p_variant(label) < p_base(label) - tolerance; ``not_higher``: p_variant(label) >
  p_base(label) + tolerance (:data:`~affectlens.behaviour.suite.DIR_TOLERANCE`).

A test's failure rate is failed groups / groups; a capability's is the mean over its tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from affectlens.behaviour.suite import (
    CAPABILITY_MARGIN,
    DEFAULT_LIMIT,
    DIR_TOLERANCE,
    INV_TOLERANCE,
    SUITE_VERSION,
    TARGETS,
    TESTS,
    BehaviourCase,
    generate,
)
from affectlens.behaviour.vocab import CALIBRATION_SET
from affectlens.errors import ConfigError

SYSTEMS: tuple[str, ...] = ("hybrid", "neural", "lexicon", "vader")
CLAIMS = {  # what each template set's figures may be used for (the report's headings)
    "check": "claimed",
    "fit": "may be trained on: not claimed",
    CALIBRATION_SET: "the ensemble is fitted on them, never trained on: not claimed",
}
MAX_EXAMPLES = 3  # failing groups kept per test and system in the report
Scorer = Callable[[Sequence[str]], Sequence[Any]]


@dataclass(frozen=True)
class Outcome:
    """What a system said about one text."""

    label: str
    scores: Mapping[str, float]


def as_scorer(system: Any) -> Scorer:
    """An Engine (``score_batch``) or a plain callable, as a callable."""
    if hasattr(system, "score_batch"):
        return lambda texts: system.score_batch(list(texts))
    if callable(system):
        return system
    raise ConfigError(f"a scorer must be an Engine or a callable texts -> predictions, not {type(system).__name__}")


def score_texts(system: Any, texts: Sequence[str], batch_size: int = 256) -> dict[str, Outcome | None]:
    """Score each distinct text once; None where the scorer answered an error."""
    scorer = as_scorer(system)
    unique = list(dict.fromkeys(texts))
    out: dict[str, Outcome | None] = {}
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        results = list(scorer(chunk))
        if len(results) != len(chunk):
            raise ConfigError(f"the scorer returned {len(results)} results for {len(chunk)} texts")
        for text, result in zip(chunk, results, strict=True):
            label, scores = getattr(result, "label", None), getattr(result, "scores", None)
            out[text] = None if label is None or scores is None else Outcome(str(label), dict(scores))
    return out


def judge_group(group: Sequence[BehaviourCase], outcomes: Mapping[str, Outcome | None]) -> str | None:
    """Why the group fails, or None if it passes."""
    got = [outcomes.get(c.text) for c in group]
    if any(o is None for o in got):
        return "not scored"
    first = group[0]
    if first.test_type == "MFT":
        label = got[0].label  # type: ignore[union-attr]
        assert first.expected is not None
        return None if label in first.expected else f"{label} not in {'/'.join(sorted(first.expected))}"
    base = next(o for c, o in zip(group, got, strict=True) if c.role == "base")
    assert base is not None
    for case, o in zip(group, got, strict=True):
        if case.role != "variant":
            continue
        assert o is not None
        tol = case.tolerance if case.tolerance is not None else 0.0
        if case.test_type == "INV":
            if o.label != base.label:
                return f"label {base.label} -> {o.label}"
            moved = o.scores[base.label] - base.scores[base.label]
            if abs(moved) > tol:
                return f"p({base.label}) moved {moved:+.3f}"
        else:
            assert case.direction is not None
            rule, label = case.direction
            moved = o.scores[label] - base.scores[label]
            if (rule == "not_lower" and moved < -tol) or (rule == "not_higher" and moved > tol):
                return f"p({label}) {moved:+.3f} ({rule.replace('_', ' ')})"
    return None


def _groups(cases: Sequence[BehaviourCase]) -> dict[str, dict[str, list[BehaviourCase]]]:
    out: dict[str, dict[str, list[BehaviourCase]]] = {}
    for c in cases:
        out.setdefault(c.test, {}).setdefault(c.group, []).append(c)
    return out


def _example(group: Sequence[BehaviourCase], outcomes: Mapping[str, Outcome | None], why: str) -> dict[str, Any]:
    rows = []
    for c in group:
        o = outcomes.get(c.text)
        rows.append(
            {"text": c.text, "label": None if o is None else o.label}
            | ({} if o is None else {"scores": {k: round(v, 3) for k, v in o.scores.items()}})
        )
    return {"why": why, "cases": rows}


def run_cases(cases: Sequence[BehaviourCase], systems: Mapping[str, Any]) -> dict[str, Any]:
    """Score the cases of one half with every system; per-test and per-capability failure rates."""
    texts = [c.text for c in cases]
    outcomes = {name: score_texts(system, texts) for name, system in systems.items()}
    tests: list[dict[str, Any]] = []
    for test_name, groups in _groups(cases).items():
        test = TESTS[test_name]
        rates: dict[str, float] = {}
        examples: dict[str, list[dict[str, Any]]] = {}
        for name in systems:
            failed = 0
            for group in groups.values():
                why = judge_group(group, outcomes[name])
                if why is not None:
                    failed += 1
                    if len(examples.setdefault(name, [])) < MAX_EXAMPLES:
                        examples[name].append(_example(group, outcomes[name], why))
            rates[name] = failed / len(groups)
        tests.append(
            {
                "test": test.name,
                "capability": test.capability,
                "type": test.type,
                "description": test.description,
                "n": len(groups),
                "texts": sum(len(g) for g in groups.values()),
                "failure_rate": rates,
                "examples": examples,
            }
        )
    capabilities: dict[str, dict[str, float]] = {}
    for t in tests:
        for name, rate in t["failure_rate"].items():
            capabilities.setdefault(t["capability"], {}).setdefault(name, 0.0)
            capabilities[t["capability"]][name] += rate
    for cap, rates in capabilities.items():
        k = sum(t["capability"] == cap for t in tests)
        capabilities[cap] = {name: r / k for name, r in rates.items()}
    return {
        "cases": len(cases),
        "distinct_texts": len(set(texts)),
        "tests": tests,
        "capabilities": capabilities,
        "targets": check_targets(tests, capabilities),
    }


def check_targets(tests: Sequence[Mapping[str, Any]], capabilities: Mapping[str, Mapping[str, float]]) -> list[Any]:
    """The targets for the hybrid (see :data:`~affectlens.behaviour.suite.TARGETS`); empty without a hybrid."""
    rates = {t["test"]: t["failure_rate"] for t in tests}
    out: list[dict[str, Any]] = []
    if not any("hybrid" in r for r in rates.values()):
        return out
    for target in TARGETS:
        measured = [(rates[n]["hybrid"], n) for n in target.tests if n in rates]
        if not measured:  # a set without these tests (the calibration templates: MFT only)
            continue
        worst = max(measured)
        out.append(
            {
                "target": f"{target.name}: hybrid failure <= {target.max_failure:.0%} on every test",
                "worst_test": worst[1],
                "worst": worst[0],
                "met": worst[0] <= target.max_failure,
            }
        )
    for cap, r in capabilities.items():
        others = [r[s] for s in ("neural", "lexicon") if s in r]
        if others:
            out.append(
                {
                    "target": f"{cap}: hybrid <= min(neural, lexicon) + {CAPABILITY_MARGIN:.0%}",
                    "worst_test": None,
                    "worst": r["hybrid"] - min(others),
                    "hybrid": r["hybrid"],
                    "best_other": min(others),
                    "met": r["hybrid"] <= min(others) + CAPABILITY_MARGIN,
                }
            )
    return out


def run_behaviour(
    systems: Mapping[str, Any],
    halves: Sequence[str] = ("check",),
    seed: int = 0,
    limit_per_test: int = DEFAULT_LIMIT,
    model: str | None = None,
) -> dict[str, Any]:
    """The whole report (a JSON-ready dict) for the given halves; only the check half may be claimed."""
    if not systems:
        raise ConfigError("no systems to test: give at least one of " + ", ".join(SYSTEMS))
    started = time.perf_counter()
    report: dict[str, Any] = {
        "suite_version": SUITE_VERSION,
        "seed": seed,
        "limit_per_test": limit_per_test,
        "tolerance": {"INV": INV_TOLERANCE, "DIR": DIR_TOLERANCE},
        "systems": list(systems),
        "model": model,
        "halves": {},
    }
    for half in halves:
        report["halves"][half] = run_cases(generate(half, seed, limit_per_test), systems)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def vader_scorer() -> Scorer:
    """Stock VADER with its ±0.05 rule on the compound score (the evaluation report's baseline)."""
    from affectlens.evaluation.baselines import stock_vader
    from affectlens.labels import SENTIMENT_LABELS

    def score(texts: Sequence[str]) -> list[Outcome]:
        probs = stock_vader(list(texts))
        out = []
        for row in probs:  # p(pos) >= 0.5 exactly when compound >= 0.05 (see lexicon_sentiment_scores)
            label = "positive" if row[2] >= 0.5 else "negative" if row[0] >= 0.5 else "neutral"
            out.append(Outcome(label, dict(zip(SENTIMENT_LABELS, map(float, row), strict=True))))
        return out

    return score


def build_systems(names: Sequence[str], engine_config: Any = None) -> dict[str, Any]:
    """Scorers by name: hybrid / neural / lexicon (Engines built from ``engine_config``'s options) and vader."""
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise ConfigError(f"unknown system(s) {', '.join(unknown)}: choose from {', '.join(SYSTEMS)}")
    from dataclasses import replace

    from affectlens.engine import Engine, EngineConfig

    base = engine_config or EngineConfig()
    return {n: vader_scorer() if n == "vader" else Engine(replace(base, mode=n)) for n in names}


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{100 * rate:.1f}"


def markdown(report: Mapping[str, Any], heading: str = "#") -> str:
    """Tables per half: failure % per test and per capability, then the targets (check half)."""
    systems = list(report["systems"])
    head = "| " + " | ".join(systems) + " |"
    rule = "|" + "---:|" * len(systems)
    lines = [
        f"{heading} Behavioural tests (suite v{report['suite_version']}, seed {report['seed']}, "
        f"up to {report['limit_per_test']} per test)",
        "",
        f"Failure rate in % (lower is better). INV tolerance {report['tolerance']['INV']}, DIR tolerance "
        f"{report['tolerance']['DIR']} (probability). Only the check half is claimed; the fit half may be "
        "used for training and calibration.",
    ]
    if report.get("model"):
        lines += ["", f"Model: {report['model']}"]
    for half, res in report["halves"].items():
        claim = CLAIMS.get(half, "not claimed")
        lines += [
            "",
            f"{heading}# {half} {'templates' if half == CALIBRATION_SET else 'half'} ({claim}): {res['cases']} cases",
            "",
            "| capability | test | type | n " + head,
            "|---|---|---|---:" + rule,
        ]
        for t in res["tests"]:
            cells = " | ".join(_pct(t["failure_rate"].get(s)) for s in systems)
            lines.append(f"| {t['capability']} | {t['test']} | {t['type']} | {t['n']} | {cells} |")
        lines += ["", "| capability (mean of its tests) " + head, "|---" + rule]
        for cap, rates in res["capabilities"].items():
            lines.append(f"| {cap} | " + " | ".join(_pct(rates.get(s)) for s in systems) + " |")
        if half == "check" and res["targets"]:
            lines += ["", "Targets (check half):", ""]
            for t in res["targets"]:
                if t["worst_test"]:
                    where = f" (worst: {t['worst_test']} {_pct(t['worst'])} %)"
                else:
                    where = f" (hybrid {_pct(t['hybrid'])} %, best other {_pct(t['best_other'])} %)"
                lines.append(f"- [{'x' if t['met'] else ' '}] {t['target']}{where}")
    return "\n".join(lines) + "\n"
