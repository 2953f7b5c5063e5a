"""Whose opinion counts (lexicons/opinion.py): others' reported views weigh less where the writer gives their own."""

from __future__ import annotations

import pytest
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.opinion import REPORTED_WEIGHT, reported_clauses
from affectlens.lexicons.tokenize import tokenize


@pytest.fixture(scope="module")
def pipe() -> LexiconPipeline:
    return LexiconPipeline(LexiconConfig(use_nrc=False, use_parser=False))


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("The critics called the concert awful; I thought it was wonderful.", +1),
        ("My friends raved about the film, but I found it dull.", -1),
        ("People said it was terrible. Personally, I loved it.", +1),
        ("In my opinion the hotel was lovely, though reviewers called it shabby.", +1),
        ("According to my uncle, the film is superb; I myself loathe it.", -1),  # the source's clause is reported
        ("According to the reviews the app is awful, yet I appreciate it.", +1),
    ],
)
def test_the_writers_own_view_outweighs_the_views_they_report(pipe: LexiconPipeline, text: str, sign: int) -> None:
    compound = pipe.analyze(text).vader["compound"]
    assert compound * sign > 0.05


@pytest.mark.parametrize(
    "text",
    [
        "Everyone says the food is great.",  # the only view given: nothing to weigh against
        "They said it would be awful and it was.",
        "I think it is great and everyone agrees.",  # no reporting verb after "everyone"
        "According to the forecast, tomorrow will be lovely.",  # no view of the writer's own
    ],
)
def test_without_a_first_person_view_and_a_reported_one_nothing_changes(text: str) -> None:
    assert reported_clauses(tokenize(text)) == set()


def test_only_the_reported_clause_is_weighed_down(pipe: LexiconPipeline) -> None:
    analysis = pipe.analyze("The critics called the concert awful; I thought it was wonderful.")
    valence = {t.text: t.valence for t in analysis.tokens}
    plain = pipe.analyze("The concert was awful; it was wonderful.")
    plain_valence = {t.text: t.valence for t in plain.tokens}
    assert valence["awful"] == pytest.approx(plain_valence["awful"] * REPORTED_WEIGHT)
    assert valence["wonderful"] == pytest.approx(plain_valence["wonderful"])


@pytest.fixture(scope="module")
def parsed_pipe() -> LexiconPipeline:
    return LexiconPipeline(LexiconConfig(use_nrc=False))


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("The guide was not, as my aunt feared, rude.", +1),  # "feared" is the aunt's expectation
        ("The staff were not, as I had hoped, friendly.", -1),  # "hoped" is not the verdict
        ("The hotel was not, to my surprise, lovely.", -1),
    ],
)
def test_an_aside_between_negation_and_predicate_does_not_count(
    parsed_pipe: LexiconPipeline, text: str, sign: int
) -> None:
    a = parsed_pipe.analyze(text)
    assert a.vader["compound"] * sign > 0.05
    polar = [t for t in a.tokens if t.valence]
    assert polar and all(t.negated for t in polar)  # only the negated predicate is left: the full-negation gate


@pytest.mark.parametrize(
    "text",
    [
        "It was not good, sadly, and the staff were great.",  # the commas close the negated clause
        "No, thanks, it was great.",  # "No," answers: its scope does not go on after "thanks"
    ],
)
def test_commas_that_close_the_negated_clause_are_no_aside(parsed_pipe: LexiconPipeline, text: str) -> None:
    a = parsed_pipe.analyze(text)
    assert any(t.valence and not t.negated for t in a.tokens)
