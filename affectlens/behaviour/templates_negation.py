"""Negation templates of the behavioural suite, per test and per half (see :mod:`affectlens.behaviour.templates`)."""

from __future__ import annotations

from affectlens.behaviour.template_kit import NEG, NEU, POS, POS_NEU, Halves, _m

# -- negation ----------------------------------------------------------------------------------------------------
NEG_POSITIVE: Halves = {
    "fit": (
        _m("The {thing} was not {pos_adj}.", NEG),
        _m("I didn't {pos_verb} the {thing}.", NEG),
        _m("The {thing} isn't {pos_adj} at all.", NEG),
        _m("I don't think the {thing} is {pos_adj}.", NEG),
        _m("The {role} was not {pos_person_adj}.", NEG),
        _m("I never {pos_verb_past} the {thing}.", NEG),
        _m("The {thing} was hardly {pos_adj}.", NEG),
    ),
    "check": (
        _m("The {thing} wasn't {pos_adj}.", NEG),
        _m("We did not {pos_verb} the {thing} in the slightest.", NEG),
        _m("It is not a {pos_adj} {thing}.", NEG),
        _m("I do not believe the {thing} was {pos_adj}.", NEG),
        _m("Our {role} wasn't {pos_person_adj}.", NEG),
        _m("Never once did I {pos_verb} the {thing}.", NEG),
        _m("The {thing} was far from {pos_adj}.", NEG),
        _m("The {thing} is no longer {pos_adj}.", NEG),
    ),
}
NEG_NEGATIVE: Halves = {
    "fit": (
        _m("The {thing} was not {neg_adj}.", POS_NEU),
        _m("I didn't {neg_verb} the {thing}.", POS_NEU),
        _m("The {role} wasn't {neg_person_adj} at all.", POS_NEU),
        _m("I had no problems with the {thing}.", POS_NEU),
        _m("The {thing} is not {neg_adj_strong}.", POS_NEU),
    ),
    "check": (
        _m("The {thing} wasn't {neg_adj}.", POS_NEU),
        _m("We did not {neg_verb} the {thing}.", POS_NEU),
        _m("Our {role} was not {neg_person_adj}.", POS_NEU),
        _m("There were no issues with the {thing}.", POS_NEU),
        _m("It isn't a {neg_adj_strong} {thing}.", POS_NEU),
        _m("Never once was the {role} {neg_person_adj}.", POS_NEU),
    ),
}
NEG_NEUTRAL: Halves = {
    "fit": (
        _m("{Name} does not live in {city}.", NEU),
        _m("I did not go to the {venue} on {day}.", NEU),
        _m("The train to {city} does not stop here on {day}s.", NEU),
        _m("My {role} is not from {city}.", NEU),
    ),
    "check": (
        _m("{Name} has never been to {city}.", NEU),
        _m("We didn't visit the {venue} last {day}.", NEU),
        _m("The ferry to {city} doesn't run on {day}s.", NEU),
        _m("Her {role} isn't working this {day}.", NEU),
    ),
}
NEG_CANT_SAY: Halves = {
    "fit": (
        _m("I can't say I {pos_verb_past} the {thing}.", NEG),
        _m("I would never say the {thing} was {pos_adj}.", NEG),
        _m("I can't say the {thing} was {neg_adj}.", POS_NEU),
        _m("I can't say the {role} was {pos_person_adj}.", NEG),
    ),
    "check": (
        _m("I cannot honestly say that I {pos_verb_past} the {thing}.", NEG),
        _m("I would never call the {thing} {pos_adj}.", NEG),
        _m("Nobody could say the {role} was {pos_person_adj}.", NEG),
        _m("We can't say the {thing} was {neg_adj} either.", POS_NEU),
    ),
}
NEG_QUANTIFIER: Halves = {
    "fit": (
        _m("Nobody {pos_verb_past} the {thing}.", NEG),
        _m("Nothing about the {thing} was {pos_adj}.", NEG),
        _m("None of the {role}s were {pos_person_adj}.", NEG),
        _m("No one in my family {pos_verb_past} the {thing}.", NEG),
        _m("Nobody {neg_verb_past} the {thing}.", POS_NEU),
        _m("None of the {role}s were {neg_person_adj}.", POS_NEU),
    ),
    "check": (
        _m("No one {pos_verb_past} the {thing}.", NEG),
        _m("Nobody I know {pos_verb_past} the {thing}.", NEG),
        _m("Nothing in this {thing} is {pos_adj}.", NEG),
        _m("None of the {role}s I met were {pos_person_adj}.", NEG),
        _m("No one on our team {neg_verb_past} the {thing}.", POS_NEU),
        _m("Not a single part of the {thing} was {neg_adj}.", POS_NEU),
    ),
}
NEG_NEITHER_NOR: Halves = {
    "fit": (
        _m("The {thing} was neither {pos_adj} nor {pos_adj2}.", NEG),
        _m("Neither the {role} nor the manager was {pos_person_adj}.", NEG),
        _m("The {thing} was neither {neg_adj} nor {neg_adj2}.", POS_NEU),
        _m("I neither {pos_verb_past} nor recommended the {thing}.", NEG),
    ),
    "check": (
        _m("Neither the {thing} nor the {thing2} was {pos_adj}.", NEG),
        _m("In my view the {thing} is neither {pos_adj} nor {pos_adj2}.", NEG),
        _m("Neither my {relative} nor I {pos_verb_past} the {thing}.", NEG),
        _m("Neither the {role} nor the owner was {neg_person_adj}.", POS_NEU),
    ),
}
NEG_INTERVENING: Halves = {
    "fit": (
        _m("The {thing} was not, if I am honest, {pos_adj}.", NEG),
        _m("I do not think that the {thing} we tried on {day} was {pos_adj}.", NEG),
        _m("The {role} was not, despite the reviews, {pos_person_adj}.", NEG),
        _m("The {thing} was not, as far as I could tell, {neg_adj}.", POS_NEU),
    ),
    "check": (
        _m("I did not, despite all the hype, {pos_verb} the {thing}.", NEG),
        _m("The {thing} is not, in any sense of the word, {pos_adj}.", NEG),
        _m("I don't believe that the {thing} my friends picked last {day} was {pos_adj}.", NEG),
        _m("Our {role} wasn't, to be fair, {neg_person_adj}.", POS_NEU),
    ),
}
NEG_END_OF_CONTRAST: Halves = {
    "fit": (
        _m("I hoped the {thing} would be {pos_adj}, but it was not.", NEG),
        _m("I expected to {pos_verb} the {thing}, but I didn't.", NEG),
        _m("I thought the {thing} would be {neg_adj}, but it wasn't.", POS_NEU),
        _m("The {role} was meant to be {pos_person_adj}, but he was not.", NEG),
    ),
    "check": (
        _m("Everyone promised the {thing} was {pos_adj}. It wasn't.", NEG),
        _m("The {role} was supposed to be {pos_person_adj}, but they were not.", NEG),
        _m("The critics claimed the {thing} was {neg_adj}, but it truly was not.", POS_NEU),
        _m("They told me I would {pos_verb} the {thing}; I did not.", NEG),
    ),
}
NEG_NON_NEGATING: Halves = {
    "fit": (
        _m("The {thing} was not only {pos_adj} but also {pos_adj_strong}.", POS),
        _m("There is no doubt the {thing} is {pos_adj_strong}.", POS),
        _m("I have nothing but praise for the {thing}.", POS),
        _m("I have nothing but praise for our {role}.", POS),
        _m("Not only was the {thing} {neg_adj}, it was also {neg_adj_strong}.", NEG),
        _m("No doubt about it, the {thing} was {neg_adj_strong}.", NEG),
    ),
    "check": (
        _m("The {thing} is not just {pos_adj}; it is {pos_adj_strong}.", POS),
        _m("Without a doubt, the {thing} was {pos_adj_strong}.", POS),
        _m("We heard nothing but compliments about the {thing}.", POS),
        _m("Nothing but kind words for the {role}s here.", POS),
        _m("The {thing} was not merely {neg_adj} but truly {neg_adj_strong}.", NEG),
        _m("I had nothing but trouble with the {thing}.", NEG),
    ),
}
