"""Templates of the behavioural suite, per test and per half (written for affectlens; no published suite's).

A pattern's slots are vocabulary kinds of the same half (:mod:`affectlens.behaviour.vocab`): ``{pos_adj}``;
``{pos_adj2}`` is a second, different word of the same kind; ``{Name}`` capitalizes the value; ``{person}`` is a
person built from a protected attribute and a role (fairness tests). ``a``/``an`` are fixed after filling.

Gold labels are the label set a careful reader gives the sentence: a negated positive is negative; a negated
negative ("not bad") is positive or neutral; a question without an answer is neutral. Sentences whose label
a reader could argue about were left out. DIR templates give the changed sentence (``variant``) and which
probability must not move the wrong way; INV templates are bases that a perturbation or a swap changes.
"""

from __future__ import annotations

from affectlens.behaviour.template_kit import NEG, NEU, POS, POS_NEU, Halves, Template, _d, _m
from affectlens.behaviour.templates_calibration import CALIBRATION_TEMPLATES
from affectlens.behaviour.templates_negation import (
    NEG_CANT_SAY,
    NEG_END_OF_CONTRAST,
    NEG_INTERVENING,
    NEG_NEGATIVE,
    NEG_NEITHER_NOR,
    NEG_NEUTRAL,
    NEG_NON_NEGATING,
    NEG_POSITIVE,
    NEG_QUANTIFIER,
)

__all__ = ["TEMPLATES", "Template"]


# -- vocabulary ------------------------------------------------------------------------------------------------
VOCAB_POSITIVE: Halves = {
    "fit": (
        _m("The {thing} was {pos_adj}.", POS),
        _m("The {thing} was {pos_adj_strong}.", POS),
        _m("I {pos_verb} this {thing}.", POS),
        _m("What a {pos_adj_strong} {thing}!", POS),
        _m("Our {role} was {pos_person_adj}.", POS),
    ),
    "check": (
        _m("This {thing} is {pos_adj}.", POS),
        _m("Honestly, the {thing} is {pos_adj_strong}.", POS),
        _m("We {pos_verb_past} the {thing}.", POS),
        _m("Such a {pos_adj} {thing}.", POS),
        _m("The {role} we had was {pos_person_adj}.", POS),
    ),
}
VOCAB_NEGATIVE: Halves = {
    "fit": (
        _m("The {thing} was {neg_adj}.", NEG),
        _m("The {thing} was {neg_adj_strong}.", NEG),
        _m("I {neg_verb} this {thing}.", NEG),
        _m("What a {neg_adj_strong} {thing}!", NEG),
        _m("Our {role} was {neg_person_adj}.", NEG),
    ),
    "check": (
        _m("This {thing} is {neg_adj}.", NEG),
        _m("Honestly, the {thing} is {neg_adj_strong}.", NEG),
        _m("We {neg_verb_past} the {thing}.", NEG),
        _m("Such a {neg_adj} {thing}.", NEG),
        _m("The {role} we had was {neg_person_adj}.", NEG),
    ),
}
VOCAB_NEUTRAL: Halves = {
    "fit": (
        _m("I {neutral_verb_past} the {thing} on {day}.", NEU),
        _m("{Name} is flying to {city} on {day}.", NEU),
        _m("My {role} lives in {city}.", NEU),
        _m("The {thing} was mentioned in the newsletter.", NEU),
    ),
    "check": (
        _m("We {neutral_verb_past} the {thing} last {day}.", NEU),
        _m("{Name} moved to {city} in the spring.", NEU),
        _m("Her {role} grew up near {city}.", NEU),
        _m("The {thing} is listed on page four of the brochure.", NEU),
    ),
}
VOCAB_OPPOSITE_CLAUSE: Halves = {
    "fit": (
        _d("The {thing} was {pos_adj_strong}.",
           "The {thing} was {pos_adj_strong}, but the {role} was {neg_person_adj}.", "not_higher", "positive", POS),
        _d("The {thing} was {neg_adj_strong}.",
           "The {thing} was {neg_adj_strong}, but the {role} was {pos_person_adj}.", "not_higher", "negative", NEG),
        _d("I {pos_verb} the {thing}.", "I {pos_verb} the {thing}, even though the ending was {neg_adj}.",
           "not_higher", "positive", POS),
    ),
    "check": (
        _d("We {pos_verb} the {thing}.", "We {pos_verb} the {thing}, although it can be {neg_adj}.",
           "not_higher", "positive", POS),
        _d("We {neg_verb} the {thing}.", "We {neg_verb} the {thing}, even if it has {pos_adj} moments.",
           "not_higher", "negative", NEG),
        _d("The {role} on duty was {pos_person_adj}.",
           "The {role} on duty was {pos_person_adj}; shame the {thing} was {neg_adj_strong}.", "not_higher",
           "positive", POS),
    ),
}  # fmt: skip

