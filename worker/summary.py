"""Per-channel summary of a model's predictions: mean and peak per emotion, top five."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.jobs import EmotionStat, ModelSummary

TOP_N = 5


def summarise(
    predictions: Sequence[dict[str, Any]], scores: str = "emotions", value_key: str = "score"
) -> ModelSummary:
    """Mean and peak score per emotion over the predictions (matched by name, never by
    position), and the names of the TOP_N highest means.

    `scores` and `value_key` name the list and the number in it: v0 predictions carry
    `emotions: [{name, score}]`, v1 ones `expressions: [{name, probability}]`, where a name
    left out was judged absent and so counts as 0 in the mean.
    """
    totals: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for prediction in predictions:
        for score in prediction.get(scores, ()):
            name, value = score["name"], float(score[value_key])
            totals[name] = totals.get(name, 0.0) + value
            peaks[name] = max(peaks.get(name, value), value)
    n = len(predictions)
    stats = [EmotionStat(name=k, mean=totals[k] / n, peak=peaks[k]) for k in totals]
    top = sorted(stats, key=lambda s: s.mean, reverse=True)[:TOP_N]
    return ModelSummary(segments=n, emotions=stats, top=[s.name for s in top])
