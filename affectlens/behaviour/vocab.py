"""Word lists of the behavioural suite, one set per half.

The *fit* half may be used to make training or calibration data; the *check* half is only for measuring. The
two halves share no word (apart from the function words in :data:`FUNCTION_WORDS`), so a model trained on the fit
half has not seen the check half's vocabulary. A slot kind is filled from its half only; ``tests/test_behaviour.py``
checks that the halves stay disjoint.

Adjectives are generic (they fit any product, place or event); ``pos_adj`` / ``neg_adj`` are the plain, gradable
ones that negation and reducers combine with naturally ("not good", "a bit boring"), the ``*_strong`` ones are the
extremes. Clauses (``mishap``) are complete, lower-case clauses describing something that clearly went wrong.
"""

from __future__ import annotations

import re

HALVES: tuple[str, ...] = ("fit", "check")
# The sets of templates ``generate`` expands: the two halves, and the fit half's calibration templates (never
# trained on; filled with the calibration vocabulary only; see ``affectlens.behaviour.templates_calibration``).
CALIBRATION_SET = "calibration"
TEMPLATE_SETS: tuple[str, ...] = ("fit", CALIBRATION_SET, "check")

# Words both halves (and their templates) may share: articles, pronouns, prepositions, auxiliaries.
FUNCTION_WORDS: frozenset[str] = frozenset((
    "a", "an", "the", "my", "our", "your", "his", "her", "their", "its", "it", "i", "we", "you", "he", "she",
    "they", "me", "us", "them", "this", "that", "these", "those", "of", "in", "on", "at", "to", "for", "with",
    "from", "by", "about", "and", "or", "is", "was", "are", "were", "be", "been", "am", "has", "have", "had", "do",
    "did", "does", "will", "would", "can", "could"
))  # fmt: skip

FIT: dict[str, tuple[str, ...]] = {
    # things people review: products, places, events
    "thing": (
        "hotel", "movie", "restaurant", "laptop", "concert", "course", "app", "book", "museum", "café",
        "podcast", "gym", "bakery", "tour",
    ),
    # places and events one goes to
    "venue": ("hotel", "restaurant", "concert", "museum", "café", "gym", "bakery", "tour"),
    # people in a role (plural by adding "s")
    "role": ("nurse", "teacher", "driver", "waiter", "cashier", "guide"),
    "relative": ("brother", "aunt", "cousin"),
    "pos_adj": ("good", "nice", "pleasant", "satisfying"),
    "pos_adj_strong": ("excellent", "wonderful", "fantastic", "superb"),
    "neg_adj": ("bad", "disappointing", "boring", "unpleasant", "annoying"),
    "neg_adj_strong": ("awful", "terrible", "horrible"),
    "pos_person_adj": ("friendly", "helpful", "supportive"),
    "neg_person_adj": ("rude", "unhelpful", "hostile"),
    "pos_verb": ("love", "like"),
    "pos_verb_past": ("loved", "liked"),
    "neg_verb": ("hate", "dislike"),
    "neg_verb_past": ("hated", "disliked"),
    "neutral_verb_past": ("mentioned", "asked about", "read about"),
    "intensifier": ("very", "really", "extremely", "incredibly"),
    "reducer": ("slightly", "somewhat", "a bit"),
    "day": ("Monday", "Tuesday", "Wednesday", "Saturday"),
    "name": (
        "Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Priya", "Tom", "Fatima", "Kenji",
        "Lucy", "Ahmed", "Sofia", "Daniel", "Chloe", "Ravi", "Grace", "Mateo", "Hannah", "Yusuf",
    ),
    "city": (
        "Lisbon", "Chicago", "Nairobi", "Osaka", "Lyon", "Toronto", "Krakow", "Lima", "Manchester", "Seoul",
        "Denver", "Cairo",
    ),
    "number": ("3", "12", "27", "48", "115", "350"),
    "url": ("https://reviewhub.io/p/4417", "https://tiny.cc/x9Q2", "www.tripnotes.org/blog"),
    "handle": ("@maria_eats", "@techdaily", "@j_rivera"),
    "emoji_pos": ("😊", "😍", "👍", "🎉", "❤️"),
    "emoji_neg": ("😡", "😞", "👎", "💔"),
    "emoji_irony": ("🙄", "😑"),
    "mishap": (
        "my train was cancelled again",
        "the printer jammed for the third time this morning",
        "my flight got delayed by five hours",
        "the bus drove right past me",
        "my laptop crashed before I could save anything",
        "the delivery arrived with half the items missing",
        "someone ate my lunch from the office fridge",
        "it started raining the moment I stepped outside",
    ),
    # protected attributes, one tuple per category (swapped against each other in the fairness tests)
    "gender": ("female", "male", "transgender"),
    "religion": ("Muslim", "Christian", "Jewish", "Hindu"),
    "nationality": ("Mexican", "Chinese", "Nigerian", "German", "Indian", "Brazilian"),
    "ethnicity": ("Black", "white", "Asian", "Hispanic"),
    "orientation": ("gay", "straight", "bisexual"),
    "disability": ("blind", "deaf", "autistic"),
    "age": ("young", "elderly", "middle-aged"),
}  # fmt: skip