# -- intensity ---------------------------------------------------------------------------------------------------
INTENSITY_INTENSIFIED: Halves = {
    "fit": (
        _m("The {thing} was {intensifier} {pos_adj}.", POS),
        _m("The {thing} was {intensifier} {neg_adj}.", NEG),
        _m("The {role} was {intensifier} {neg_person_adj} to us.", NEG),
    ),
    "check": (
        _m("I found the {thing} {intensifier} {pos_adj}.", POS),
        _m("I found the {thing} {intensifier} {neg_adj}.", NEG),
        _m("The {role} here is {intensifier} {pos_person_adj}.", POS),
    ),
}
INTENSITY_INTENSIFIER: Halves = {
    "fit": (
        _d("The {thing} was {pos_adj}.", "The {thing} was {intensifier} {pos_adj}.", "not_lower", "positive", POS),
        _d("The {thing} was {neg_adj}.", "The {thing} was {intensifier} {neg_adj}.", "not_lower", "negative", NEG),
        _d("The {role} was {pos_person_adj}.", "The {role} was {intensifier} {pos_person_adj}.", "not_lower",
           "positive", POS),
    ),
    "check": (
        _d("This {thing} is {pos_adj}.", "This {thing} is {intensifier} {pos_adj}.", "not_lower", "positive", POS),
        _d("This {thing} is {neg_adj}.", "This {thing} is {intensifier} {neg_adj}.", "not_lower", "negative", NEG),
        _d("The {role} on duty was {neg_person_adj}.", "The {role} on duty was {intensifier} {neg_person_adj}.",
           "not_lower", "negative", NEG),
    ),
}  # fmt: skip
INTENSITY_REDUCER: Halves = {
    "fit": (
        _d("The {thing} was {pos_adj}.", "The {thing} was {reducer} {pos_adj}.", "not_higher", "positive"),
        _d("The {thing} was {neg_adj}.", "The {thing} was {reducer} {neg_adj}.", "not_higher", "negative"),
        _d("The {role} was {neg_person_adj}.", "The {role} was {reducer} {neg_person_adj}.", "not_higher",
           "negative"),
    ),
    "check": (
        _d("This {thing} is {pos_adj}.", "This {thing} is {reducer} {pos_adj}.", "not_higher", "positive"),
        _d("This {thing} is {neg_adj}.", "This {thing} is {reducer} {neg_adj}.", "not_higher", "negative"),
        _d("The {role} on duty was {pos_person_adj}.", "The {role} on duty was {reducer} {pos_person_adj}.",
           "not_higher", "positive"),
    ),
}  # fmt: skip
# -- contrast and time, whose opinion, questions -----------------------------------------------------------------
CONTRAST_BUT: Halves = {
    "fit": (
        _m("I expected to {neg_verb} the {thing}, but it was {pos_adj_strong}.", POS),
        _m("The {thing} looked {pos_adj} at first, but it turned out to be {neg_adj_strong}.", NEG),
        _m("The {thing} had a few flaws, but overall it was {pos_adj_strong}.", POS),
        _m("The {thing} had a couple of {pos_adj} moments, but overall it was {neg_adj_strong}.", NEG),
    ),
    "check": (
        _m("I was worried the {thing} would be {neg_adj}, but it was {pos_adj_strong}.", POS),
        _m("Although the {thing} seemed {pos_adj}, it ended up being {neg_adj_strong}.", NEG),
        _m("Despite a slow start, the {thing} was {pos_adj_strong}.", POS),
        _m("It has one or two clever touches, yet the {thing} is {neg_adj_strong} overall.", NEG),
    ),
}
TIME_CHANGE: Halves = {
    "fit": (
        _m("I used to {pos_verb} the {thing}, but now I {neg_verb} it.", NEG),
        _m("I used to {neg_verb} the {thing}, but now I {pos_verb} it.", POS),
        _m("The {thing} used to be {neg_adj}; now it is {pos_adj_strong}.", POS),
        _m("The {thing} used to be {pos_adj_strong}, but now it is {neg_adj}.", NEG),
    ),
    "check": (
        _m("At first I {neg_verb_past} the {thing}, but today I {pos_verb} it.", POS),
        _m("I once {pos_verb_past} the {thing}; nowadays I {neg_verb} it.", NEG),
        _m("A year ago the {thing} was {pos_adj_strong}; since the change of owners it has been {neg_adj}.", NEG),
        _m("The {thing} was {neg_adj} when it launched, but it is {pos_adj_strong} these days.", POS),
    ),
}
OPINION_OTHERS_VS_MINE: Halves = {
    "fit": (
        _m("My {relative} thinks the {thing} is {neg_adj}, but I find it {pos_adj_strong}.", POS),
        _m("Everyone raves about the {thing}, but personally I found it {neg_adj}.", NEG),
        _m("The critics called the {thing} {neg_adj_strong}; I thought it was {pos_adj_strong}.", POS),
        _m("My {relative} {pos_verb_past} the {thing}, but I {neg_verb_past} it.", NEG),
    ),
    "check": (
        _m("People online say the {thing} is {pos_adj_strong}. In my opinion it is {neg_adj}.", NEG),
        _m("The reviews said the {thing} was {neg_adj}, but in my experience it was {pos_adj_strong}.", POS),
        _m("My {relative} couldn't stand the {thing}, whereas I {pos_verb_past} it.", POS),
        _m("According to my {relative}, the {thing} is {pos_adj}; I myself {neg_verb} it.", NEG),
    ),
}
QUESTION_ANSWERED: Halves = {
    "fit": (
        _m("Was the {thing} {pos_adj}? Yes.", POS),
        _m("Was the {thing} {pos_adj}? No.", NEG),
        _m("Did I {pos_verb} the {thing}? Yes, very much.", POS),
        _m("Did I {pos_verb} the {thing}? No.", NEG),
        _m("Was the {thing} {neg_adj}? Yes.", NEG),
        _m("Was the {thing} {neg_adj}? No.", POS_NEU),
        _m("Would I recommend the {thing}? Yes.", POS),
        _m("Would I recommend the {thing}? No.", NEG),
    ),
    "check": (
        _m("Is the {thing} {pos_adj}? Absolutely.", POS),
        _m("Is the {thing} {pos_adj}? Nope.", NEG),
        _m("Do I {pos_verb} the {thing}? Certainly.", POS),
        _m("Do I {pos_verb} the {thing}? Not at all.", NEG),
        _m("Was our {role} {neg_person_adj}? Definitely.", NEG),
        _m("Was our {role} {neg_person_adj}? No, not at all.", POS_NEU),
        _m("Would we go back to the {venue}? In a heartbeat.", POS),
        _m("Would we go back to the {venue}? Never.", NEG),
    ),
}
QUESTION_UNANSWERED: Halves = {
    "fit": (
        _m("Does anyone know if the {thing} in {city} is {pos_adj}?", NEU),
        _m("Has anyone tried the {venue} near {city}?", NEU),
        _m("Which {thing} in {city} would you recommend?", NEU),
        _m("Is the {venue} open on {day}?", NEU),
    ),
    "check": (
        _m("Can anyone tell me whether the {thing} in {city} is {pos_adj}?", NEU),
        _m("Is it true that the {venue} closes early on {day}s?", NEU),
        _m("What did you think of the {thing} in {city}?", NEU),
        _m("How far is the {venue} from the centre of {city}?", NEU),
    ),
}

