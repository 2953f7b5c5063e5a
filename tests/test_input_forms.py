"""The network's input forms: emoji-text-v1 (emoji as words), the registry, the use in NeuralModel."""

from __future__ import annotations

import emoji as emoji_pkg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affectlens.errors import ConfigError
from affectlens.input_forms import EMOJI_TEXT, emoji_text, input_form

CASES = [
    ("Loved the new ramen place 👍", "Loved the new ramen place thumbs up"),
    ("meh👎", "meh thumbs down"),
    ("great job 👍🏽", "great job thumbs up"),  # skin tone dropped
    ("so good 👍🏼", "so good thumbs up"),  # hyphenated skin-tone names too
    ("❤️ and ❤", "red heart and red heart"),  # with and without U+FE0F
    ("home 🇯🇵", "home flag of japan"),  # flag
    ("me 🤦🏻\u200d♂️ again", "me man facepalming again"),  # ZWJ sequence with a skin tone
    ("our 👨\u200d👩\u200d👧 trip", "our family man woman girl trip"),
    ("🙄 sure", "face with rolling eyes sure"),
    ("lol 😂😂", "lol face with tears of joy face with tears of joy"),
    ("Works great, if you like it dying after a week 👎", "Works great, if you like it dying after a week thumbs down"),
    ("good  😡  bad", "good enraged face bad"),  # spaces collapsed where a name was put
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1] for c in CASES])
def test_emoji_replaced_by_words(text: str, expected: str) -> None:
    assert emoji_text(text) == expected


@pytest.mark.parametrize("text", ["no emoji here", "  spaced   out \n", "", "café au lait, naïve — 100%", ":-) :("])
def test_text_without_emoji_is_returned_unchanged(text: str) -> None:
    assert emoji_text(text) is text


def test_deterministic_and_idempotent() -> None:
    text = "The hotel 🏨 was fine 👌🏿 but the pool 🏊\u200d♀️ was closed 😤"
    once = emoji_text(text)
    assert once == emoji_text(text)
    assert emoji_text(once) == once  # the output has no emoji left


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(sorted(emoji_pkg.EMOJI_DATA)), st.text(max_size=5)), max_size=8))
def test_no_emoji_survive(parts: list[str]) -> None:
    out = emoji_text("".join(parts))
    assert emoji_pkg.emoji_count(out) == 0
    assert out == out.strip() or emoji_pkg.emoji_count("".join(parts)) == 0


def test_registry_names_versioned_forms() -> None:
    assert input_form(None)("a 👍") == "a 👍"
    assert input_form(EMOJI_TEXT)("a 👍") == "a thumbs up"
    with pytest.raises(ConfigError, match="unknown network input form"):
        input_form("emoji-text-v0")


def test_neural_model_reads_the_form_its_card_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import shutil

    from affectlens.engine import default_model_dir
    from affectlens.neural import NeuralModel

    folder = tmp_path / "model"
    shutil.copytree(default_model_dir(), folder, ignore=shutil.ignore_patterns("hf"))
    card = json.loads((folder / "affectlens_model.json").read_text())
    (folder / "affectlens_model.json").write_text(json.dumps({k: v for k, v in card.items() if k != "input_form"}))
    plain = NeuralModel(folder)
    (folder / "affectlens_model.json").write_text(json.dumps({**card, "input_form": EMOJI_TEXT}))
    worded = NeuralModel(folder)
    ids = worded.encode(["so bad 👎"])[0].ids
    assert ids == plain.encode(["so bad thumbs down"])[0].ids
    assert plain.encode(["so bad 👎"])[0].ids != ids  # without the form the emoji is [UNK]
