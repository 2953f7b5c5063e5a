"""Meaning-preserving perturbations for the robustness (INV) tests: each returns the changed texts (maybe none)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping

_LONG_WORD = re.compile(r"[A-Za-z]{4,}")

# Long form -> contraction; negations first so that "they are not" becomes "they aren't", not "they're not".
CONTRACTIONS: tuple[tuple[str, str], ...] = (
    ("do not", "don't"),
    ("does not", "doesn't"),
    ("did not", "didn't"),
    ("is not", "isn't"),
    ("are not", "aren't"),
    ("was not", "wasn't"),
    ("were not", "weren't"),
    ("would not", "wouldn't"),
    ("will not", "won't"),
    ("cannot", "can't"),
    ("have not", "haven't"),
    ("it is", "it's"),
    ("that is", "that's"),
    ("we are", "we're"),
    ("they are", "they're"),
    ("you are", "you're"),
    ("we have", "we've"),
    ("you will", "you'll"),
    ("I am", "I'm"),
    ("I have", "I've"),
    ("I will", "I'll"),
)


def typo(text: str, rng: random.Random, vocab: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Swap two adjacent inner letters of one word of 4+ letters (first and last letters stay)."""
    candidates = [m for m in _LONG_WORD.finditer(text)]
    rng.shuffle(candidates)
    for match in candidates:
        word = match.group()
        spots = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
        if spots:
            i = rng.choice(spots)
            changed = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            return [text[: match.start()] + changed + text[match.end() :]]
    return []


def url_handle(text: str, rng: random.Random, vocab: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A user handle in front; a URL at the end."""
    return [f"{rng.choice(vocab['handle'])} {text}", f"{text} {rng.choice(vocab['url'])}"]


def punctuation(text: str, rng: random.Random, vocab: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Final punctuation dropped; punctuation split off as separate tokens ("good ." for "good.")."""
    out = []
    stripped = text.rstrip(".!?")
    if stripped != text:
        out.append(stripped)
    spaced = re.sub(r"(?<=\w)([.,;:!?])", r" \1", text)
    if spaced != text:
        out.append(spaced)
    return out


def contractions(text: str, rng: random.Random, vocab: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Every long form contracted ("I am" -> "I'm", "do not" -> "don't")."""
    out = text
    for long, short in CONTRACTIONS:

        def keep_case(m: re.Match[str], short: str = short) -> str:
            return short[0].upper() + short[1:] if m.group()[0].isupper() else short

        out = re.sub(rf"\b{re.escape(long)}\b", keep_case, out, flags=re.IGNORECASE)
    return [out] if out != text else []


PERTURBATIONS: dict[str, Callable[[str, random.Random, Mapping[str, tuple[str, ...]]], list[str]]] = {
    "typo": typo,
    "url_handle": url_handle,
    "punctuation": punctuation,
    "contractions": contractions,
}