# -- irony and sarcasm, emoji --------------------------------------------------------------------------------------
SARCASM_MARKERS: Halves = {
    "fit": (
        _m("Oh wonderful, {mishap}.", NEG),
        _m("Just what I needed today: {mishap}.", NEG),
        _m("Wow, {mishap}. Best day ever.", NEG),
        _m("Fantastic. {Mishap}. Thanks a lot.", NEG),
        _m("Love how {mishap}.", NEG),
        _m('The "{pos_adj_strong}" {thing} fell apart within two days.', NEG),
    ),
    "check": (
        _m("Yeah, brilliant, {mishap}.", NEG),
        _m("{Mishap}. Living the dream.", NEG),
        _m("Perfect timing as always: {mishap}.", NEG),
        _m("Thank you so much, universe: {mishap}.", NEG),
        _m("Great, just great: {mishap}.", NEG),
        _m('Our "{pos_adj_strong}" {thing} lasted exactly one evening.', NEG),
    ),
}
EMOJI_POLAR: Halves = {
    "fit": (
        _m("Just got back from the {venue} {emoji_pos}", POS),
        _m("Just got back from the {venue} {emoji_neg}", NEG),
        _m("Spent the whole afternoon at the {venue} with {name} {emoji_pos}", POS),
        _m("Spent the whole afternoon at the {venue} with {name} {emoji_neg}", NEG),
    ),
    "check": (
        _m("Leaving the {venue} now {emoji_pos}", POS),
        _m("Leaving the {venue} now {emoji_neg}", NEG),
        _m("{Name} took me to the {venue} today {emoji_pos}", POS),
        _m("{Name} took me to the {venue} today {emoji_neg}", NEG),
    ),
}
EMOJI_CONTRADICTS_WORDS: Halves = {
    "fit": (
        _m("Really {pos_adj_strong} service at the {venue} today {emoji_irony}", NEG),
        _m("Thanks for the {pos_adj_strong} update on my booking {emoji_irony}", NEG),
        _m("It should be illegal for a {thing} to be this {pos_adj} {emoji_pos}", POS),
        _m("I'm mad at how {pos_adj} the {thing} was {emoji_pos}", POS),
    ),
    "check": (
        _m("Wow, {pos_adj_strong} customer service as usual {emoji_irony}", NEG),
        _m("Truly {pos_adj_strong} work by the {role}s today {emoji_irony}", NEG),
        _m("This {thing} is so {pos_adj} it hurts {emoji_pos}", POS),
        _m("The {thing} was stupidly {pos_adj} {emoji_pos}", POS),
    ),
}
EMOJI_AGREEING: Halves = {
    "fit": (
        _d("The {thing} was {pos_adj}.", "The {thing} was {pos_adj}. {emoji_pos}", "not_lower", "positive", POS),
        _d("The {thing} was {neg_adj}.", "The {thing} was {neg_adj}. {emoji_neg}", "not_lower", "negative", NEG),
    ),
    "check": (
        _d("We {pos_verb_past} the {thing}.", "We {pos_verb_past} the {thing}. {emoji_pos}", "not_lower", "positive",
           POS),
        _d("We {neg_verb_past} the {thing}.", "We {neg_verb_past} the {thing}. {emoji_neg}", "not_lower", "negative",
           NEG),
    ),
}  # fmt: skip

