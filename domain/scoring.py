"""Dictation scoring: tokenisation, word alignment and WER (API §5).

Pure domain code: standard library, ``jiwer`` and ``unidecode`` only.

* Word mode (§5.2): per cluster ``lower(unidecode(NFD(lower(k))))``; ``[a-z0-9_']`` runs are
  tokens, leading/trailing apostrophes stripped.
* Character mode (§5.3, zh/ja/th/lo/km/my and Chinese language codes): per cluster
  ``casefold(NFKC(k))`` keeping only letters, numbers and marks; each resulting cluster is a token.
* Alignment (§5.4/5.5): ``jiwer.process_words`` over the normalised tokens; the alignment list
  carries the original spellings.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate

import jiwer
from unidecode import unidecode

__all__ = [
    "AlignmentKind",
    "AlignmentOp",
    "Score",
    "Token",
    "score",
    "tokenize",
    "uses_character_mode",
]

CHARACTER_MODE_LANGUAGES: frozenset[str] = frozenset(
    {"zh", "ja", "th", "lo", "km", "my", "cmn", "yue", "wuu", "nan", "hak", "gan", "hsn"}
)

# Half-width katakana voicing marks: category Lm, yet they attach like combining marks (§5.1).
_VOICING_MARKS = frozenset("\uff9e\uff9f")
_KEPT_RUN = re.compile(r"[a-z0-9_']+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CACHE_SIZE = 1 << 14
_SPLIT_WORDS = jiwer.ReduceToListOfListOfWords()


class AlignmentKind(StrEnum):
    EQUAL = "equal"
    SUBSTITUTE = "substitute"
    DELETE = "delete"
    INSERT = "insert"


@dataclass(frozen=True, slots=True)
class AlignmentOp:
    """One step of the word-by-word diff; strings are original spellings (§5.5)."""

    op: AlignmentKind
    ref: str | None  # None for insert
    hyp: str | None  # None for delete


@dataclass(frozen=True, slots=True)
class Token:
    """A scoring unit: the normalised form compared, and its original spelling."""

    normalised: str
    original: str


@dataclass(frozen=True, slots=True)
class Score:
    wer: float  # min(E, N) / N, unrounded
    percentage: int  # round-half-up of 100 * (1 - wer), exact integer arithmetic
    words_ref: int  # N
    words_correct: int  # H
    substitutions: int
    deletions: int
    insertions: int
    alignment: tuple[AlignmentOp, ...]


def uses_character_mode(locale: str) -> bool:
    """True when the locale's primary language subtag selects character mode (§5.1)."""
    primary = locale.strip().replace("_", "-").split("-", 1)[0].casefold()
    return primary in CHARACTER_MODE_LANGUAGES


def _is_mark(ch: str) -> bool:
    """Whether `ch` attaches to the preceding code point in a cluster (§5.1)."""
    return unicodedata.category(ch)[0] == "M" or ch in _VOICING_MARKS


def _clusters(text: str) -> list[str]:
    """Split `text` into clusters (§5.1).

    Every code point that is not a mark starts a cluster; a mark starts one only at the very
    start of the text (and then takes any marks that directly follow it, like any other cluster).
    Works on the few distinct code points of the text, then lets `re` do the split.
    """
    if text.isascii():
        return list(text)
    marks = [ch for ch in set(text) if _is_mark(ch)]
    if not marks:
        return list(text)
    marks.sort()
    return re.findall("(?s).[" + "".join(map(re.escape, marks)) + "]*", text)


def _offsets(clusters: list[str], length: int) -> list[int] | None:
    """Text offset where each cluster starts (plus `length` at the end); None if all are 1 long."""
    if len(clusters) == length:
        return None
    starts = [0]
    starts.extend(accumulate(map(len, clusters)))
    return starts


# --------------------------------------------------------------------------------------------
# Word mode (§5.2)


@lru_cache(maxsize=_CACHE_SIZE)
def _word_out(cluster: str) -> str:
    if cluster.isascii():
        return cluster.lower()
    decomposed = unicodedata.normalize("NFD", cluster.lower())
    if _SURROGATE.search(decomposed):  # Unidecode drops these too, but warns
        decomposed = _SURROGATE.sub("", decomposed)
    return unidecode(decomposed).lower()


def _word_tokens(text: str) -> tuple[list[str], list[str]]:
    """Normalised tokens and their original spellings, in word mode."""
    if text.isascii():  # clusters are characters and lower() maps them one to one
        clusters: list[str] = []
        normalised = text.lower()
        out_ends: list[int] | None = None
    else:
        clusters = _clusters(text)
        table = {k: _word_out(k) for k in set(clusters)}
        outs = list(map(table.__getitem__, clusters))
        normalised = "".join(outs)
        if all(len(v) == 1 for v in table.values()):
            out_ends = None  # normalised character i comes from cluster i
        else:
            out_ends = list(accumulate(map(len, outs)))
    starts = _offsets(clusters, len(text)) if clusters else None

    words: list[str] = []
    originals: list[str] = []
    for match in _KEPT_RUN.finditer(normalised):
        word = match.group()
        first = match.start()
        last = match.end() - 1
        if word[0] == "'" or word[-1] == "'":
            stripped = word.strip("'")
            if not stripped:
                continue
            first += len(word) - len(word.lstrip("'"))
            last = first + len(stripped) - 1
            word = stripped
        if out_ends is not None:  # normalised offset -> index of the cluster that produced it
            first = bisect_right(out_ends, first)
            last = bisect_right(out_ends, last)
        words.append(word)
        if starts is None:
            originals.append(text[first : last + 1])
        else:
            originals.append(text[starts[first] : starts[last + 1]])
    return words, originals


