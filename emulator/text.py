"""Text for the language model: segments per granularity with character offsets, and the
small lexicon that steers emotion, sentiment and toxicity scores.

Granularities: `word` (runs of letters, digits, apostrophes and inner hyphens; punctuation
excluded), `sentence` (up to and including `.`, `!`, `?` or a line end), `utterance`
(a non-empty line), `passage` (the whole text without surrounding whitespace). Offsets are
0-based code-point indices into the text as received, end exclusive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["Segment", "lexicon_boosts", "segments", "toxicity_hits", "valence"]

_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "word": re.compile(r"[\w']+(?:-[\w']+)*"),
    "sentence": re.compile(r"[^\s.!?][^.!?\n]*[.!?]*"),
    "utterance": re.compile(r"[^\n]*\S[^\n]*"),
    "passage": re.compile(r"\S(?:.*\S)?", re.DOTALL),
}

#: Words that push particular emotions up (a handful per label is enough to be visible).
_LEXICON: Final[Mapping[str, tuple[str, ...]]] = {
    "love": ("Love", "Adoration", "Joy", "Romance"),
    "adore": ("Adoration", "Love"),
    "happy": ("Joy", "Contentment", "Satisfaction"),
    "great": ("Joy", "Satisfaction", "Enthusiasm"),
    "wonderful": ("Joy", "Admiration", "Awe"),
    "amazing": ("Awe", "Admiration", "Surprise (positive)", "Enthusiasm"),
    "thanks": ("Gratitude", "Joy"),
    "thank": ("Gratitude",),
    "funny": ("Amusement",),
    "haha": ("Amusement",),
    "lol": ("Amusement",),
    "sad": ("Sadness", "Disappointment"),
    "sorry": ("Sympathy", "Guilt", "Embarrassment"),
    "angry": ("Anger", "Annoyance"),
    "annoying": ("Annoyance", "Anger"),
    "hate": ("Anger", "Disgust", "Contempt", "Disapproval"),
    "terrible": ("Disappointment", "Distress", "Disapproval"),
    "awful": ("Disgust", "Distress"),
    "disgusting": ("Disgust",),
    "afraid": ("Fear", "Anxiety"),
    "scared": ("Fear", "Horror"),
    "worried": ("Anxiety", "Distress"),
    "tired": ("Tiredness", "Boredom"),
    "boring": ("Boredom",),
    "wow": ("Surprise (positive)", "Awe"),
    "why": ("Confusion", "Doubt"),
    "maybe": ("Doubt", "Contemplation"),
    "proud": ("Pride", "Triumph"),
    "won": ("Triumph", "Pride"),
    "sure": ("Sarcasm", "Determination"),
    "refund": ("Disappointment", "Determination"),
    "cancel": ("Disappointment", "Annoyance"),
    "problem": ("Distress", "Confusion"),
}

_POSITIVE: Final = frozenset((
    "love", "adore", "happy", "great", "wonderful", "amazing", "thanks", "thank", "good",
    "nice", "excellent", "glad", "perfect", "funny", "haha", "lol", "wow", "proud", "won",
    "fine", "best",
))  # fmt: skip
_NEGATIVE: Final = frozenset((
    "sad", "sorry", "angry", "annoying", "hate", "terrible", "awful", "disgusting", "afraid",
    "scared", "worried", "tired", "boring", "bad", "worst", "problem", "cancel", "refund",
    "never", "not", "no",
))  # fmt: skip
_TOXIC: Final = frozenset((
    "idiot", "stupid", "dumb", "moron", "hate", "shut", "kill", "ugly", "loser",
))  # fmt: skip


@dataclass(frozen=True)
class Segment:
    text: str
    begin: int
    end: int

    def words(self) -> list[str]:
        return [m.group(0).lower() for m in _PATTERNS["word"].finditer(self.text)]


def segments(text: str, granularity: str) -> list[Segment]:
    """The text's segments at this granularity (`word`, `sentence`, `utterance`, `passage`)."""
    return [Segment(m.group(0), m.start(), m.end()) for m in _PATTERNS[granularity].finditer(text)]


def lexicon_boosts(words: list[str]) -> dict[str, float]:
    """Logit boosts per emotion label from lexicon hits, averaged over the words."""
    boosts: dict[str, float] = {}
    for word in words:
        for label in _LEXICON.get(word, ()):
            boosts[label] = boosts.get(label, 0.0) + 3.0
    scale = 1.0 / max(1.0, len(words) ** 0.5)
    return {label: value * scale for label, value in boosts.items()}


def valence(words: list[str]) -> float:
    """-1 (negative) … 1 (positive) from the lexicon; 0 when no word is known."""
    pos = sum(w in _POSITIVE for w in words)
    neg = sum(w in _NEGATIVE for w in words)
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


def toxicity_hits(words: list[str]) -> int:
    return sum(w in _TOXIC for w in words)
