"""A frame of praise around a situation without praise (lexicons/sarcasm.py): the situation becomes the focus view
and the praise_frame gate opens; praise of praise, plain opinions and turns are no frame."""

from __future__ import annotations

import numpy as np
import pytest
from affectlens.lexicons import LexiconPipeline
from affectlens.lexicons.features import FEATURE_NAMES

from affectlens.evidence import gate_values
from affectlens.views import view_text


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        ("Wonderful, simply wonderful: the lift broke on the way up.", "the lift broke on the way up."),
        ("Oh lovely, my order arrived in pieces", "my order arrived in pieces"),  # an interjection joins the frame
        ("Terrific, the printer jammed twice. Truly terrific.", "the printer jammed twice"),  # its sentence
        ("Great, the staff were not helpful.", "the staff were not helpful"),  # a negated praise is no praise
    ],
)
def test_a_frame_of_praise_gives_its_situation_to_the_focus_view(lexicon: LexiconPipeline, text, situation) -> None:
    analysis = lexicon.analyze_batch([text])[0]
    features = dict(zip(FEATURE_NAMES, analysis.features.tolist(), strict=True))
    assert view_text("focus", analysis) == situation and features["praise_frame"] == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Great news: we won the final!",  # the situation praises too
        "Nice and sad: the room smelled of smoke.",  # the frame holds a negative word
        "Brilliant: nice.",  # no situation to speak of
        "You were great. The ferry left without us.",  # a sentence of praise is an opinion, no frame
        "The train sat outside the station for an hour. Thanks!",  # nor is a closing one
        "The staff were kind and the room was clean.",  # no frame
        "Great, but the room was tiny and the bed broke.",  # a turn decides; its clause is the focus already
        "Thanks to everyone who came out to the market, the stall sold out.",  # too long for a frame
    ],
)
def test_no_frame_where_the_situation_praises_or_nothing_frames_it(lexicon: LexiconPipeline, text) -> None:
    analysis = lexicon.analyze_batch([text])[0]
    features = dict(zip(FEATURE_NAMES, analysis.features.tolist(), strict=True))
    assert features["praise_frame"] == 0.0


def test_the_praise_frame_gate_opens_where_the_network_reads_the_situation_as_negative(lexicon) -> None:
    texts = ["Fantastic, the bus left early without us.", "Fantastic, the bus leaves at noon.", "The bus left early."]
    analyses = lexicon.analyze_batch(texts)
    columns = {name: np.array([a.features[j] for a in analyses]) for j, name in enumerate(FEATURE_NAMES)}
    focus = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [np.nan] * 3])  # the situations' readings
    gates = gate_values(columns, None, {"focus": focus})
    # 0: praise around a mishap; 1: around a plain fact (sincere: neither gate opens); 2: no frame, no focus
    assert gates["praise_frame"].tolist() == [1.0, 0.0, 0.0]
    assert gates["focus"].tolist() == [1.0, 0.0, 0.0]
    assert gate_values(columns, None)["praise_frame"].sum() == 0  # without the focus view the gate stays shut
