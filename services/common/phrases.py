"""Word and phrase matching: permit text → the rule phrases it contains, never raw substrings.

Text is lower-cased and split into words (letters and digits), so ``"re-roof"`` is
``re roof`` and ``"A/C"`` is ``a c``. A phrase matches whole words only: ``spa`` is not found
in "space", nor ``pier`` in "Pierce St". Scanning left to right, the longest phrase starting at
a word wins and its words are consumed, so ``solar panel`` hides the ``panel`` inside it.

Phrase patterns are words with two additions: ``(a|b c)`` is one of the alternatives and a
trailing ``?`` makes a word or group optional, e.g. ``new (1|2|one|two)? story home``. A phrase
also matches with ``s`` or ``es`` on its last word ("pools", "fences"), unless that plural is
itself a phrase of its own.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")

_WORD = re.compile(r"[a-z0-9]+")
_PATTERN_PART = re.compile(r"\(([^()]*)\)(\?)?|([^\s()?]+)(\?)?|(\S)")
# A pattern that stands for more phrases than this is almost certainly a mistake.
MAX_EXPANSIONS = 4096
PLURAL_SUFFIXES = ("s", "es")

Phrase = tuple[str, ...]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class PhraseSyntaxError(ValueError):
    pass


def expand(pattern: str) -> list[Phrase]:
    """Every word sequence a pattern stands for: ``(new|a new) pool`` → two phrases."""
    parts: list[list[Phrase]] = []
    for match in _PATTERN_PART.finditer(pattern):
        group, group_optional, word, word_optional, stray = match.groups()
        if stray is not None:
            raise PhraseSyntaxError(f"{pattern!r}: unexpected {stray!r}")
        if group is not None:
            alternatives = [tuple(words(alt)) for alt in group.split("|")]
            optional = group_optional is not None
        else:
            alternatives = [tuple(words(word))]
            optional = word_optional is not None
        if any(not alt for alt in alternatives):
            raise PhraseSyntaxError(f"{pattern!r}: an alternative has no words")
        parts.append([*alternatives, ()] if optional else alternatives)
    if not parts:
        raise PhraseSyntaxError("empty phrase")
    count = 1
    for part in parts:
        count *= len(part)
    if count > MAX_EXPANSIONS:
        raise PhraseSyntaxError(f"{pattern!r} stands for {count} phrases (limit {MAX_EXPANSIONS})")
    phrases = [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
    if any(not phrase for phrase in phrases):
        raise PhraseSyntaxError(f"{pattern!r}: every word is optional")
    return phrases


@dataclass(frozen=True, slots=True)
class Hit(Generic[V]):
    position: int  # index of the first word (plus the caller's offset)
    phrase: str  # the words matched, e.g. "solar panels"
    value: V
    source: str = ""  # where the words came from, e.g. "description"

    def __str__(self) -> str:
        return f"{self.source}:{self.phrase}"


class PhraseTable(Generic[V]):
    """Phrases → values, with greedy longest-match lookup over a word list."""

    def __init__(self) -> None:
        self._values: dict[Phrase, V] = {}
        self._pattern_of: dict[Phrase, str] = {}
        self._longest_from: dict[str, int] = {}
        self._frozen = False

    def add(self, pattern: str, value: V) -> None:
        """Add a pattern; the same phrase with two different values is an error."""
        if self._frozen:
            raise RuntimeError("phrase table already frozen")
        for phrase in expand(pattern):
            known = self._values.get(phrase)
            if known is not None and known != value:
                raise PhraseSyntaxError(
                    f"{' '.join(phrase)!r} (from {pattern!r}) is already a phrase of"
                    f" {self._pattern_of[phrase]!r} with a different meaning"
                )
            self._values[phrase] = value
            self._pattern_of[phrase] = pattern

    def freeze(self) -> PhraseTable[V]:
        """Add the plural forms that are not phrases of their own and index first words."""
        for phrase, value in list(self._values.items()):
            for suffix in PLURAL_SUFFIXES:
                self._values.setdefault((*phrase[:-1], phrase[-1] + suffix), value)
        for phrase in self._values:
            self._longest_from[phrase[0]] = max(self._longest_from.get(phrase[0], 0), len(phrase))
        self._frozen = True
        return self

    def __len__(self) -> int:
        return len(self._values)

    def find(self, tokens: list[str], offset: int = 0, source: str = "") -> Iterator[Hit[V]]:
        """Non-overlapping hits, left to right, longest first at each word."""
        values, longest_from = self._values, self._longest_from
        count = len(tokens)
        i = 0
        while i < count:
            longest = longest_from.get(tokens[i])
            if longest is None:
                i += 1
                continue
            for length in range(min(longest, count - i), 0, -1):
                phrase = tuple(tokens[i : i + length])
                value = values.get(phrase)
                if value is not None:
                    yield Hit(offset + i, " ".join(phrase), value, source)
                    i += length
                    break
            else:
                i += 1