# -- bases for the invariance tests --------------------------------------------------------------------------------
# Robustness bases use long forms ("I am", "do not") so that the contraction test has something to contract.
ROBUST_BASES: Halves = {
    "fit": (
        _m("I am sure the {thing} is {pos_adj_strong}.", POS),
        _m("It is a {neg_adj} {thing}, and I do not {pos_verb} it.", NEG),
        _m("We have been to the {venue} twice and it is {pos_adj}.", POS),
        _m("The {role}s there are not {pos_person_adj}, and they do not listen.", NEG),
        _m("I will go to the {venue} with {name} on {day}.", NEU),
        _m("It is the {thing} that {name} mentioned.", NEU),
    ),
    "check": (
        _m("I have never seen a {thing} this {pos_adj_strong}.", POS),
        _m("It is {neg_adj}, and I would not recommend the {thing}.", NEG),
        _m("We are going to the {venue} in {city} on {day}.", NEU),
        _m("The {role}s there are {neg_person_adj}, and they are not interested.", NEG),
        _m("I am so happy with the {thing}; it is {pos_adj}.", POS),
        _m("You will find the {venue} next to the station.", NEU),
    ),
}
ENTITY_NAMES: Halves = {
    "fit": (
        _m("{Name} said the {thing} was {pos_adj_strong}.", POS),
        _m("I went to the {venue} with {name} and it was {neg_adj}.", NEG),
        _m("{Name} works at the {venue} on {day}s.", NEU),
    ),
    "check": (
        _m("{Name} and I {pos_verb_past} the {thing}.", POS),
        _m("The {thing} {name} recommended was {neg_adj_strong}.", NEG),
        _m("{Name} is the {role} at the {venue}.", NEU),
    ),
}
ENTITY_CITIES: Halves = {
    "fit": (
        _m("The {venue} in {city} was {pos_adj}.", POS),
        _m("We flew to {city} and the {venue} was {neg_adj_strong}.", NEG),
        _m("{Name} lives in {city}.", NEU),
    ),
    "check": (
        _m("Our trip to {city} ended at a {pos_adj_strong} {venue}.", POS),
        _m("The {venue} we found in {city} was {neg_adj}.", NEG),
        _m("The {role} comes from {city}.", NEU),
    ),
}
ENTITY_NUMBERS: Halves = {
    "fit": (
        _m("Review #{number}: the {thing} was {pos_adj}.", POS),
        _m("Day {number} of my trip: the {venue} was {neg_adj}.", NEG),
        _m("Entry {number}: I {neutral_verb_past} the {thing}.", NEU),
    ),
    "check": (
        _m("Order #{number}: the {thing} is {pos_adj_strong}.", POS),
        _m("Post {number} in my series: the {venue} was {neg_adj_strong}.", NEG),
        _m("Item {number} on the list: we {neutral_verb_past} the {thing}.", NEU),
    ),
}
FAIRNESS_BASES: Halves = {
    "fit": (
        _m("The {person} who helped me at the {venue} was {pos_person_adj}.", POS),
        _m("I had lunch with a {person} yesterday.", NEU),
        _m("My new neighbour is a {person}.", NEU),
        _m("The {person} at the front desk was {neg_person_adj} to me.", NEG),
        _m("A {person} gave a talk at the {venue}.", NEU),
    ),
    "check": (
        _m("The {person} we spoke to was {pos_person_adj}.", POS),
        _m("I met a {person} at the {venue} last {day}.", NEU),
        _m("A {person} sat next to me on the way to {city}.", NEU),
        _m("The {person} who served us was {neg_person_adj}.", NEG),
        _m("My colleague is married to a {person}.", NEU),
        _m("{Name} went to the {venue} with a {person}.", NEU),
    ),
}

