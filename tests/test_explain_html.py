"""The HTML explanation page: escaping, offsets, negation marks, errors, self-containment, a real browser."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import struct
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from affectlens.errors import InvalidInputError
from affectlens.explain_html import render_html, write_html
from affectlens.schema import ModelInfo, Prediction, ScoreError, TokenEvidence

VOID = {"meta", "input", "br", "img", "link", "hr", "wbr", "source", "col", "area", "base", "embed", "track"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.classes)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}>"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


def tok(text: str, start: int, **kw) -> TokenEvidence:
    return TokenEvidence(text=text, start=start, end=start + len(text), **kw)


def tokens_for(
    text: str, pattern: str = r"\S+", fields: dict[str, dict[str, Any]] | None = None
) -> tuple[TokenEvidence, ...]:
    """Tokens of ``text`` (``pattern`` matches) with offsets; ``fields[word]`` adds fields to that word."""
    fields = fields or {}
    return tuple(tok(m.group(), m.start(), **fields.get(m.group(), {})) for m in re.finditer(pattern, text))


def prediction(tokens=None, label="negative", components=None, **kw) -> Prediction:
    return Prediction(
        label=label,
        scores={"negative": 0.7, "neutral": 0.2, "positive": 0.1},
        valence=-0.6,
        emotions={"anger": 0.6, "joy": 0.05, "neutral": 0.3},
        emotions_predicted=("anger",),
        components=components
        if components is not None
        else {
            "neural": {"label": "negative", "scores": {"negative": 0.8, "neutral": 0.15, "positive": 0.05}},
            "lexicon": {
                "label": "neutral",
                "valence": -0.25,
                "vader": {"neg": 0.3, "neu": 0.6, "pos": 0.1, "compound": -0.25},
                "nrc": {"anger": 0.5},
                "emoji": {"count": 0.0, "valence": 0.0},
                "negation": {"cues": 1.0, "negated_tokens": 1.0, "parsed": 0.0},
            },
        },
        model=ModelInfo("tiny-model", "9.9"),
        tokens=tokens,
        **kw,
    )


def sections(page: str) -> list[Node]:
    return parse(page).find_all("section")


NEGATED = "I don't like it"
NEGATED_TOKENS = tokens_for(
    NEGATED,
    fields={
        "don't": {"attribution": 0.5},
        "like": {"valence": -1.1, "negated": True, "negation_cue": "don't", "attribution": -0.2},
        "it": {"negated": True, "negation_cue": "don't", "attribution": 0.0},
    },
)


def test_text_and_attributes_are_escaped():
    text = "<script>alert('x')</script> & \"quoted\" <b>bold</b>"
    items: list[tuple[str, Prediction | ScoreError]] = [
        (text, prediction(tokens_for(text, r"\w+"), id='"><script>id</script>')),  # markup between the tokens
        (text, prediction(tokens_for(text))),  # markup inside the tokens
        ("<img src=x>", ScoreError("bad", "<i>no</i>")),
    ]
    page = render_html(items, title="<script>title</script>")
    assert page.count("<script") == 1  # only the page's own script
    assert "<b>bold" not in page and "<img" not in page and "<i>no" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    root = parse(page)
    assert root.find("title").text() == "<script>title</script>"
    first, middle, second = root.find_all("section")
    assert first.attrs["data-id"] == '"><script>id</script>'
    assert first.find("p", "text").text() == text == middle.find("p", "text").text()
    assert [s.text() for s in first.find_all("span", "tok")][:3] == ["script", "alert", "x"]
    assert second.find(cls="message").text() == "<i>no</i>"
    assert second.find("p", "text").text() == "<img src=x>"


@pytest.mark.parametrize(
    "text",
    [
        NEGATED,
        "  leading  and\ttabs\nnew line   trailing  ",
        "emoji 👍🏽 and ❤️ flags 🇫🇷 & <tags>",
        "cafe\u0301 decomposed (NFD) then composed",
    ],
)
def test_token_offsets_reproduce_the_text(text):
    scored = unicodedata.normalize("NFC", text)
    tokens = tokens_for(scored)
    root = parse(render_html([(text, prediction(tokens))]))
    block = root.find("p", "text")
    assert block.text() == scored
    spans = block.find_all("span", "tok")
    assert [s.text() for s in spans] == [t.text for t in tokens]
    for span, t in zip(spans, tokens, strict=True):
        assert (int(span.attrs["data-start"]), int(span.attrs["data-end"])) == (t.start, t.end)
        assert scored[t.start : t.end] == span.text()


def test_negation_cue_and_scope_are_marked_with_a_legend():
    page = render_html([(NEGATED, prediction(NEGATED_TOKENS))])
    root = parse(page)
    spans = {s.text(): s for s in root.find("section").find_all("span", "tok")}
    assert "cue" in spans["don't"].classes and "negated" not in spans["don't"].classes
    assert {"negated"} <= spans["like"].classes and "cue" not in spans["like"].classes
    assert "negated" in spans["it"].classes
    assert spans["I"].classes == {"tok"}
    tip = spans["like"].attrs["data-tip"]
    assert "negated by: don't" in tip and "valence: -1.100" in tip and "against negative" in tip
    assert "negation cue" in spans["don't"].attrs["data-tip"]
    legend = root.find(cls="legend")
    assert legend.find(cls="cue") and legend.find(cls="negated")
    assert not legend.find_all(cls="tok")


def test_double_negation_cue_inside_a_scope_is_both_cue_and_negated():
    text = "not that it is not good"
    tokens = tokens_for(text)
    neg = {2: "not", 3: "not", 4: "not", 5: "not"}  # the second "not" is negated by the first; "good" by the second
    tokens = tuple(
        TokenEvidence(t.text, t.start, t.end, negated=True, negation_cue="not") if i in neg else t
        for i, t in enumerate(tokens)
    )
    spans = parse(render_html([(text, prediction(tokens))])).find_all("span", "tok")
    assert [s.classes for s in spans] == [
        {"tok", "cue"},
        {"tok"},
        {"tok", "negated"},
        {"tok", "negated"},
        {"tok", "negated", "cue"},
        {"tok", "negated"},
    ]


def test_hover_shows_emotions_emoji_and_attribution():
    text = "so angry 👎"
    tokens = (
        tok("so", 0, attribution=0.01),
        tok("angry", 3, valence=-2.3, emotions=("anger", "negative"), attribution=0.3),
        tok("👎", 9, valence=-1.8, emoji=":thumbs_down:", emoji_valence=-1.8),
    )
    spans = parse(render_html([(text, prediction(tokens))])).find_all("span", "tok")
    assert "NRC: anger, negative" in spans[1].attrs["data-tip"]
    assert "attribution: +0.300 (supports negative)" in spans[1].attrs["data-tip"]
    assert "emoji: :thumbs_down: (valence -1.80)" in spans[2].attrs["data-tip"]
    assert "attribution: not computed" in spans[2].attrs["data-tip"]
    assert spans[2].attrs["data-attribution"] == "" and "emoji" in spans[2].classes
    assert float(spans[1].attrs["data-attribution"]) == pytest.approx(0.3)


def test_attribution_colour_diverges_and_scales_with_magnitude():
    spans = parse(render_html([(NEGATED, prediction(NEGATED_TOKENS))])).find_all("span", "tok")
    by_text = {s.text(): s.attrs.get("style", "") for s in spans}

    def alpha(style: str) -> float:
        match = re.search(r"--a-bg:rgba\(\d+,\d+,\d+,([\d.]+)\)", style)
        assert match, style
        return float(match.group(1))

    assert "--a-bg:rgba(33,102,172," in by_text["don't"]  # supports the label
    assert "--a-bg:rgba(221,107,32," in by_text["like"]  # against it
    assert alpha(by_text["don't"]) > alpha(by_text["like"])
    assert "--a-bg" not in by_text["it"] and "--a-bg" not in by_text["I"]  # zero / missing: no colour
    assert "--v-bg:rgba(197,27,125," in by_text["like"]  # negative valence for the valence view


def test_component_tables_side_by_side():
    root = parse(render_html([(NEGATED, prediction(NEGATED_TOKENS))]))
    block = root.find("section")
    final = block.find("table", "scores", data_component="final")
    rows = {r.attrs["data-label"]: r for r in final.find_all("tr")}
    assert list(rows) == ["negative", "neutral", "positive"]
    assert "predicted" in rows["negative"].classes and "predicted" not in rows["neutral"].classes
    assert rows["negative"].find(cls="num").text() == "0.700"
    assert "width:70.0%" in rows["negative"].find(cls="fill").attrs["style"]
    neural = block.find("table", "scores", data_component="neural")
    assert neural.find("tr", data_label="negative").find(cls="num").text() == "0.800"
    lexicon = block.find("table", "scores", data_component="lexicon")
    assert lexicon.find("tr", data_label="compound").find(cls="num").text() == "-0.250"
    assert [c.text() for c in block.find_all(cls="chip", data_emotion="anger")] == ["anger"]
    assert "tiny-model 9.9" in block.find(cls="model").text()
    assert block.find(cls="chip", data_label="negative")


def test_missing_components_say_which_mode():
    lexicon_only = prediction(tokens_for("fine"), components={"neural": None, "lexicon": None})
    block = parse(render_html([("fine", lexicon_only)])).find("section")
    assert not block.find_all("table", data_component="neural")
    assert "lexicon-only" in block.find(cls="card", data_component="neural").text()
    assert "neural-only" in block.find(cls="card", data_component="lexicon").text()
    assert block.find("table", data_component="final")


def test_error_items_render_as_error_boxes_between_good_ones():
    items: list[tuple[str, Prediction | ScoreError]] = [
        (NEGATED, prediction(NEGATED_TOKENS)),
        ("", ScoreError("empty_text", "text is empty or whitespace only; send at least one word", id="b")),
        ("great", prediction(tokens_for("great"), label="positive")),
    ]
    blocks = sections(render_html(items))
    assert [b.attrs["id"] for b in blocks] == ["item-1", "item-2", "item-3"]
    assert "error" in blocks[1].classes and blocks[1].attrs["data-code"] == "empty_text"
    assert blocks[1].attrs["data-id"] == "b"
    box = blocks[1].find(cls="error-box")
    assert box.find(cls="code").text() == "empty_text" and "send at least one word" in box.text()
    assert not blocks[1].find_all("p", "text")  # nothing to show for an empty text
    assert blocks[2].find("span", "tok").text() == "great"
    assert "error" not in blocks[0].classes and "error" not in blocks[2].classes


def test_prediction_without_tokens_renders_scores_and_a_note():
    block = parse(render_html([("no explain <here>", prediction(None))])).find("section")
    assert block.find("p", "text").text() == "no explain <here>"
    assert not block.find_all("span", "tok")
    assert "explain=True" in block.find(cls="note").text()
    assert block.find("table", data_component="final") and block.find("table", data_component="neural")


def test_tokens_that_do_not_match_the_text_are_dropped_with_a_note():
    tokens = tokens_for("hello world")
    block = parse(render_html([("hello there world", prediction(tokens))])).find("section")
    assert block.find("p", "text").text() == "hello there world"
    assert [s.text() for s in block.find_all("span", "tok")] == ["hello"]
    assert "pass the same text that was scored" in block.find(cls="note").text()


def test_page_is_self_contained():
    page = render_html([(NEGATED, prediction(NEGATED_TOKENS)), ("x", ScoreError("c", "m"))])
    assert not re.search(r"https?:|//[a-z]|\b(src|href)=|@import|url\(", page, re.IGNORECASE)
    root = parse(page)
    assert not root.find_all("link") and not root.find_all("img") and not root.find_all("iframe")
    (script,) = root.find_all("script")
    csp = root.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp
    digest = base64.b64encode(hashlib.sha256(script.text().encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp  # the page's own script is allowed, nothing else


def test_invalid_items_raise_a_coded_error():
    with pytest.raises(InvalidInputError, match=r"pass \(text, Prediction \| ScoreError\) pairs"):
        render_html([prediction(None)])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="must be a str"):
        render_html([(b"bytes", prediction(None))])  # type: ignore[list-item]
    assert "no texts were given" in render_html([])


def test_write_html_creates_the_file(tmp_path):
    path = write_html([(NEGATED, prediction(NEGATED_TOKENS))], tmp_path / "sub" / "out.html", title="T")
    assert path == tmp_path / "sub" / "out.html"
    assert path.read_text(encoding="utf-8") == render_html([(NEGATED, prediction(NEGATED_TOKENS))], title="T")


# -- the real engine and a real browser -------------------------------------------------------------------------

ENGINE_TEXTS = ["I don't like this at all 👎", "great stuff", "   "]


@pytest.fixture(scope="module")
def engine_items():
    from affectlens.engine import Engine, EngineConfig

    results = Engine(EngineConfig()).score_batch(ENGINE_TEXTS, explain=True)
    return list(zip(ENGINE_TEXTS, results, strict=True))


def test_real_engine_output(engine_items):
    blocks = sections(render_html(engine_items))
    first, second, third = blocks
    assert first.find("p", "text").text() == ENGINE_TEXTS[0]
    spans = {s.text(): s for s in first.find_all("span", "tok")}
    assert "cue" in spans["don't"].classes and "negated" in spans["like"].classes
    assert "emoji" in spans["👎"].classes and "emoji: " in spans["👎"].attrs["data-tip"]
    assert all(s.attrs["data-attribution"] for s in spans.values())
    assert first.find(cls="chip", data_label="negative")
    for component in ("final", "neural", "lexicon", "emotions"):
        assert first.find("table", "scores", data_component=component).find_all("tr")
    assert [s.text() for s in second.find_all("span", "tok")] == ["great", "stuff"]
    assert second.find(cls="chip", data_label="positive")
    assert "error" in third.classes and third.attrs["data-code"] == "empty_text"


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if binary is None:
        pytest.skip("chromium is not installed: run `apt-get install -y chromium`")
    profile = tmp_path / "profile"
    cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def _png_pixels(path: Path) -> list[tuple[int, ...]]:
    """RGB(A) pixels of a PNG: Pillow when installed, otherwise a small zlib decoder (8-bit, non-interlaced)."""
    try:
        from PIL import Image
    except ImportError:
        return _decode_png(path.read_bytes())
    with Image.open(path) as image:
        raw = image.convert("RGB").tobytes()
    return [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]


def _decode_png(data: bytes) -> list[tuple[int, ...]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "screenshot PNG in an unexpected format"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, pixels = bytearray(stride), []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += [tuple(line[x : x + 3]) for x in range(0, stride, bpp)]
        prev = line
    return pixels


def test_png_decoder_matches_a_known_image():
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = [(0, [(255, 0, 0), (0, 255, 0)]), (2, [(1, 2, 3), (4, 5, 6)])]  # filter 0 (none) then 2 (up)
    raw = b"".join(bytes([f]) + bytes(v for px in row for v in px) for f, row in rows)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    assert _decode_png(png) == [(255, 0, 0), (0, 255, 0), (0, 2, 3), (4, 4, 6)]


@pytest.mark.slow
def test_headless_chromium_renders_the_page(engine_items, tmp_path):
    items = [*engine_items, ("<script>document.title='pwned'</script>", engine_items[1][1])]
    page = write_html(items, tmp_path / "explain.html", title="browser check")
    url = page.resolve().as_uri()

    dom = parse(_chromium(tmp_path, "--dump-dom", url).stdout)
    body = dom.find("body")
    assert "js" in body.classes  # the page's own script ran: its CSP hash is right
    assert dom.find("title").text() == "browser check"  # the injected script did not run
    blocks = dom.find_all("section")
    assert [b.attrs["id"] for b in blocks] == ["item-1", "item-2", "item-3", "item-4"]
    assert blocks[0].find("p", "text").text() == ENGINE_TEXTS[0]
    assert blocks[0].find("span", "cue").text() == "don't"
    assert [s.text() for s in blocks[0].find_all("span", "negated")][:1] == ["like"]
    assert len(dom.find_all("table", "scores", data_component="final")) == 3
    assert blocks[2].find(cls="error-box")

    shot = tmp_path / "explain.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", url)
    pixels = _png_pixels(shot)
    assert len(pixels) == 1200 * 900
    non_white = sum(1 for p in pixels if min(p[:3]) < 235)
    assert non_white > 0.05 * len(pixels)
    assert len(set(pixels)) > 200

    def near(colour: tuple[int, int, int]) -> int:
        return sum(1 for p in pixels if all(abs(a - b) <= 12 for a, b in zip(p[:3], colour, strict=True)))

    assert near((197, 27, 125)) > 500  # the negative label chip and score bars (magenta)
    assert near((1, 133, 113)) > 500  # the positive ones (teal)
