"""Emoji detection and valence.

Tokens of kind EMOJI come from the tokenizer (the ``emoji`` package finds them). For the valence
lookup an emoji is normalized to its base: variation selectors (U+FE0E, U+FE0F) and skin-tone
modifiers are removed; a ZWJ sequence not in the table falls back to its first component
(``🤦🏻‍♂️`` -> ``🤦``). Values come from ``data/emoji_valence.tsv`` (VADER's -4..+4 scale, hand
assigned; provenance and licence in ``data/README.md``). An emoji not in the table gets 0.0.

Irony markers (``IRONY_EMOJI``: an eye roll, an unamused or upside-down face, a smirk, a clown, a facepalm,
a raised eyebrow, a blank stare, and the thumbs-down, a verdict rather than a feeling) say that the words around
them are not meant as written ("Great service as usual 🙄", "Works great 👎"); a crying or screaming face next to
praise usually means being moved ("so sweet 😭"). The ensemble tells the two apart (``affectlens.evidence``: the
``emoji_irony`` and ``emoji_words`` gates). The list is ours, from common usage.

The reported name is the CLDR name of the emoji as written (``:thumbs_up_medium_skin_tone:``).

Emoji valence enters VADER's sum like a sentiment word (see ``vader.py``): it is weighted by the
"but" rule but never boosted, capitalized or negated. VADER's own emoji handling (replacing an emoji
by its description words) is not used, so nothing is counted twice.

The network's text form of emoji (their names in words) is ``affectlens.input_forms.emoji_text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .base import EMOJI, Doc, LexiconDataError

__all__ = ["IRONY_EMOJI", "EmojiAnnotator", "EmojiEvidence", "EmojiMatch", "load_emoji_valence", "normalize_emoji"]

_STRIP = dict.fromkeys(map(ord, "\ufe0e\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"))
_ZWJ = "\u200d"
# Emoji that say the words are not meant as written (normalized bases; a ZWJ sequence counts by its first component).
IRONY_EMOJI = frozenset("🙄😒🙃😏🤡🤦🤨😑👎")


@dataclass(frozen=True, slots=True)
class EmojiMatch:
    name: str  # CLDR name as written, e.g. ":thumbs_up_medium_skin_tone:"
    base: str  # normalized emoji used for the lookup, e.g. "👍"
    valence: float  # -4..+4; 0.0 when the emoji is not in the table
    known: bool  # the emoji (or its base) is in the valence table
    irony: bool = False  # an irony marker (IRONY_EMOJI)


@dataclass(frozen=True, slots=True)
class EmojiEvidence:
    matches: tuple[EmojiMatch | None, ...]  # per token; None for non-emoji tokens
    count: int
    valence_sum: float
    valence_mean: float  # mean over all emoji tokens (0.0 when there are none)
    irony_count: int = 0  # emoji tokens that mark irony (IRONY_EMOJI)


def normalize_emoji(e: str) -> str:
    """Drop variation selectors and skin-tone modifiers."""
    return e.translate(_STRIP)


@lru_cache(maxsize=1)
def load_emoji_valence() -> dict[str, float]:
    """The valence table, keyed by normalized emoji."""
    try:
        raw = resources.files(__package__).joinpath("data/emoji_valence.tsv").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:  # pragma: no cover - broken install
        raise LexiconDataError(
            "lexicons/data/emoji_valence.tsv is missing: reinstall affectlens, or set LexiconConfig(use_emoji=False)"
        ) from exc
    table: dict[str, float] = {}
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        e, value = line.split("\t")[:2]
        table[normalize_emoji(e)] = float(value)
    return table


class EmojiAnnotator:
    """Name and valence for every emoji token."""

    name = "emoji"

    def __init__(self) -> None:
        self._cache: dict[str, EmojiMatch] = {}

    def match(self, e: str) -> EmojiMatch:
        m = self._cache.get(e)
        if m is None:
            m = self._cache[e] = self._lookup(e)
        return m

    @staticmethod
    def _lookup(e: str) -> EmojiMatch:
        import emoji as emoji_pkg

        table = load_emoji_valence()
        base = normalize_emoji(e)
        value = table.get(base)
        if value is None and _ZWJ in base:
            first = base.split(_ZWJ, 1)[0]
            if first in table:
                base, value = first, table[first]
        data = emoji_pkg.EMOJI_DATA.get(e) or emoji_pkg.EMOJI_DATA.get(base) or {}
        name = data.get("en") or emoji_pkg.demojize(e)
        irony = base.split(_ZWJ, 1)[0] in IRONY_EMOJI
        return EmojiMatch(name=name, base=base, valence=value or 0.0, known=value is not None, irony=irony)

    def annotate(self, docs: Sequence[Doc]) -> list[EmojiEvidence]:
        out = []
        for doc in docs:
            matches = tuple(self.match(t.text) if t.kind == EMOJI else None for t in doc.tokens)
            vals = [m.valence for m in matches if m is not None]
            total = sum(vals)
            irony = sum(1 for m in matches if m is not None and m.irony)
            out.append(EmojiEvidence(matches, len(vals), total, total / len(vals) if vals else 0.0, irony))
        return out
