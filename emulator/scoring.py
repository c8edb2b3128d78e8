"""Deterministic scores from features: a fixed, hash-derived linear map through a sigmoid.

Each label gets a weight per feature and a bias taken from SHA-256 of the label and feature
names, so scores depend only on the content's features (never on process, platform or
library version), and different labels react differently to the same input.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

__all__ = ["hashed_unit", "label_scores", "sigmoid"]

#: Digits kept in emitted scores: enough to compare, small on the wire.
SCORE_DIGITS = 6


def hashed_unit(*parts: object) -> float:
    """A stable pseudo-random number in [-1, 1] for these parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def label_scores(
    labels: Sequence[str],
    features: Mapping[str, float],
    *,
    namespace: str,
    bias: float = -1.6,
    boosts: Mapping[str, float] | None = None,
) -> list[dict[str, object]]:
    """`[{"name", "score"}]` in label order; `boosts` adds to a label's logit (e.g. lexicon hits).

    Features should be roughly centred and scaled to [-2, 2] so no single one saturates.
    """
    out: list[dict[str, object]] = []
    for label in labels:
        logit = bias + 0.5 * hashed_unit(namespace, label, "bias")
        for name, value in features.items():
            logit += 0.9 * hashed_unit(namespace, label, name) * value
        if boosts:
            logit += boosts.get(label, 0.0)
        out.append({"name": label, "score": round(sigmoid(logit), SCORE_DIGITS)})
    return out
