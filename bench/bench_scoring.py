"""Micro-benchmark for domain.scoring.score (API §5): not a test.

Scores a ~10,000-character Finnish-like text against a perturbed attempt (deleted, substituted,
inserted and de-accented words) and prints the median wall time per call.

    .venv/bin/python bench/bench_scoring.py [--runs 50] [--chars 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from unidecode import unidecode

try:
    from domain.scoring import score, tokenize
except ModuleNotFoundError:  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from domain.scoring import score, tokenize

WORDS = [
    "minä", "sinä", "hän", "asun", "Helsingissä", "ja", "opiskelen", "suomea", "hyvää",
    "huomenta", "päivää", "kiitos", "paljon", "mitä", "kuuluu", "tänään", "sää", "on",
    "kaunis", "järvi", "metsä", "kesä", "talvi", "lumi", "äiti", "isä", "ystävä", "kirja",
    "kävelen", "työpaikalle", "yöllä", "näkemiin", "ehkä", "myöhemmin", "kahvia", "leipää",
]  # fmt: skip


def make_text(rng: random.Random, chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        if rng.random() < 0.1:
            word = word.capitalize()
        if rng.random() < 0.08:
            word += rng.choice([",", ".", "!", "?"])
        parts.append(word)
        size += len(word) + 1
    return " ".join(parts)[:chars].rstrip()


def perturb(rng: random.Random, text: str) -> str:
    out: list[str] = []
    for word in text.split(" "):
        roll = rng.random()
        if roll < 0.05:
            continue
        if roll < 0.10:
            out.append(rng.choice(WORDS))
        elif roll < 0.13:
            out.extend([word, rng.choice(WORDS)])
        elif roll < 0.30:
            out.append(unidecode(word).lower())
        else:
            out.append(word)
    return " ".join(out)


def bench(reference: str, attempt: str, locale: str, runs: int) -> list[float]:
    score(reference, attempt, locale)  # warm-up (caches, imports)
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        score(reference, attempt, locale)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--chars", type=int, default=10_000)
    args = parser.parse_args()

    rng = random.Random(2024)
    reference = make_text(rng, args.chars)
    attempt = perturb(rng, reference)
    result = score(reference, attempt, "fi")
    print(
        f"word mode (fi): {len(reference)} chars, N={result.words_ref}, "
        f"hyp={len(tokenize(attempt, 'fi'))}, wer={result.wer:.4f}, {result.percentage}%"
    )
    times = bench(reference, attempt, "fi", args.runs)
    print(
        f"  median {statistics.median(times):.2f} ms  "
        f"(min {min(times):.2f}, max {max(times):.2f}, runs {args.runs})"
    )

    chars = "我喜欢学习中文今日はいい天気ですきょう，。！"
    reference = "".join(rng.choice(chars) for _ in range(args.chars))
    attempt = reference[: args.chars // 3] + reference[args.chars // 3 + 200 :] + "我喜欢"
    result = score(reference, attempt, "zh")
    print(
        f"character mode (zh): {len(reference)} chars, N={result.words_ref}, wer={result.wer:.4f}"
    )
    times = bench(reference, attempt, "zh", args.runs)
    print(
        f"  median {statistics.median(times):.2f} ms  "
        f"(min {min(times):.2f}, max {max(times):.2f}, runs {args.runs})"
    )


if __name__ == "__main__":
    main()
