"""Identity-neutral input: protected-attribute words replaced by one neutral word before the network reads, and
given no valence nor emotion by the lexicons.

A small network picks up associations between identity words and sentiment from its training data ("gay",
"Muslim", "disabled" and the like shift its prediction in otherwise neutral sentences). The lexicon does not have
that problem (it scores sentiment words only), so the hybrid is only as fair as its network. ``neutralize`` puts
the same word in every such slot, so a sentence that differs from another only by the attribute gives the network
*the same input*:

* adjectives of religion, nationality, ethnicity, sexual orientation and gender identity, disability and age
  become ``local`` ("a Muslim nurse" -> "a local nurse", "a 70-year-old driver" -> "a local driver"); their
  plurals used as nouns become ``locals`` ("Muslims" -> "locals");
* words that are attributes only next to a person ("black", "white", "blind", "deaf", "old", "young",
  "straight", "senior", "native") are replaced only before a person noun ("blind people"), or after a
  determiner and before a role word ("a blind pharmacist"); not in "a blind spot" nor "the screen went black";
* "man", "woman" and their kin become ``person`` / ``people`` after a determiner ("a woman" -> "a person");
  "Oh man" stays.

The word lists are our own, written from general knowledge of the categories (see ``affectlens.behaviour`` for
the fairness tests that measure the effect). Nationality and religion words are matched with a capital letter
("Polish", not "polish"). The network reads ``neutralize(text)``; the lexicons read the original text and skip
the words ``identity_spans`` finds (VADER gives "blind" -1.7 and "straight" +0.9, NRC files "Polish" under
positive): explanations and their offsets keep the original text. Switched by ``EngineOptions.identity_neutral``
(on by default; ``--keep-identity-terms``), which sets both ``NeuralConfig`` and ``LexiconConfig``.
"""

from __future__ import annotations

import re
from functools import lru_cache

NEUTRAL_ADJECTIVE = "local"
NEUTRAL_PLURAL = "locals"
NEUTRAL_PERSON = ("person", "people")

