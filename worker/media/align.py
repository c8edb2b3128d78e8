"""Move payload-relative prediction times onto the file's time axis and merge them.

The service reports `time: {begin, end}` (burst, prosody) or `time: <s>` (face) in seconds
from the start of the payload. A chunk that starts at `offset_s` in the file therefore
shifts every time by `offset_s`; predictions are then merged per channel and model in
time order. Output is plain JSON-ready dicts, as stored in a job's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

from hume_stream.models.messages import ErrorMessage, parse_response

__all__ = ["PredictionTimeline", "shift_predictions"]

# Keys of a predictions message that are not a model's part.
_NOT_MODELS: Final = frozenset({"payload_id", "job_details"})
# Times are rounded to a microsecond so that 12.3 + 0.1 does not store 12.400000000000002.
_DIGITS: Final = 6

Response = BaseModel | Mapping[str, Any]
"""A typed response (`hume_stream.models.messages`) or the plain JSON object."""


def shift_predictions(response: Response, offset_s: float) -> dict[str, list[dict[str, Any]]]:
    """Model name → its predictions with times moved by `offset_s` seconds.

    Raises ValueError for an error response: errors are the caller's to handle, not data.
    """
    message = _as_dict(response)
    out: dict[str, list[dict[str, Any]]] = {}
    for model, part in message.items():
        if model in _NOT_MODELS or not isinstance(part, Mapping):
            continue
        predictions = part.get("predictions")
        if isinstance(predictions, list):
            out[model] = [_shifted(p, offset_s) for p in predictions if isinstance(p, Mapping)]
    return out


class PredictionTimeline:
    """Collects the responses of one file's chunks; `merged()` gives the file's timeline."""

    def __init__(self) -> None:
        self._predictions: dict[str, dict[str, list[dict[str, Any]]]] = {}
        #: what models said they found nothing in, with the chunk's channel and span
        self.warnings: list[dict[str, Any]] = []

    def add(
        self, channel: str, offset_s: float, response: Response, duration_s: float | None = None
    ) -> None:
        """Add the response to the chunk of `channel` that starts `offset_s` s into the file.

        `duration_s` (the chunk's length) is only used to place warnings on the time axis.
        """
        message = _as_dict(response)
        end = round(offset_s + duration_s, _DIGITS) if duration_s is not None else None
        span = {"channel": channel, "begin": round(offset_s, _DIGITS), "end": end}
        if "warning" in message:
            self.warnings.append({**span, "model": None, **_warning(message)})
        for model, part in message.items():
            if isinstance(part, Mapping) and "warning" in part and model not in _NOT_MODELS:
                self.warnings.append({**span, "model": model, **_warning(part)})
        per_model = self._predictions.setdefault(channel, {})
        for model, predictions in shift_predictions(message, offset_s).items():
            per_model.setdefault(model, []).extend(predictions)

    def merged(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Channel → model → predictions on the file's time axis, in time order."""
        return {
            channel: {
                model: sorted(predictions, key=_begin)
                for model, predictions in sorted(per_model.items())
            }
            for channel, per_model in self._predictions.items()
        }


def _as_dict(response: Response) -> dict[str, Any]:
    typed = response if isinstance(response, BaseModel) else parse_response(dict(response))
    if isinstance(typed, ErrorMessage):
        raise ValueError(f"an error response has no predictions: {typed.code} {typed.error}")
    return typed.model_dump(mode="json", exclude_none=True)


def _shifted(prediction: Mapping[str, Any], offset_s: float) -> dict[str, Any]:
    out = dict(prediction)
    time = prediction.get("time")
    if isinstance(time, Mapping):
        out["time"] = {
            **time,
            **{
                k: round(float(time[k]) + offset_s, _DIGITS)
                for k in ("begin", "end")
                if isinstance(time.get(k), int | float)
            },
        }
    elif isinstance(time, int | float):
        out["time"] = round(float(time) + offset_s, _DIGITS)
    return out


def _begin(prediction: Mapping[str, Any]) -> float:
    time = prediction.get("time")
    if isinstance(time, Mapping):
        return float(time.get("begin", 0.0))
    return float(time) if isinstance(time, int | float) else 0.0


def _warning(part: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": part.get("code"), "warning": part.get("warning")}