# --------------------------------------------------------------------------------------------
# Character mode (§5.3)


@lru_cache(maxsize=_CACHE_SIZE)
def _char_out(cluster: str) -> tuple[str, ...]:
    folded = unicodedata.normalize("NFKC", cluster).casefold()
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")
    return tuple(_clusters(kept))


def _char_tokens(text: str) -> tuple[list[str], list[str]]:
    """Normalised tokens and their original spellings (the source clusters), in character mode."""
    clusters = _clusters(text)
    table = {k: _char_out(k) for k in set(clusters)}
    if all(len(v) == 1 for v in table.values()):
        single = {k: v[0] for k, v in table.items()}
        return list(map(single.__getitem__, clusters)), clusters
    outs = list(map(table.__getitem__, clusters))
    words = [piece for pieces in outs for piece in pieces]
    originals = [k for k, pieces in zip(clusters, outs, strict=True) for _ in pieces]
    return words, originals


def _tokens(text: str, locale: str) -> tuple[list[str], list[str]]:
    if uses_character_mode(locale):
        return _char_tokens(text)
    return _word_tokens(text)


def tokenize(text: str, locale: str) -> list[Token]:
    """The scoring tokens of `text` for `locale` (§5.1–5.3). Tokens never contain whitespace."""
    words, originals = _tokens(text, locale)
    return [Token(w, o) for w, o in zip(words, originals, strict=True)]


# --------------------------------------------------------------------------------------------
# Alignment and scores (§5.4, §5.5)


def _percentage(n: int, errors: int) -> int:
    return (200 * (n - min(errors, n)) + n) // (2 * n)


class _OpFactory:
    """Builds AlignmentOps, sharing equal (immutable) instances: long character-mode alignments
    repeat the same few ops, and constructing a frozen dataclass costs far more than a lookup."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[AlignmentKind, str | None, str | None], AlignmentOp] = {}

    def __call__(self, kind: AlignmentKind, ref: str | None, hyp: str | None) -> AlignmentOp:
        key = (kind, ref, hyp)
        op = self._cache.get(key)
        if op is None:
            op = self._cache[key] = AlignmentOp(kind, ref, hyp)
        return op


def score(reference: str, attempt: str, locale: str) -> Score:
    """Score `attempt` against `reference` (the item text) in `locale`'s tokenisation mode."""
    ref_words, ref_originals = _tokens(reference, locale)
    hyp_words, hyp_originals = _tokens(attempt, locale)
    n = len(ref_words)
    make = _OpFactory()

    if n == 0:
        insertions = len(hyp_words)
        return Score(
            wer=0.0 if insertions == 0 else 1.0,
            percentage=100 if insertions == 0 else 0,
            words_ref=0,
            words_correct=0,
            substitutions=0,
            deletions=0,
            insertions=insertions,
            alignment=tuple(make(AlignmentKind.INSERT, None, h) for h in hyp_originals),
        )
    if not hyp_words:
        return Score(
            wer=1.0,
            percentage=0,
            words_ref=n,
            words_correct=0,
            substitutions=0,
            deletions=n,
            insertions=0,
            alignment=tuple(make(AlignmentKind.DELETE, r, None) for r in ref_originals),
        )

    # Tokens are non-empty and contain no whitespace, so splitting on " " gives back exactly
    # these lists; jiwer's default transforms would also collapse and strip spaces there are
    # none of, at half the cost of the alignment itself.
    output = jiwer.process_words(
        " ".join(ref_words),
        " ".join(hyp_words),
        reference_transform=_SPLIT_WORDS,
        hypothesis_transform=_SPLIT_WORDS,
    )
    alignment: list[AlignmentOp] = []
    for chunk in output.alignments[0]:
        refs = ref_originals[chunk.ref_start_idx : chunk.ref_end_idx]
        hyps = hyp_originals[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type in ("equal", "substitute", "replace"):  # jiwer renames "replace"
            kind = AlignmentKind.EQUAL if chunk.type == "equal" else AlignmentKind.SUBSTITUTE
            alignment.extend(make(kind, r, h) for r, h in zip(refs, hyps, strict=True))
        elif chunk.type == "delete":
            alignment.extend(make(AlignmentKind.DELETE, r, None) for r in refs)
        elif chunk.type == "insert":
            alignment.extend(make(AlignmentKind.INSERT, None, h) for h in hyps)
        else:  # pragma: no cover - jiwer emits only the four kinds above
            raise ValueError(f"unexpected alignment chunk type {chunk.type!r}")

    errors = output.substitutions + output.deletions + output.insertions
    return Score(
        wer=min(errors, n) / n,
        percentage=_percentage(n, errors),
        words_ref=n,
        words_correct=output.hits,
        substitutions=output.substitutions,
        deletions=output.deletions,
        insertions=output.insertions,
        alignment=tuple(alignment),
    )