CHECK: dict[str, tuple[str, ...]] = {
    "thing": (
        "film", "show", "meal", "tablet", "festival", "workshop", "game", "novel", "gallery", "camera",
        "bistro", "album", "spa", "hostel",
    ),
    "venue": ("festival", "workshop", "gallery", "bistro", "spa", "hostel", "show"),
    "role": ("pharmacist", "librarian", "receptionist", "mechanic", "dentist", "tutor", "plumber"),
    "relative": ("sister", "uncle", "grandmother"),
    "pos_adj": ("great", "impressive", "enjoyable", "worthwhile", "delightful"),
    "pos_adj_strong": ("amazing", "outstanding", "brilliant", "terrific", "fabulous"),
    "neg_adj": ("poor", "frustrating", "dull", "tedious", "mediocre"),
    "neg_adj_strong": ("dreadful", "appalling", "abysmal", "atrocious"),
    "pos_person_adj": ("caring", "welcoming", "considerate", "warm-hearted"),
    "neg_person_adj": ("dismissive", "unfriendly", "condescending", "careless"),
    "pos_verb": ("enjoy", "adore"),
    "pos_verb_past": ("enjoyed", "adored"),
    "neg_verb": ("despise", "detest", "loathe"),
    "neg_verb_past": ("despised", "detested", "loathed"),
    "neutral_verb_past": ("talked about", "searched for", "heard about"),
    "intensifier": ("so", "truly", "exceptionally", "remarkably"),
    "reducer": ("a little", "mildly", "kind of"),
    "day": ("Thursday", "Friday", "Sunday"),
    "name": (
        "Elena", "Michael", "Amara", "Jun", "Ingrid", "Diego", "Ananya", "Ben", "Leila", "Hiroshi",
        "Emma", "Omar", "Isabel", "Samuel", "Zoe", "Arjun", "Ruth", "Pablo", "Nadia", "Kwame",
    ),
    "city": (
        "Porto", "Boston", "Lagos", "Kyoto", "Marseille", "Vancouver", "Gdansk", "Quito", "Leeds", "Busan",
        "Austin", "Tunis",
    ),
    "number": ("5", "19", "33", "64", "208", "470"),
    "url": ("http://dailyfinds.net/r/88", "http://snip.ly/Zk7mP", "shopzone.co/item?id=301"),
    "handle": ("@foodie_ben", "@the_critic_corner", "@k_tanaka"),
    "emoji_pos": ("😁", "🥰", "🤩", "😃", "🙌", "💖"),
    "emoji_neg": ("😠", "😢", "🤬", "😩", "🤮"),
    "emoji_irony": ("🙃", "😒"),
    "mishap": (
        "the ferry left without us",
        "my phone died halfway through an important call",
        "the taxi failed to show up",
        "our package was sent to the wrong address",
        "the shower ran cold for a week",
        "the website logged me off while I was paying",
        "my suitcase ended up in another country",
        "the neighbours drilled through the wall at dawn",
    ),
    "gender": ("woman", "man", "non-binary person"),
    "religion": ("Buddhist", "Sikh", "Catholic", "atheist"),
    "nationality": ("Polish", "Vietnamese", "Egyptian", "Canadian", "Pakistani", "Filipino"),
    "ethnicity": ("African American", "Caucasian", "Latino", "Arab"),
    "orientation": ("lesbian", "heterosexual", "asexual"),
    "disability": ("visually impaired", "wheelchair-using", "dyslexic"),
    "age": ("25-year-old", "45-year-old", "70-year-old"),
}  # fmt: skip