_RELIGION = (
    "Muslim", "Islamic", "Christian", "Catholic", "Protestant", "Evangelical", "Orthodox", "Mormon", "Baptist",
    "Methodist", "Lutheran", "Anglican", "Presbyterian", "Pentecostal", "Quaker", "Amish", "Jewish", "Hindu",
    "Buddhist", "Sikh", "Jain", "Shinto", "Taoist", "Zoroastrian", "Rastafarian", "Sunni", "Shia", "Shiite",
    "atheist", "agnostic", "pagan", "secular",
)  # fmt: skip
_NATIONALITY = (
    "American", "Canadian", "Mexican", "Guatemalan", "Salvadoran", "Honduran", "Nicaraguan", "Costa Rican",
    "Panamanian", "Cuban", "Haitian", "Dominican", "Jamaican", "Puerto Rican", "Colombian", "Venezuelan",
    "Ecuadorian", "Peruvian", "Bolivian", "Brazilian", "Chilean", "Argentine", "Argentinian", "Uruguayan",
    "Paraguayan", "British", "English", "Scottish", "Welsh", "Irish", "French", "German", "Dutch", "Belgian",
    "Swiss", "Austrian", "Italian", "Spanish", "Portuguese", "Greek", "Swedish", "Norwegian", "Danish", "Finnish",
    "Icelandic", "Polish", "Czech", "Slovak", "Hungarian", "Romanian", "Bulgarian", "Serbian", "Croatian",
    "Bosnian", "Slovenian", "Albanian", "Macedonian", "Lithuanian", "Latvian", "Estonian", "Ukrainian", "Russian",
    "Belarusian", "Georgian", "Armenian", "Azerbaijani", "Turkish", "Kurdish", "Iranian", "Persian", "Iraqi",
    "Syrian", "Lebanese", "Jordanian", "Israeli", "Palestinian", "Saudi", "Emirati", "Qatari", "Kuwaiti",
    "Yemeni", "Omani", "Egyptian", "Libyan", "Tunisian", "Algerian", "Moroccan", "Sudanese", "Ethiopian",
    "Eritrean", "Somali", "Kenyan", "Ugandan", "Tanzanian", "Rwandan", "Congolese", "Nigerian", "Ghanaian",
    "Senegalese", "Malian", "Ivorian", "Cameroonian", "Angolan", "Zambian", "Zimbabwean", "Mozambican",
    "South African", "Namibian", "Botswanan", "Malagasy", "Afghan", "Pakistani", "Indian", "Bangladeshi",
    "Sri Lankan", "Nepali", "Nepalese", "Bhutanese", "Chinese", "Taiwanese", "Tibetan", "Mongolian", "Japanese",
    "Korean", "Vietnamese", "Thai", "Cambodian", "Laotian", "Burmese", "Malaysian", "Singaporean", "Indonesian",
    "Filipino", "Filipina", "Australian", "New Zealander", "Kazakh", "Uzbek", "Middle Eastern", "European",
    "Asian", "African", "Latin American", "Scandinavian",
)  # fmt: skip
_ETHNICITY = (
    "African American", "Afro-Caribbean", "Caucasian", "Hispanic", "Latino", "Latina", "Latinx", "Arab",
    "Native American", "First Nations", "Pacific Islander", "Roma", "Romani", "Inuit",
)  # fmt: skip
_ETHNICITY_ANYCASE = ("Indigenous", "Aboriginal", "biracial", "multiracial", "mixed-race")
_ORIENTATION_GENDER = (
    "gay", "lesbian", "bisexual", "bi", "queer", "heterosexual", "homosexual", "asexual", "pansexual",
    "transgender", "trans", "nonbinary", "non-binary", "genderqueer", "genderfluid", "cisgender", "cis",
    "intersex", "LGBT", "LGBTQ", "LGBTQ+", "LGBTQIA", "female", "male",
)  # fmt: skip
_DISABILITY = (
    "disabled", "handicapped", "autistic", "dyslexic", "dyspraxic", "paraplegic", "quadriplegic", "tetraplegic",
    "epileptic", "visually impaired", "hearing impaired", "hard of hearing", "deafblind", "wheelchair-using",
    "wheelchair-bound", "wheelchair user", "neurodivergent", "neurodiverse", "mute", "amputee",
    "partially sighted", "learning-disabled", "mentally ill",
)  # fmt: skip
_AGE = ("elderly", "middle-aged", "teenage", "teenaged", "adolescent", "octogenarian", "nonagenarian")
_CONTEXTUAL = ("black", "white", "brown", "blind", "deaf", "old", "older", "young", "younger", "straight",
               "senior", "native", "retired", "aged")  # fmt: skip
_PERSON_NOUNS = (
    "man", "men", "woman", "women", "person", "people", "guy", "guys", "girl", "girls", "boy", "boys", "lady",
    "ladies", "gentleman", "gentlemen", "kid", "kids", "child", "children", "teen", "teens", "adult", "adults",
    "family", "families", "community", "communities", "couple", "couples", "folks", "individual", "individuals",
    "neighbor", "neighbors", "neighbour", "neighbours", "friend", "friends", "colleague", "colleagues", "coworker",
    "coworkers", "customer", "customers", "client", "clients", "guest", "guests", "patient", "patients",
    "parent", "parents", "mother", "father", "mom", "dad", "son", "daughter", "wife", "husband", "partner",
    "staff", "student", "students", "citizen", "citizens", "resident", "residents", "applicant", "applicants",
    "candidate", "candidates", "athlete", "athletes", "nurse", "nurses", "doctor", "doctors", "chef", "chefs",
    "waiter", "waitress", "host", "cousin", "aunt", "uncle", "grandmother", "grandfather", "sister", "brother",
)  # fmt: skip
_ROLE_SUFFIX = r"[a-z]+(?:er|or|ist|ian|ant|ent|ic|ee|ess)s?"
_GENDER_NOUNS = {"man": 0, "woman": 0, "guy": 0, "lady": 0, "gentleman": 0, "girl": 0, "boy": 0,
                 "men": 1, "women": 1, "guys": 1, "ladies": 1, "gentlemen": 1, "girls": 1, "boys": 1}  # fmt: skip
