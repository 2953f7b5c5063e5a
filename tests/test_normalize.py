from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from affectlens.normalize import InputProblem, NormalizedText, normalize_text


def test_bad_inputs_get_specific_codes() -> None:
    for item, code in [
        (b"\xff\xfe bad", "invalid_utf8"),
        ("", "empty_text"),
        ("  \n\t ", "empty_text"),
        (42, "not_a_string"),
        (None, "not_a_string"),
        (["a"], "not_a_string"),
        ("ok \ud800", "invalid_utf8"),
    ]:
        result = normalize_text(item)
        assert isinstance(result, InputProblem), item
        assert result.code == code
        assert result.message


def test_valid_bytes_are_decoded_and_control_characters_replaced() -> None:
    result = normalize_text("caf\u00e9 \x00ok\x1b".encode())
    assert isinstance(result, NormalizedText)
    assert result.text == "café  ok "


def test_long_text_is_truncated_with_a_warning() -> None:
    result = normalize_text("word " * 100_000, max_chars=1000)
    assert isinstance(result, NormalizedText)
    assert len(result.text) <= 1000
    assert result.warnings and result.warnings[0].startswith("truncated")


@given(st.one_of(st.text(), st.binary(), st.integers(), st.none()))
def test_never_raises(item: object) -> None:
    result = normalize_text(item, max_chars=50)
    assert isinstance(result, NormalizedText | InputProblem)
    if isinstance(result, NormalizedText):
        assert result.text.strip() and len(result.text) <= 50
