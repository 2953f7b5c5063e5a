"""Lexicon path throughput, side by side with stock VADER, in one process.

    python bench/bench_lexicon.py [--n 3000] [--batch 256] [--rounds 3] [--data-dir ../shared/data]

Texts: real 10-30-word texts from TweetEval sentiment validation and SST-2 validation when the shared
data directory is present, else a built-in list; cycled up to --n. Each configuration is timed
--rounds times, interleaved with the others, and the best round is reported, as wall-clock and as
CPU (process) time: on a shared machine the CPU-time rate is the steadier one. A warm-up first loads
the lexicons and the spaCy model (load time printed apart).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

BUILTIN = [
    "I don't think the new update is good, the battery dies in a few hours and support never answers",
    "What a fantastic game last night, the whole team played their hearts out and the crowd loved it",
    "Not bad at all for the price, but the screen is a bit dim and the speakers are kind of weak",
    "Nobody hates this movie more than me, it was boring, too long and the ending made no sense at all",
    "The hotel was clean and the staff were friendly, breakfast was okay but nothing special honestly",
    "Can't wait for the concert tomorrow with my best friends, it is going to be amazing 🎉🎉",
    "The service was slow and the waiter was rude, we will never come back to this place again 😡",
    "I have never been happier with a purchase, this little blender works perfectly every single morning",
    "Stocks fell sharply on Monday after the company reported weaker than expected quarterly earnings",
    "Honestly the sequel is not as good as the first one, though the soundtrack is still really great 👍🏽",
]


def load_texts(data_dir: Path, n: int) -> tuple[list[str], str]:
    texts: list[str] = []
    sources = []
    tweets = data_dir / "tweeteval" / "sentiment" / "val_text.txt"
    if tweets.is_file():
        texts += [line.strip() for line in tweets.read_text(encoding="utf-8").splitlines()]
        sources.append("TweetEval sentiment val")
    sst = data_dir / "sst" / "sst2_validation.tsv"
    if sst.is_file():
        texts += [line.split("\t")[0] for line in sst.read_text(encoding="utf-8").splitlines()[1:]]
        sources.append("SST-2 validation")
    texts = [t for t in texts if 10 <= len(t.split()) <= 30]
    if not texts:
        texts, sources = BUILTIN, ["built-in list"]
    return list(itertools.islice(itertools.cycle(texts), n)), " + ".join(sources)


def best_of(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, tuple[float, float]]:
    """Best wall-clock and best CPU (process) time per configuration, rounds interleaved."""
    best = {name: (float("inf"), float("inf")) for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="number of texts (default 3000)")
    ap.add_argument("--batch", type=int, default=256, help="analyze_batch size (default 256)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per configuration (default 3)")
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    ap.add_argument("--data-dir", type=Path, default=default_data)
    args = ap.parse_args()

    import logging

    logging.getLogger("affectlens.lexicons").setLevel(logging.ERROR)  # the window-rule notice
    from affectlens.lexicons import LexiconConfig, LexiconPipeline
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts, source = load_texts(args.data_dir, args.n)
    words = sum(len(t.split()) for t in texts) / len(texts)

    sia = SentimentIntensityAnalyzer()
    full = LexiconPipeline(LexiconConfig())
    window = LexiconPipeline(LexiconConfig(use_parser=False))
    t0 = time.perf_counter()
    full.analyze_batch(texts[:64])
    window.analyze_batch(texts[:64])
    load_s = time.perf_counter() - t0
    parsed = sum(a.negation["parsed"] for a in full.analyze_batch(texts)) / len(texts)

    def run(pipe: LexiconPipeline) -> Callable[[], object]:
        return lambda: [pipe.analyze_batch(texts[i : i + args.batch]) for i in range(0, len(texts), args.batch)]

    best = best_of(
        {
            "stock VADER polarity_scores": lambda: [sia.polarity_scores(t) for t in texts],
            "affectlens lexicons, full (parser)": run(full),
            "affectlens lexicons, no parser": run(window),
        },
        args.rounds,
    )
    stock_wall, stock_cpu = (len(texts) / t for t in best["stock VADER polarity_scores"])
    print(f"texts: {len(texts)} from {source}; mean {words:.1f} words; batch {args.batch}; best of {args.rounds}")
    print(f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}; warm-up (lexicons + spaCy): {load_s:.2f} s")
    print(f"texts sent to the parser: {parsed:.1%}")
    header = ("configuration", "texts/s", "ms/text", "vs stock", "CPU texts/s", "vs stock")
    print("{:36s} {:>8s} {:>8s} {:>8s}   {:>11s} {:>8s}".format(*header))
    for name, (wall, cpu) in best.items():
        rate, crate = len(texts) / wall, len(texts) / cpu
        row = (name, rate, 1000 / rate, rate / stock_wall, crate, crate / stock_cpu)
        print("{:36s} {:8.0f} {:8.3f} {:7.2f}x   {:11.0f} {:7.2f}x".format(*row))


if __name__ == "__main__":
    main()