_DETERMINERS = (
    "a", "an", "the", "this", "that", "these", "those", "my", "our", "your", "his", "her", "their", "one", "two",
    "three", "every", "each", "some", "another", "any", "no", "many", "several", "local",
)  # fmt: skip


def _alternation(words: tuple[str, ...] | list[str]) -> str:
    # longest first, so "African American" wins over "African"; spaces and hyphens in a term match either
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?") for w in ordered)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    capitalised = _alternation([w for w in (*_RELIGION, *_NATIONALITY, *_ETHNICITY) if not w.islower()])
    anycase = _alternation([*_ETHNICITY_ANYCASE, *_ORIENTATION_GENDER, *_DISABILITY, *_AGE])
    lower_religion = _alternation([w for w in _RELIGION if w.islower()])
    plural = r"(?:s|es)?"
    person = _alternation(list(_PERSON_NOUNS))
    contextual = _alternation(list(_CONTEXTUAL))
    return (
        re.compile(r"\b\d{1,3}[\s-]?(?:year|yr)s?[\s-]?old\b", re.IGNORECASE),  # "25-year-old"
        re.compile(r"(?<![\w-])Jew(?P<plural>s?)(?![\w-])"),
        re.compile(rf"(?<![\w-])(?:{capitalised})(?P<plural>{plural})(?![\w-])"),
        re.compile(rf"(?<![\w-])(?:{lower_religion})(?P<plural>{plural})(?![\w-])", re.IGNORECASE),
        re.compile(rf"(?<![\w-])(?:{anycase})(?P<plural>{plural})(?![\w-])", re.IGNORECASE),
        re.compile(rf"(?<![\w-])(?:{contextual})(?=\s+(?:{person})\b)", re.IGNORECASE),
        re.compile(
            rf"\b(?P<keep>(?:a|an|the|my|our|your|his|her|their|this|that)\s+)(?:{contextual})"
            rf"(?=\s+{_ROLE_SUFFIX}\b)",
            re.IGNORECASE,
        ),
    )


@lru_cache(maxsize=1)
def _gender_pattern() -> re.Pattern[str]:
    nouns = _alternation(list(_GENDER_NOUNS))
    determiners = _alternation(list(_DETERMINERS))
    return re.compile(rf"\b(?P<det>(?:{determiners})\s+(?:[\w-]+\s+)?)(?P<noun>{nouns})\b", re.IGNORECASE)


def _replace(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return (groups.get("keep") or "") + (NEUTRAL_PLURAL if groups.get("plural") else NEUTRAL_ADJECTIVE)


def _person(match: re.Match[str]) -> str:
    return match.group("det") + NEUTRAL_PERSON[_GENDER_NOUNS[match.group("noun").lower()]]


_ARTICLE = re.compile(rf"\b([Aa])n(\s+{NEUTRAL_ADJECTIVE}s?\b)")  # "an Indian nurse" -> "a local nurse"


def identity_spans(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the protected-attribute words that ``neutralize`` replaces, in text order
    (the determiner a pattern keeps is not part of the span)."""
    spans = []
    for pattern in _patterns():
        for m in pattern.finditer(text):
            start = m.start() + len(m.groupdict().get("keep") or "")
            spans.append((start, m.end()))
    spans += [(m.start("noun"), m.end("noun")) for m in _gender_pattern().finditer(text)]
    return sorted(set(spans))


def neutralize(text: str) -> str:
    """``text`` with protected-attribute words replaced (see the module docstring); the same object when none."""
    out = text
    for pattern in _patterns():
        out = pattern.sub(_replace, out)
    out = _gender_pattern().sub(_person, out)
    if out == text:
        return text
    return _ARTICLE.sub(r"\1\2", out)
