"""Domain rules tested directly: locales, difficulty, tags, search folding, filters, audio keys."""

from __future__ import annotations

import pytest

from domain.audio import audio_key, tts_text
from domain.errors import BadRequestError, InvalidInputError
from domain.items import fold, infer_difficulty, normalise_tags, validate_text
from domain.listing import ItemSort, parse_difficulty_filter
from domain.locales import canonical_locale
from domain.tags import normalise_tag_name


@pytest.mark.parametrize(
    ("text", "difficulty"),
    [  # API.md §4, every row of its table
        ("Hyvää huomenta!", 1),
        ("I like to drink green tea every single morning", 1),
        ("Minä asun Helsingissä ja opiskelen suomea yliopistossa joka päivä.", 2),
        (
            "The committee postponed the controversial infrastructure referendum until further "
            "notice was given.",
            3,
        ),
        (
            "Kansainvälisen yhteistyön merkitys korostuu erityisesti silloin, kun taloudellinen "
            "epävarmuus lisääntyy ja poliittiset jännitteet kasvavat.",
            4,
        ),
        (
            "Notwithstanding considerable methodological disagreements, interdisciplinary "
            "researchers collaboratively established comprehensive internationally recognised "
            "classification standards for environmental sustainability reporting.",
            5,
        ),
        ("Epäjärjestelmällisyydellänsäkäänköhän", 1),
        (" ".join(["w"] * 80), 2),
        ("我喜欢学习中文，因为中文很有意思，而且我想去中国旅游。", 1),
        ("a\tb\nc", 1),  # tabs and newlines count as characters, and split words
    ],
)
def test_difficulty_inference(text: str, difficulty: int) -> None:
    assert infer_difficulty(text) == difficulty


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("FI-fi", "fi-FI"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("en-GB-X-RP", "en-GB-x-rp"),
        (" sv ", "sv"),
        ("es-419", "es-419"),
        ("de-DE-1996", "de-DE-1996"),
        ("cmn", "cmn"),
    ],
)
def test_locales_are_canonicalised(raw: str, canonical: str) -> None:
    assert canonical_locale(raw) == canonical


@pytest.mark.parametrize("raw", ["fi_FI", "english", "x-klingon", "", "fi-", "ä", "en-" + "a" * 33])
def test_malformed_locales_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        canonical_locale(raw)
    assert error.value.problems[0].message == "Invalid locale tag"


def test_tags_follow_the_rules_in_order() -> None:
    raw = [" Grammar ", "verbs", "GRAMMAR", "äiti", "ÄITI"]
    assert normalise_tags(raw) == ["Grammar", "verbs", "äiti"]
    with pytest.raises(InvalidInputError, match="Validation failed") as error:
        normalise_tags(["ok", "\u2003"])  # Unicode whitespace trims to empty
    assert error.value.problems[0].message == "Tags cannot be empty"
    # Duplicates are dropped before the count: 25 spellings of 20 tags are fine.
    assert len(normalise_tags([f"t{n % 20}" for n in range(25)])) == 20


def test_blank_text_and_prefixed_problems() -> None:
    with pytest.raises(InvalidInputError) as error:
        validate_text(" \n\t")
    prefixed = error.value.prefixed("items[3].")
    assert [(p.key, p.message) for p in prefixed.problems] == [
        ("items[3].text", "Text cannot be blank")
    ]


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Hyvää  Huomenta!", "hyvaa huomenta!"), ("Straße", "strasse"), ("søster", "søster")],
)
def test_search_folding(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(("raw", "bounds"), [("3", (3, 3)), (" 1 .. 3 ", (1, 3)), ("5..5", (5, 5))])
def test_difficulty_filter(raw: str, bounds: tuple[int, int]) -> None:
    assert parse_difficulty_filter(raw) == bounds


@pytest.mark.parametrize("raw", ["..5", "1..x", "1..2..3", "3..1", "0", "6", "", "١"])
def test_bad_difficulty_filters(raw: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_difficulty_filter(raw)


def test_sort_parsing() -> None:
    assert ItemSort.parse("difficulty.desc") is ItemSort.DIFFICULTY_DESC
    with pytest.raises(BadRequestError, match="Invalid sort parameter"):
        ItemSort.parse("name")


def test_tag_names_are_trimmed_and_bounded() -> None:
    assert normalise_tag_name("  Verbs ") == "Verbs"
    for bad in (" ", "x" * 51):
        with pytest.raises(InvalidInputError):
            normalise_tag_name(bad)


def test_audio_key_matches_the_spec_example() -> None:
    assert tts_text("  Hyvää \n huomenta! ") == "Hyvää huomenta!"
    assert audio_key("fake", "fake-a", "fi", "Hyvää huomenta!") == (
        "31501aaf9dd2de0289f222dccc45e51e712df520c8f9ebb876c44163f9e49546"
    )