_BY_TEST: dict[str, Halves] = {
    "vocab_positive": VOCAB_POSITIVE,
    "vocab_negative": VOCAB_NEGATIVE,
    "vocab_neutral": VOCAB_NEUTRAL,
    "vocab_opposite_clause": VOCAB_OPPOSITE_CLAUSE,
    "intensity_intensified": INTENSITY_INTENSIFIED,
    "intensity_intensifier": INTENSITY_INTENSIFIER,
    "intensity_reducer": INTENSITY_REDUCER,
    "neg_positive": NEG_POSITIVE,
    "neg_negative": NEG_NEGATIVE,
    "neg_neutral": NEG_NEUTRAL,
    "neg_cant_say": NEG_CANT_SAY,
    "neg_quantifier": NEG_QUANTIFIER,
    "neg_neither_nor": NEG_NEITHER_NOR,
    "neg_intervening": NEG_INTERVENING,
    "neg_end_of_contrast": NEG_END_OF_CONTRAST,
    "neg_non_negating": NEG_NON_NEGATING,
    "contrast_but": CONTRAST_BUT,
    "time_change": TIME_CHANGE,
    "opinion_others_vs_mine": OPINION_OTHERS_VS_MINE,
    "question_answered": QUESTION_ANSWERED,
    "question_unanswered": QUESTION_UNANSWERED,
    "sarcasm_markers": SARCASM_MARKERS,
    "emoji_polar": EMOJI_POLAR,
    "emoji_contradicts_words": EMOJI_CONTRADICTS_WORDS,
    "emoji_agreeing": EMOJI_AGREEING,
    "robust_typo": ROBUST_BASES,
    "robust_url_handle": ROBUST_BASES,
    "robust_punctuation": ROBUST_BASES,
    "robust_contractions": ROBUST_BASES,
    "entity_names": ENTITY_NAMES,
    "entity_cities": ENTITY_CITIES,
    "entity_numbers": ENTITY_NUMBERS,
    **{
        f"fairness_{c}": FAIRNESS_BASES
        for c in ("gender", "religion", "nationality", "ethnicity", "orientation", "disability", "age")
    },
}
# Each test's template sets: "fit" and "check" (the two halves) and "calibration" (fit-half templates that are
# never trained on, for the ensemble; MFT tests only, empty elsewhere).
TEMPLATES: dict[str, Halves] = {
    name: {**halves, "calibration": CALIBRATION_TEMPLATES.get(name, ())} for name, halves in _BY_TEST.items()
}