# A third vocabulary, for calibration only: the fit half's held-out templates filled with words the network was
# never trained on (``export/training_data.behaviour_rows``), so the stacker meets the network where its phrasing
# and its words are both new, as they are in the check half and in anyone's data. Disjoint from fit and check.
CALIBRATION: dict[str, tuple[str, ...]] = {
    "thing": (
        "smartwatch", "sitcom", "dinner", "headphones", "exhibition", "seminar", "puzzle", "memoir", "theatre",
        "blender", "diner", "playlist", "resort", "motel",
    ),
    "venue": ("exhibition", "seminar", "theatre", "diner", "resort", "motel"),
    "role": ("barista", "electrician", "clerk", "instructor", "courier", "lawyer", "accountant"),
    "relative": ("niece", "nephew", "grandfather"),
    "pos_adj": ("lovely", "decent", "charming", "pleasing"),
    "pos_adj_strong": ("marvelous", "phenomenal", "splendid", "magnificent"),
    "neg_adj": ("dreary", "unsatisfying", "irritating", "lousy", "tiresome"),
    "neg_adj_strong": ("horrendous", "dismal", "ghastly"),
    "pos_person_adj": ("attentive", "generous", "courteous"),
    "neg_person_adj": ("impolite", "arrogant", "grumpy"),
    "pos_verb": ("cherish", "appreciate"),
    "pos_verb_past": ("cherished", "appreciated"),
    "neg_verb": ("resent", "abhor"),
    "neg_verb_past": ("resented", "abhorred"),
    "neutral_verb_past": ("blogged about", "researched", "chatted about"),
    "intensifier": ("highly", "thoroughly", "particularly", "exceedingly"),
    "reducer": ("fairly", "a tad", "marginally"),
    "day": ("Christmas Eve", "Easter", "Halloween"),
    "name": (
        "Alice", "Kofi", "Mei", "Lars", "Rosa", "Tariq", "Ines", "Dmitri", "Keiko", "Noah",
        "Amira", "Felix", "Sana", "Viktor", "Lola", "Hamid", "Nina", "Javier", "Esther", "Tunde",
    ),
    "city": (
        "Madrid", "Atlanta", "Accra", "Sapporo", "Bordeaux", "Montreal", "Wroclaw", "Bogota", "Glasgow", "Daegu",
        "Phoenix", "Algiers",
    ),
    "number": ("7", "21", "39", "56", "143", "610"),
    "url": ("lnkd.in/qX9", "shopnotes.site/v17", "localguide.info/spots"),
    "handle": ("@sam_bakes", "@gadget_guru", "@l_moreau"),
    "emoji_pos": ("😄", "😻", "💯", "🥳", "✨"),
    "emoji_neg": ("😭", "😖", "🙁", "😤"),
    "emoji_irony": ("😏", "🤡"),
    "mishap": (
        "the heating broke in deep winter",
        "my parcel was a month late",
        "the elevator halted between floors",
        "my bike was stolen at the harbour",
        "the match was abandoned at halftime",
        "my keyboard froze during an exam",
        "the landlord kept our deposit",
        "our car broke down on the motorway",
    ),
    "gender": ("genderqueer", "cisgender", "intersex"),
    "religion": ("Mormon", "Jain", "Protestant", "agnostic"),
    "nationality": ("Peruvian", "Korean", "Kenyan", "Swedish", "Iranian", "Turkish"),
    "ethnicity": ("Maori", "Pacific Islander", "Latina", "Roma"),
    "orientation": ("queer", "pansexual", "homosexual"),
    "disability": ("hard of hearing", "paraplegic", "epileptic"),
    "age": ("teenage", "octogenarian", "retired"),
}  # fmt: skip

VOCAB: dict[str, dict[str, tuple[str, ...]]] = {"fit": FIT, "check": CHECK, "calibration": CALIBRATION}
VOCABULARIES: tuple[str, ...] = tuple(VOCAB)

PROTECTED_CATEGORIES: tuple[str, ...] = (
    "gender",
    "religion",
    "nationality",
    "ethnicity",
    "orientation",
    "disability",
    "age",
)

# How a protected attribute and a role make a person: "{attr} {role}" ("a deaf nurse"), or the attribute alone
# where it is itself a noun (the check half's gender terms: "a woman").
PERSON_PATTERNS: dict[str, dict[str, str]] = {
    "fit": dict.fromkeys(PROTECTED_CATEGORIES, "{attr} {role}"),
    "check": {**dict.fromkeys(PROTECTED_CATEGORIES, "{attr} {role}"), "gender": "{attr}"},
    "calibration": dict.fromkeys(PROTECTED_CATEGORIES, "{attr} {role}"),
}

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)


def words(text: str) -> set[str]:
    """Lower-case content words of ``text`` (function words dropped; hyphenated words split)."""
    out = set()
    for match in _WORD.finditer(text.lower()):
        for part in re.split(r"[-'’]", match.group()):
            if part and part not in FUNCTION_WORDS:
                out.add(part)
    return out


def vocabulary_words(half: str) -> set[str]:
    """Every content word in the vocabulary of ``half`` (emoji and URLs included as whole entries)."""
    out: set[str] = set()
    for entries in VOCAB[half].values():
        for entry in entries:
            found = words(entry)
            out |= found or {entry.lower()}
    return out
