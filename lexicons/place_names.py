"""Place-neutral network input: city names replaced by one phrase before the network reads.

A small network reacts to city names: "The mechanic comes from Quito" and "... from Porto" got probabilities 0.1
apart, and "Our trip to Quito ended at an outstanding hostel" was read as negative (the behavioural suite's
entity-swap test). A city says where, not how the writer feels, so the network reads every city of
``data/places.txt`` as ``the city`` ("The city" at the start of a sentence; ``city`` after a determiner: "a Delhi
court" -> "a city court"), as it reads protected attributes as one word (``identity_terms.py``). The lexicons,
the explanations and their offsets keep the original text. Off by default (``NeuralConfig.place_neutral``): the
shipped calibration was fitted on city names as written.

``data/places.txt`` holds the cities of 150,000 people or more in GeoNames, written without diacritics too
("Gdansk" and "Gdańsk"), minus English words and common first names or other readings (``NOT_PLACES``: "Jackson",
"Charlotte", "Austin"); ``affectlens.export.place_list`` writes it. A name is left as written where it may be part
of a longer proper noun: after a capitalised word other than "I" or a sentence-opening function word ("Real
Madrid", "New York"; not "In Boston"), before a capitalised word ("Boston Globe"), and in a handle or hashtag.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["NOT_PLACES", "PLACES_FILE", "PLACE_PHRASE", "load_places", "neutralize_places", "place_spans"]

PLACE_PHRASE = "the city"
PLACE_NOUN = "city"  # after a determiner ("the Dublin airport" -> "the city airport")
PLACES_FILE = Path(__file__).with_name("data") / "places.txt"
# Names of large cities that are more often a person, a team, a brand or a word in English text.
NOT_PLACES = frozenset(
    {
        "Alexandria", "Aurora", "Austin", "Batman", "Bo", "Bournemouth", "Buffalo", "Cali", "Carolina", "Chandler",
        "Brent", "Charlotte", "Chester", "Clinton", "Cleveland", "Columbus", "Cork", "Cypress", "Derby", "Eugene",
        "Florence", "Franklin", "Garland", "George", "Guna", "Hamilton", "Henderson", "Hollywood", "Hub", "Irving",
        "Jackson", "Jacksonville", "Jefferson", "Jordan", "Kent", "Kingston", "Kobe", "Lafayette", "Lawrence",
        "Lincoln", "Madison", "Man", "Mango", "Marion", "Mary", "Merida", "Mesa", "Metro", "Natal", "Norman",
        "Orlando", "Owo", "Puri", "Queens", "Raleigh", "Regina", "Reno", "Saga", "Sale", "Salem", "Salvador",
        "Santos", "Sherman", "Surprise", "Temple", "Timon", "Toyota", "Troy", "Tyler", "Van", "Victoria",
        "Vista", "Warren", "Washington",
    }
)  # fmt: skip


@lru_cache(maxsize=1)
def load_places() -> tuple[str, ...]:
    """The shipped city names (``data/places.txt``)."""
    lines = PLACES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    names = sorted(load_places(), key=len, reverse=True)  # longest first: "Rio de Janeiro" before "Rio"
    alternation = "|".join(re.escape(n) for n in names)
    # not inside a word, a handle or a hashtag; not before another capitalised word ("Boston Globe")
    return re.compile(rf"(?<![\w@#])(?:{alternation})(?![\w-])(?!\s+[A-Z][a-z])")


_DETERMINER = re.compile(r"\b(?:[Aa]n?|[Tt]he|[Tt]his|[Tt]hat|[Oo]ur|[Mm]y|[Yy]our|[Tt]heir|[Hh]is|[Hh]er)\s+$")
_PREVIOUS_WORD = re.compile(r"([A-Za-z][\w'-]*)(\s+)$")


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in '.!?:;"(\n'


def _part_of_a_name(text: str, start: int) -> bool:
    """Whether a capitalised word right before ``start`` makes the city part of a longer name ("New York",
    "Real Madrid"); "I", and a capitalised function word that opens a sentence ("In Boston"), do not."""
    from spacy.lang.en.stop_words import STOP_WORDS

    previous = _PREVIOUS_WORD.search(text, 0, start)
    if previous is None or not previous.group(1)[0].isupper() or previous.group(1) == "I":
        return False
    return not (previous.group(1).lower() in STOP_WORDS and _opens_sentence(text, previous.start()))


def place_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each city name (``data/places.txt``) in ``text`` that names a city on its own."""
    if not any(c.isupper() for c in text):
        return []
    return [m.span() for m in _pattern().finditer(text) if not _part_of_a_name(text, m.start())]


def neutralize_places(text: str) -> str:
    """``text`` with each city name (``data/places.txt``) as ``the city``; the same object when it has none."""
    out: list[str] = []
    last = 0
    for start, end in place_spans(text):
        if _DETERMINER.search(text, 0, start):
            phrase = PLACE_NOUN  # "a Delhi court" -> "a city court", not "a the city court"
        else:
            phrase = PLACE_PHRASE.capitalize() if _opens_sentence(text, start) else PLACE_PHRASE
        out += [text[last:start], phrase]
        last = end
    if not out:
        return text
    return "".join(out) + text[last:]
