"""The calibration templates of the behavioural suite: part of the *fit* half, never trained on.

``affectlens train`` trains on the fit templates; the ensemble (``affectlens calibrate``) is fitted on the rows
these templates make, filled with the suite's calibration vocabulary. Their phrasing and their words are new to
the network, as the check half's are and as anyone's data is, so the stacker sees where the network meets an
unseen construction and the lexicon's parse-based evidence is right (or wrong). A network that learnt the fit
templates is right on held-out fillings of them; a stacker fitted only there learns to ignore the lexicon.

MFT tests only (single-label rows). Written for affectlens: the shapes differ from the fit and check halves',
and the fixed words avoid the check vocabulary (``tests/test_behaviour.py``).
"""

from __future__ import annotations

from affectlens.behaviour.template_kit import NEG, NEU, POS, POS_NEU, Template, _m

CALIBRATION_TEMPLATES: dict[str, tuple[Template, ...]] = {
    "vocab_positive": (
        _m("The {thing} turned out {pos_adj}.", POS),
        _m("Everything about the {thing} was {pos_adj_strong}.", POS),
        _m("We {pos_verb} our {thing}.", POS),
        _m("The {role} at the {venue} was {pos_person_adj}.", POS),
    ),
    "vocab_negative": (
        _m("The {thing} turned out {neg_adj}.", NEG),
        _m("Everything about the {thing} was {neg_adj_strong}.", NEG),
        _m("We {neg_verb} our {thing}.", NEG),
        _m("The {role} at the {venue} was {neg_person_adj}.", NEG),
    ),
    "vocab_neutral": (
        _m("{Name} {neutral_verb_past} the {thing} yesterday.", NEU),
        _m("The {venue} in {city} opens at nine.", NEU),
        _m("My {relative} booked the {venue} for {day}.", NEU),
    ),
    "neg_positive": (
        _m("The {thing} certainly wasn't {pos_adj}.", NEG),
        _m("I wouldn't describe the {thing} as {pos_adj}.", NEG),
        _m("My {relative} and I did not {pos_verb} the {thing}.", NEG),
        _m("The {thing} has never been {pos_adj}.", NEG),
        _m("The {role} we got was not remotely {pos_person_adj}.", NEG),
        _m("Not a {pos_adj} {thing} by any measure.", NEG),
    ),
    "neg_negative": (
        _m("The {thing} was not {neg_adj} in the least.", POS_NEU),
        _m("I wouldn't label the {thing} {neg_adj}.", POS_NEU),
        _m("The {role} was never {neg_person_adj} with us.", POS_NEU),
        _m("Not one complaint about the {thing}.", POS_NEU),
        _m("I have nothing {neg_adj} to say about the {thing}.", POS_NEU),
    ),
    "neg_neutral": (
        _m("{Name} isn't coming to {city} this summer.", NEU),
        _m("The {venue} does not open before noon.", NEU),
        _m("My {relative} never drives to {city}.", NEU),
        _m("I haven't {neutral_verb_past} the {thing} yet.", NEU),
    ),
    "neg_cant_say": (
        _m("I wouldn't say the {role} was {pos_person_adj}.", NEG),
        _m("I'd never claim the {thing} was {pos_adj}.", NEG),
        _m("I can't pretend I {pos_verb_past} the {thing}.", NEG),
        _m("I wouldn't say the {thing} was {neg_adj}.", POS_NEU),
    ),
    "neg_quantifier": (
        _m("Not one guest {pos_verb_past} the {thing}.", NEG),
        _m("None of my friends found the {thing} {pos_adj}.", NEG),
        _m("No part of the {thing} was {pos_adj}.", NEG),
        _m("Nobody at the party {pos_verb_past} the {thing}.", NEG),
        _m("Nobody found the {thing} {neg_adj}.", POS_NEU),
        _m("None of the guests {neg_verb_past} the {thing}.", POS_NEU),
    ),
    "neg_neither_nor": (
        _m("Neither {name} nor I found the {thing} {pos_adj}.", NEG),
        _m("It was neither a {pos_adj} {thing} nor a {pos_adj2} one.", NEG),
        _m("The {thing} was neither {pos_adj} nor worth the money.", NEG),
        _m("Neither the {thing} nor the staff seemed {neg_adj}.", POS_NEU),
    ),
    "neg_intervening": (
        _m("The {thing} was not, to my surprise, {pos_adj}.", NEG),
        _m("I did not, after three visits, {pos_verb} the {thing}.", NEG),
        _m("It is not, whatever the ads suggest, a {pos_adj} {thing}.", NEG),
        _m("I don't feel that the {thing} we booked for {day} was {pos_adj}.", NEG),
        _m("The {role} was not, as my {relative} feared, {neg_person_adj}.", POS_NEU),
    ),
    "neg_end_of_contrast": (
        _m("Everyone said the {thing} would be {pos_adj}, yet it wasn't.", NEG),
        _m("I wanted to {pos_verb} the {thing}, but I could not.", NEG),
        _m("The brochure described the {thing} as {pos_adj_strong}, which it was not.", NEG),
        _m("The {role} was meant to be {pos_person_adj}; sadly, she was not.", NEG),
        _m("I was sure the {thing} would be {neg_adj}, and it wasn't.", POS_NEU),
        _m("My {relative} warned me the {thing} would be {neg_adj}, but it was not.", POS_NEU),
    ),
    "neg_non_negating": (
        _m("Not only is the {thing} {pos_adj}, it is also {pos_adj_strong}.", POS),
        _m("No question, the {thing} is {pos_adj_strong}.", POS),
        _m("There's no denying the {thing} was {pos_adj_strong}.", POS),
        _m("Nothing but smiles from the {role}s.", POS),
        _m("The {thing} was nothing but {neg_adj} from start to finish.", NEG),
        _m("There is no denying that the {thing} was {neg_adj_strong}.", NEG),
    ),
    "contrast_but": (
        _m("The {thing} started {neg_adj}, but it became {pos_adj_strong}.", POS),
        _m("The queue was long, but the {thing} was {pos_adj_strong}.", POS),
        _m("The price was fair, but the {thing} itself was {neg_adj_strong}.", NEG),
        _m("Whereas the {role} was {pos_person_adj}, the {thing} was {neg_adj_strong}.", NEG),
        _m("Even though it rained, the {thing} was {pos_adj_strong}.", POS),
    ),
    "time_change": (
        _m("Back then I {pos_verb_past} the {thing}, but lately I {neg_verb} it.", NEG),
        _m("I {neg_verb_past} the {thing} at the start, yet now I {pos_verb} it.", POS),
        _m("The {thing} was once {pos_adj_strong}, but it has become {neg_adj}.", NEG),
        _m("After the renovation, the once {neg_adj} {venue} is {pos_adj_strong}.", POS),
        _m("In the beginning the {role} was {neg_person_adj}; now the {role} is {pos_person_adj}.", POS),
    ),
    "opinion_others_vs_mine": (
        _m("My {relative} {neg_verb_past} the {thing}; I {pos_verb_past} it.", POS),
        _m("Reviewers rate the {thing} {pos_adj_strong}, but I think it is {neg_adj}.", NEG),
        _m("The {thing} gets {pos_adj} reviews, but for me it was {neg_adj_strong}.", NEG),
        _m("Others may find the {thing} {neg_adj}; I find it {pos_adj_strong}.", POS),
        _m("{Name} says the {thing} is {neg_adj_strong}, but I {pos_verb} it.", POS),
    ),
    "question_answered": (
        _m("Was the {thing} {pos_adj}? Not really.", NEG),
        _m("Was the {thing} {pos_adj}? Very.", POS),
        _m("Did the {role} seem {pos_person_adj}? Yes, always.", POS),
        _m("Did the {role} seem {neg_person_adj}? Not once.", POS_NEU),
        _m("Should you book the {venue}? Yes, absolutely.", POS),
        _m("Should you book the {venue}? Definitely not.", NEG),
        _m("Was the {thing} {neg_adj}? Yes, very.", NEG),
    ),
    "question_unanswered": (
        _m("Has anybody been to the {venue} in {city} lately?", NEU),
        _m("Where can I find a {thing} like this in {city}?", NEU),
        _m("Should I book the {venue} for {day}?", NEU),
        _m("Does the {venue} in {city} take reservations?", NEU),
    ),
    "sarcasm_markers": (
        _m("Oh joy, {mishap}.", NEG),
        _m("Awesome, {mishap}. Just awesome.", NEG),
        _m("Absolutely thrilled that {mishap}.", NEG),
        _m("What a treat: {mishap}.", NEG),
        _m("The supposedly {pos_adj_strong} {thing} stopped working on the first day.", NEG),
    ),
    "emoji_polar": (
        _m("Back home after the {venue} {emoji_pos}", POS),
        _m("Back home after the {venue} {emoji_neg}", NEG),
        _m("Out at the {venue} with my {relative} {emoji_pos}", POS),
        _m("Out at the {venue} with my {relative} {emoji_neg}", NEG),
    ),
    "emoji_contradicts_words": (
        _m("Such {pos_adj_strong} luck with my booking {emoji_irony}", NEG),
        _m("Loving the {pos_adj_strong} queue at the {venue} {emoji_irony}", NEG),
        _m("This {thing} is criminally {pos_adj} {emoji_pos}", POS),
        _m("That {thing} was insanely {pos_adj} {emoji_pos}", POS),
    ),
}  # fmt: skip
