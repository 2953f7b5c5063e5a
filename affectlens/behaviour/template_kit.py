"""The building blocks of the behavioural templates: gold-label sets, ``Template`` and its two constructors."""

from __future__ import annotations

from dataclasses import dataclass

POS = frozenset({"positive"})
NEG = frozenset({"negative"})
NEU = frozenset({"neutral"})
POS_NEU = frozenset({"positive", "neutral"})
NEG_NEU = frozenset({"negative", "neutral"})


@dataclass(frozen=True)
class Template:
    """One pattern. ``expected``: gold labels (MFT; optional on INV/DIR bases, for later use as training data).

    DIR only: ``variant`` is the changed pattern (same slot values) and ``direction`` is ``(rule, label)`` with
    rule ``not_lower`` or ``not_higher``: p(label) of the variant must not fall (rise) below (above) the base's.
    """

    pattern: str
    expected: frozenset[str] | None = None
    variant: str | None = None
    direction: tuple[str, str] | None = None


def _m(pattern: str, expected: frozenset[str]) -> Template:
    return Template(pattern, expected)


def _d(pattern: str, variant: str, rule: str, label: str, expected: frozenset[str] | None = None) -> Template:
    return Template(pattern, expected, variant, (rule, label))


Halves = dict[str, tuple[Template, ...]]
