"""One self-contained HTML page showing why texts were scored as they were (output of ``explain=True``).

``render_html(items)`` is pure: it turns ``(text, Prediction | ScoreError)`` pairs into a page; ``write_html`` writes
it to a file. The page uses inline CSS and one small inline script (a colour toggle), loads nothing from anywhere
(a Content-Security-Policy forbids it) and escapes every piece of input, so it can be attached to a ticket.

Stable markup, for tests and tools:

* ``<section class="item" id="item-N">`` per text, N counting from 1; ``class="item error"`` with ``data-code``
  for a ``ScoreError``.
* ``<p class="text">``: the scored text, each token a ``<span class="tok" data-start data-end data-attribution
  data-valence>`` (extra classes ``negated`` inside a negation scope, ``cue`` for a negation cue, ``emoji``); the
  characters between tokens are kept verbatim, so the element's text content is the (NFC-normalized) text.
* ``<table class="scores" data-component="final|neural|lexicon|emotions">`` with ``<tr data-label=...>`` rows.

Colours: by default a token's background is its attribution (blue: supports the predicted label, orange: works
against it; stronger = larger, relative to the text's largest); the toggle switches to VADER valence.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from affectlens.errors import InvalidInputError
from affectlens.normalize import NormalizedText, normalize_text
from affectlens.schema import Prediction, ScoreError, TokenEvidence

DEFAULT_TITLE = "affectlens explanation"
SENTIMENT_ORDER = ("negative", "neutral", "positive")
TOP_EMOTIONS = 5
# RGB triples. Attribution: blue = supports the label, orange = against. Valence/labels: teal +, magenta -.
_SUPPORT = (33, 102, 172)
_AGAINST = (221, 107, 32)
_POSITIVE = (1, 133, 113)
_NEGATIVE = (197, 27, 125)
_ATTRIBUTION_FLOOR = 0.1  # below this largest |attribution| a text's colours are not stretched to full strength
_VALENCE_FULL = 3.0  # VADER valence at which the colour is at full strength

_CSS = """
:root{--ink:#1f2430;--muted:#5b6474;--line:#e3e6ec;--card:#f7f8fa;--scope:#6d28d9;
--pos:rgb(1,133,113);--neg:rgb(197,27,125);--neu:#8a93a3;--sup:rgb(33,102,172);--ag:rgb(221,107,32)}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif,
"Noto Color Emoji","Apple Color Emoji","Segoe UI Emoji";
color:var(--ink);background:#fff}
header{border-bottom:1px solid var(--line);padding-bottom:12px;margin-bottom:20px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:0;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
h3{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:0 0 8px}
.meta{color:var(--muted);font-size:13px;margin:0}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center;font-size:13px;color:var(--muted);margin-top:10px}
.legend .sw{display:inline-block;width:28px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:5px}
.legend .demo{color:var(--ink);padding:0 3px}
.js-only{display:none}
body.js .js-only{display:inline-flex;gap:8px;align-items:center}
body[data-colour=valence] .by-attribution,body[data-colour=attribution] .by-valence{display:none}
.item{border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:0 0 18px}
.item .head{display:flex;justify-content:space-between;gap:12px;flex-wrap:wrap;margin-bottom:10px}
.chip{display:inline-block;border-radius:999px;padding:1px 10px;font-size:13px;font-weight:600;color:#fff;
background:var(--neu)}
.chip.negative{background:var(--neg)}.chip.positive{background:var(--pos)}
.chip.emotion{background:#eef0f4;color:var(--ink);font-weight:500}
.text{font-size:18px;line-height:2.3;white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0 12px;
padding:8px 12px;background:#fcfcfd;border:1px solid var(--line);border-radius:8px}
.tok{position:relative;border-radius:4px;padding:2px 1px;cursor:help;
background:var(--a-bg,transparent);color:var(--a-fg,var(--ink))}
body[data-colour=valence] .tok{background:var(--v-bg,transparent);color:var(--v-fg,var(--ink))}
.tok.negated,.demo.negated{border-bottom:3px solid var(--scope)}
.tok.cue,.demo.cue{font-weight:700;outline:2px solid var(--scope);outline-offset:1px}
.tok:hover,.tok:focus{outline:2px solid var(--ink);outline-offset:1px;z-index:5}
.tok:hover::after,.tok:focus::after{content:attr(data-tip);position:absolute;left:0;top:calc(100% + 8px);z-index:10;
white-space:pre;background:var(--ink);color:#fff;font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;
font-weight:400;padding:6px 9px;border-radius:6px;box-shadow:0 4px 14px rgba(0,0,0,.25);pointer-events:none}
.note{font-size:13px;color:var(--muted);background:#fff8e6;border:1px solid #f3dfa8;border-radius:6px;
padding:6px 10px;margin:8px 0}
.error-box{border:1px solid #f1b5b5;background:#fdf0f0;color:#8a1c1c;border-radius:8px;padding:10px 14px}
.error-box .code{font-family:ui-monospace,Menlo,monospace;margin-right:8px}
.components{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .label{margin:0 0 6px;font-size:13px;color:var(--muted)}
.card .missing{color:var(--muted);font-size:13px;margin:0}
table.scores{width:100%;border-collapse:collapse;font-size:13px}
table.scores th{text-align:left;font-weight:500;padding:2px 8px 2px 0;white-space:nowrap;width:1%}
table.scores td.num{text-align:right;font-variant-numeric:tabular-nums;width:1%;padding-left:8px;white-space:nowrap}
table.scores tr.predicted th{font-weight:700}
td.bar{position:relative;height:14px;background:#e9ecf1;border-radius:3px;min-width:60px}
td.bar .fill{position:absolute;top:0;bottom:0;left:0;border-radius:3px;background:var(--neu)}
td.bar .fill.negative{background:var(--neg)}td.bar .fill.positive{background:var(--pos)}
td.bar .fill.emotion{background:#7b8bb0}
td.bar.diverging::before{content:"";position:absolute;left:50%;top:-2px;bottom:-2px;border-left:1px solid var(--muted)}
.small{font-size:12px;color:var(--muted);margin:6px 0 0}
"""

_JS = (
    "document.body.classList.add('js');"
    "document.querySelectorAll('input[name=colour]').forEach(function(r){"
    "r.addEventListener('change',function(){document.body.dataset.colour=r.value;});});"
)
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_JS_HASH}'; img-src 'none'"


def _e(value: object) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _colour(prefix: str, rgb: tuple[int, int, int], strength: float) -> list[str]:
    """CSS custom properties for a token background at ``strength`` in [0, 1]; white text on strong ones."""
    alpha = 0.1 + 0.75 * min(1.0, strength)
    out = [f"--{prefix}-bg:rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:.2f})"]
    return [*out, f"--{prefix}-fg:#fff"] if alpha > 0.55 else out


def _scoring_text(text: str) -> str:
    """The text as the engine saw it (NFC, control characters as spaces), without truncation."""
    normalized = normalize_text(text, max(16, 4 * len(text)))
    return normalized.text if isinstance(normalized, NormalizedText) else text


def _valid_tokens(text: str, tokens: Sequence[TokenEvidence]) -> tuple[list[TokenEvidence], int]:
    """Tokens in order whose offsets fit the text and each other; and how many were dropped."""
    kept: list[TokenEvidence] = []
    end = 0
    for tok in sorted(tokens, key=lambda t: (t.start, t.end)):
        if 0 <= tok.start < tok.end <= len(text) and tok.start >= end and text[tok.start : tok.end] == tok.text:
            kept.append(tok)
            end = tok.end
    return kept, len(tokens) - len(kept)


def _cue_positions(tokens: Sequence[TokenEvidence]) -> set[int]:
    """Indices of the negation cues: for each negated token, the nearest token spelled like its cue (before first)."""
    cues: set[int] = set()
    for i, tok in enumerate(tokens):
        if not (tok.negated and tok.negation_cue):
            continue
        cue = tok.negation_cue.casefold()
        before = [j for j in range(i - 1, -1, -1) if tokens[j].text.casefold() == cue]
        after = [j for j in range(i + 1, len(tokens)) if tokens[j].text.casefold() == cue]
        if before or after:
            cues.add(before[0] if before else after[0])
    return cues


def _tooltip(tok: TokenEvidence, label: str, is_cue: bool) -> str:
    lines = [tok.text]
    attribution = _finite(tok.attribution)
    if attribution is None:
        lines.append("attribution: not computed")
    else:
        side = "supports" if attribution > 0 else "against" if attribution < 0 else "no effect on"
        lines.append(f"attribution: {attribution:+.3f} ({side} {label})")
    lines.append(f"valence: {tok.valence:+.3f}")
    if is_cue:
        lines.append("negation cue")
    if tok.negated:
        lines.append(f"negated by: {tok.negation_cue}" if tok.negation_cue else "negated")
    if tok.emotions:
        lines.append("NRC: " + ", ".join(tok.emotions))
    if tok.emoji:
        valence = _finite(tok.emoji_valence)
        lines.append(f"emoji: {tok.emoji}" + ("" if valence is None else f" (valence {valence:+.2f})"))
    return "\n".join(lines)


def _render_tokens(text: str, tokens: Sequence[TokenEvidence], label: str) -> str:
    cues = _cue_positions(tokens)
    scale = max([_ATTRIBUTION_FLOOR] + [abs(a) for t in tokens if (a := _finite(t.attribution)) is not None])
    out: list[str] = []
    pos = 0
    for i, tok in enumerate(tokens):
        out.append(_e(text[pos : tok.start]))
        classes = ["tok"] + (["negated"] if tok.negated else []) + (["cue"] if i in cues else [])
        classes += ["emoji"] if tok.emoji else []
        attribution = _finite(tok.attribution)
        style: list[str] = []
        if attribution:
            style += _colour("a", _SUPPORT if attribution > 0 else _AGAINST, abs(attribution) / scale)
        if tok.valence:
            style += _colour("v", _POSITIVE if tok.valence > 0 else _NEGATIVE, abs(tok.valence) / _VALENCE_FULL)
        attrs = [
            f'class="{" ".join(classes)}"',
            f'data-start="{tok.start}"',
            f'data-end="{tok.end}"',
            f'data-attribution="{"" if attribution is None else f"{attribution:.6f}"}"',
            f'data-valence="{tok.valence:.6f}"',
            'tabindex="0"',
            f'data-tip="{_e(_tooltip(tok, label, i in cues))}"',
        ]
        if style:
            attrs.append(f'style="{";".join(style)}"')
        out.append(f"<span {' '.join(attrs)}>{_e(tok.text)}</span>")
        pos = tok.end
    out.append(_e(text[pos:]))
    return "".join(out)


def _bar_row(name: str, value: float, kind: str, predicted: bool = False) -> str:
    width = max(0.0, min(1.0, value)) * 100
    cls = ' class="predicted"' if predicted else ""
    return (
        f'<tr data-label="{_e(name)}"{cls}><th>{_e(name)}</th>'
        f'<td class="bar"><span class="fill {_e(kind)}" style="width:{width:.1f}%"></span></td>'
        f'<td class="num">{value:.3f}</td></tr>'
    )


def _diverging_row(name: str, value: float) -> str:
    v = max(-1.0, min(1.0, value))
    left, width = (50.0, v * 50) if v >= 0 else (50 + v * 50, -v * 50)
    kind = "positive" if v > 0 else "negative" if v < 0 else "neutral"
    return (
        f'<tr data-label="{_e(name)}"><th>{_e(name)}</th><td class="bar diverging">'
        f'<span class="fill {kind}" style="left:{left:.1f}%;width:{width:.1f}%"></span></td>'
        f'<td class="num">{value:+.3f}</td></tr>'
    )


def _score_table(component: str, scores: Mapping[str, Any], predicted: str | None) -> str:
    names = [n for n in SENTIMENT_ORDER if n in scores] + [n for n in scores if n not in SENTIMENT_ORDER]
    rows = [_bar_row(n, v, n, n == predicted) for n in names if (v := _finite(scores[n])) is not None]
    return f'<table class="scores" data-component="{_e(component)}">{"".join(rows)}</table>'


def _card(component: str, heading: str, body: str) -> str:
    return f'<div class="card" data-component="{_e(component)}"><h3>{_e(heading)}</h3>{body}</div>'


def _neural_card(neural: Any) -> str:
    if not isinstance(neural, Mapping) or not isinstance(neural.get("scores"), Mapping):
        return _card("neural", "Neural", '<p class="missing">not used (lexicon-only mode)</p>')
    label = neural.get("label")
    body = f'<p class="label">label: <b>{_e(label)}</b> · softmax, before calibration</p>'
    return _card("neural", "Neural", body + _score_table("neural", neural["scores"], label))


def _lexicon_card(lexicon: Any) -> str:
    if not isinstance(lexicon, Mapping):
        return _card("lexicon", "Lexicon", '<p class="missing">not used (neural-only mode)</p>')
    label = lexicon.get("label")
    vader = lexicon.get("vader")
    vader = vader if isinstance(vader, Mapping) else {}
    rows = [
        _bar_row(n, v, n, False)
        for k, n in zip(("neg", "neu", "pos"), SENTIMENT_ORDER, strict=True)
        if (v := _finite(vader.get(k))) is not None
    ]
    valence = _finite(lexicon.get("valence"))
    if valence is not None:
        rows.append(_diverging_row("compound", valence))
    body = f'<p class="label">label: <b>{_e(label)}</b> · VADER proportions and compound</p>'
    body += f'<table class="scores" data-component="lexicon">{"".join(rows)}</table>'
    extras: list[str] = []
    negation = lexicon.get("negation")
    if isinstance(negation, Mapping) and (cues := _finite(negation.get("cues"))):
        extras.append(f"negation cues: {cues:g}")
    emoji = lexicon.get("emoji")
    if isinstance(emoji, Mapping) and (count := _finite(emoji.get("count"))):
        extras.append(f"emoji: {count:g} (valence {_finite(emoji.get('valence')) or 0.0:+.2f})")
    nrc = lexicon.get("nrc")
    if isinstance(nrc, Mapping) and nrc:
        extras.append("NRC: " + ", ".join(str(k) for k in nrc))
    if extras:
        body += f'<p class="small">{_e(" · ".join(extras))}</p>'
    return _card("lexicon", "Lexicon", body)


def _emotion_card(prediction: Prediction) -> str:
    chips = "".join(
        f'<span class="chip emotion" data-emotion="{_e(e)}">{_e(e)}</span> ' for e in prediction.emotions_predicted
    )
    body = f'<p class="label predicted-emotions">predicted: {chips or "none"}</p>'
    top = sorted(
        ((n, f) for n, v in prediction.emotions.items() if (f := _finite(v)) is not None), key=lambda nv: -nv[1]
    )[:TOP_EMOTIONS]
    rows = [_bar_row(n, v, "emotion", n in prediction.emotions_predicted) for n, v in top]
    body += f'<table class="scores" data-component="emotions">{"".join(rows)}</table>'
    return _card("emotions", f"Emotions (top {TOP_EMOTIONS})", body)


def _render_prediction(number: int, text: str, prediction: Prediction) -> str:
    text = _scoring_text(text)
    label = prediction.label
    id_attr = "" if prediction.id is None else f' data-id="{_e(prediction.id)}"'
    ident = "" if prediction.id is None else f' <span class="meta">id {_e(prediction.id)}</span>'
    head = (
        f'<div class="head"><h2>#{number}{ident} <span class="chip {_e(label)}" data-label="{_e(label)}">'
        f'{_e(label)}</span> <span class="meta">valence {prediction.valence:+.3f}</span></h2>'
        f'<span class="meta model">{_e(prediction.model.name)} {_e(prediction.model.version)}</span></div>'
    )
    notes: list[str] = []
    if prediction.tokens is None:
        body = _e(text)
        notes.append("No per-token explanation: score with explain=True (CLI: --explain) to see it.")
    else:
        tokens, dropped = _valid_tokens(text, prediction.tokens)
        body = _render_tokens(text, tokens, label)
        if dropped:
            notes.append(
                f"{dropped} token(s) do not match this text's offsets and are not shown: "
                "pass the same text that was scored."
            )
    notes += list(prediction.warnings)
    scores = _score_table("final", prediction.scores, label)
    cards = [
        _card("final", "Final (calibrated)", f'<p class="label">label: <b>{_e(label)}</b></p>{scores}'),
        _neural_card(prediction.components.get("neural")),
        _lexicon_card(prediction.components.get("lexicon")),
        _emotion_card(prediction),
    ]
    return (
        f'<section class="item" id="item-{number}"{id_attr}>{head}<p class="text">{body}</p>'
        + "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
        + f'<div class="components">{"".join(cards)}</div></section>'
    )


def _render_error(number: int, text: object, error: ScoreError) -> str:
    id_attr = "" if error.id is None else f' data-id="{_e(error.id)}"'
    shown = text if isinstance(text, str) else repr(text)
    text_block = f'<p class="text">{_e(shown)}</p>' if shown.strip() else ""
    return (
        f'<section class="item error" id="item-{number}" data-code="{_e(error.code)}"{id_attr}>'
        f'<div class="head"><h2>#{number} <span class="chip">not scored</span></h2></div>'
        f'<div class="error-box"><span class="code">{_e(error.code)}</span>'
        f'<span class="message">{_e(error.message)}</span></div>'
        f"{text_block}</section>"
    )


_LEGEND = (
    '<div class="legend">'
    '<span class="by-attribution"><span class="sw" style="background:rgba(33,102,172,.85)"></span>supports the label'
    '</span><span class="by-attribution"><span class="sw" style="background:rgba(221,107,32,.85)"></span>'
    "against the label</span>"
    '<span class="by-valence"><span class="sw" style="background:rgba(1,133,113,.85)"></span>positive valence</span>'
    '<span class="by-valence"><span class="sw" style="background:rgba(197,27,125,.85)"></span>negative valence</span>'
    '<span><span class="demo cue">not</span> negation cue</span>'
    '<span><span class="demo negated">scope</span> negated (in scope)</span>'
    "<span>hover or focus a token for its evidence</span>"
    '<span class="js-only">colour by '
    '<label><input type="radio" name="colour" value="attribution" checked> attribution</label>'
    '<label><input type="radio" name="colour" value="valence"> valence</label></span>'
    "</div>"
)


def render_html(items: Sequence[tuple[str, Prediction | ScoreError]], title: str = DEFAULT_TITLE) -> str:
    """One self-contained HTML page for ``(text, result)`` pairs, as returned by ``Engine.score_batch``.

    ``text`` is the text that was scored (offsets index its NFC form); results scored without ``explain``
    render their scores only. Raises ``InvalidInputError`` when an item is not such a pair.
    """
    blocks: list[str] = []
    models: list[str] = []
    for number, item in enumerate(items, start=1):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Prediction | ScoreError)):
            raise InvalidInputError(
                f"item {number} is {type(item).__name__}: pass (text, Prediction | ScoreError) pairs, "
                "e.g. list(zip(texts, engine.score_batch(texts, explain=True)))"
            )
        text, result = item
        if isinstance(result, ScoreError):
            blocks.append(_render_error(number, text, result))
            continue
        if not isinstance(text, str):
            raise InvalidInputError(f"item {number}: the text of a prediction must be a str, not {type(text).__name__}")
        blocks.append(_render_prediction(number, text, result))
        model = f"{result.model.name} {result.model.version}"
        if model not in models:
            models.append(model)
    count = f"{len(blocks)} text{'s' if len(blocks) != 1 else ''}"
    meta = " · ".join([count] + ([f"model {', '.join(models)}"] if models else []))
    if not blocks:
        blocks.append('<p class="note">Nothing to show: no texts were given.</p>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f'<body data-colour="attribution"><header><h1>{_e(title)}</h1><p class="meta">{_e(meta)}</p>{_LEGEND}'
        f"</header>\n<main>\n" + "\n".join(blocks) + f"\n</main><script>{_JS}</script></body></html>\n"
    )


def write_html(
    items: Sequence[tuple[str, Prediction | ScoreError]],
    path: str | os.PathLike[str],
    title: str = DEFAULT_TITLE,
) -> Path:
    """Write ``render_html(items, title)`` to ``path`` (UTF-8; parent folders are created); return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(items, title), encoding="utf-8")
    return out
