"""Word and phrase matching: whole words, longest phrase first, patterns expand."""

import pytest

from services.common.phrases import PhraseSyntaxError, PhraseTable, expand, words


def table(*entries: tuple[str, str]) -> PhraseTable[str]:
    phrases: PhraseTable[str] = PhraseTable()
    for pattern, value in entries:
        phrases.add(pattern, value)
    return phrases.freeze()


def found(phrases: PhraseTable[str], text: str) -> list[tuple[str, str]]:
    return [(hit.phrase, hit.value) for hit in phrases.find(words(text))]


def test_words_split_on_punctuation_and_fold_case() -> None:
    assert words("Re-roof; A/C change-out (2-story)") == [
        "re",
        "roof",
        "a",
        "c",
        "change",
        "out",
        "2",
        "story",
    ]


def test_alternatives_and_optional_words_expand_to_every_phrase() -> None:
    assert sorted(expand("new (1|2)? story home")) == [
        ("new", "1", "story", "home"),
        ("new", "2", "story", "home"),
        ("new", "story", "home"),
    ]


@pytest.mark.parametrize("bad", ["", "(a|)", "new (home", "(a)? (b)?"])
def test_malformed_patterns_are_rejected(bad: str) -> None:
    with pytest.raises(PhraseSyntaxError):
        expand(bad)


def test_whole_words_only_never_substrings() -> None:
    phrases = table(("spa", "pool"), ("pier", "foundation"), ("meter", "electrical"))
    assert found(phrases, "open living space at 5907 Shanghai Pierce Rd, perimeter headers") == []


def test_longest_phrase_wins_and_consumes_its_words() -> None:
    phrases = table(("panel", "electrical"), ("solar panel", "solar"))
    assert found(phrases, "Adding solar panels to residence only") == [("solar panels", "solar")]
    assert found(phrases, "replace main panel") == [("panel", "electrical")]


def test_plurals_match_unless_they_are_phrases_of_their_own() -> None:
    phrases = table(("fence", "fence"), ("sign", "signage"), ("signs", "other"))
    assert found(phrases, "two fences and signs") == [("fences", "fence"), ("signs", "other")]


def test_one_phrase_with_two_meanings_is_an_error() -> None:
    phrases: PhraseTable[str] = PhraseTable()
    phrases.add("pool house", "outdoor_living")
    with pytest.raises(PhraseSyntaxError, match="pool house"):
        phrases.add("(pool|spa) house", "pool")
