"""Faces for the face and facemesh models, from pixels and landmarks. Pure array code.

Face "detection" is a contrast rule, not a detector: a picture whose grey levels barely
vary (standard deviation below 6) has no face; otherwise the face is the box around the
pixels that stand out from the median grey level (5th-95th percentile of their
coordinates), and its probability grows with the contrast from 0.99 towards 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.media import Still

__all__ = ["Face", "find_face", "mesh_features", "picture_features"]

_MIN_STD = 6.0
_MIN_SALIENT_FRACTION = 0.002
# MediaPipe Face Mesh landmark indices used for the geometry features.
_UPPER_LIP, _LOWER_LIP, _MOUTH_LEFT, _MOUTH_RIGHT = 13, 14, 61, 291
_LEFT_EYE_TOP, _LEFT_EYE_BOTTOM, _LEFT_BROW = 159, 145, 105
_FACE_LEFT, _FACE_RIGHT, _FOREHEAD, _CHIN = 234, 454, 10, 152


@dataclass(frozen=True)
class Face:
    """A face box in source pixels, its probability and its analysed pixels."""

    x: float
    y: float
    w: float
    h: float
    prob: float
    pixels: npt.NDArray[np.uint8]

    def signature(self) -> str:
        """A coarse fingerprint: the same picture again gives the same one (face identity)."""
        grey = self.pixels.mean(axis=2)
        rows = np.array_split(grey, 4, axis=0)
        cells = [c.mean() for r in rows for c in np.array_split(r, 4, axis=1) if c.size]
        return "".join(f"{int(v) // 32:x}" for v in cells)


def find_face(still: Still) -> Face | None:
    """The one face of a picture, or None (see the module docstring)."""
    grey = still.pixels.astype(np.float64).mean(axis=2)
    spread = float(grey.std())
    if spread < _MIN_STD:
        return None
    salient = np.abs(grey - np.median(grey)) > max(16.0, 0.5 * spread)
    ys, xs = np.nonzero(salient)
    if ys.size < max(4, _MIN_SALIENT_FRACTION * grey.size):
        return None
    y0, y1 = np.percentile(ys, [5, 95])
    x0, x1 = np.percentile(xs, [5, 95])
    top, bottom, left, right = int(y0), int(y1) + 1, int(x0), int(x1) + 1
    s = still.scale
    return Face(
        x=float(left * s),
        y=float(top * s),
        w=float((right - left) * s),
        h=float((bottom - top) * s),
        prob=round(0.99 + 0.0099 * float(np.tanh(spread / 50.0)), 6),
        pixels=still.pixels[top:bottom, left:right],
    )


def picture_features(face: Face) -> dict[str, float]:
    """Scaled colour and texture features of a face box (for `scoring.label_scores`)."""
    px = face.pixels.astype(np.float64) / 255.0
    grey = px.mean(axis=2)
    edges = np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean()
    return {
        "brightness": float((grey.mean() - 0.5) * 4.0),
        "contrast": float((grey.std() - 0.2) * 8.0),
        "warmth": float((px[..., 0].mean() - px[..., 2].mean()) * 4.0),
        "green": float((px[..., 1].mean() - grey.mean()) * 6.0),
        "edges": float(np.clip((edges - 0.05) * 20.0, -2.0, 2.0)),
        "aspect": float(np.clip(np.log(face.w / max(face.h, 1.0)), -2.0, 2.0)),
    }


def mesh_features(face: npt.NDArray[np.float64]) -> dict[str, float]:
    """Scaled geometry features of one face's (478, 3) landmarks."""

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(face[a, :2] - face[b, :2]))

    height = max(dist(_FOREHEAD, _CHIN), 1e-9)
    width = max(dist(_FACE_LEFT, _FACE_RIGHT), 1e-9)
    return {
        "mouth_open": float(np.clip(dist(_UPPER_LIP, _LOWER_LIP) / height * 20.0 - 1.0, -2, 2)),
        "mouth_wide": float(np.clip(dist(_MOUTH_LEFT, _MOUTH_RIGHT) / width * 5.0 - 2.0, -2, 2)),
        "eye_open": float(
            np.clip(dist(_LEFT_EYE_TOP, _LEFT_EYE_BOTTOM) / height * 40.0 - 1.0, -2, 2)
        ),
        "brow": float(np.clip(dist(_LEFT_BROW, _LEFT_EYE_TOP) / height * 20.0 - 1.0, -2, 2)),
        "depth": float(np.clip(face[:, 2].std() * 10.0 - 1.0, -2, 2)),
        "aspect": float(np.clip(np.log(width / height), -2, 2)),
    }
