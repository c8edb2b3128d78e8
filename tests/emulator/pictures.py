"""Images and short videos made at test time with PyAV (a bright "face" on a dark field)."""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

from samples import synth

Pixels = npt.NDArray[np.uint8]


def face_picture(width: int = 320, height: int = 240, shade: int = 200) -> Pixels:
    """A dark picture with a light oval where a face would be."""
    ys, xs = np.mgrid[0:height, 0:width]
    cy, cx, ry, rx = height * 0.45, width * 0.5, height * 0.3, width * 0.2
    inside = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1.0
    pixels = np.full((height, width, 3), 30, dtype=np.uint8)
    pixels[inside] = (shade, int(shade * 0.8), int(shade * 0.7))
    return pixels


def uniform_picture(width: int = 320, height: int = 240, value: int = 128) -> Pixels:
    return np.full((height, width, 3), value, dtype=np.uint8)


def encode_image(pixels: Pixels, fmt: str = "png") -> bytes:
    """One picture as a PNG (`png`) or JPEG (`mjpeg`) file."""
    out = io.BytesIO()
    codec, pix_fmt = {"png": ("png", "rgb24"), "mjpeg": ("mjpeg", "yuvj420p")}[fmt]
    with av.open(out, "w", format="image2pipe") as container:
        stream = container.add_stream(codec, rate=1)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = pixels.shape[1], pixels.shape[0]
        stream.pix_fmt = pix_fmt
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def encode_video(
    seconds: float, fps: int = 10, with_audio: bool = False, width: int = 160, height: int = 120
) -> bytes:
    """An MP4 (MPEG-4 part 2 video, AAC audio when asked) of a face moving slightly."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono") if with_audio else None
        assert audio is None or isinstance(audio, av.AudioStream)
        for index in range(round(seconds * fps)):
            pixels = np.roll(face_picture(width, height), index % 5, axis=1)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            samples = synth.tone(220.0, seconds, 16000)
            for start in range(0, samples.shape[1], 1024):
                block = np.ascontiguousarray(samples[:, start : start + 1024])
                aframe = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                aframe.rate, aframe.pts = 16000, start
                for packet in audio.encode(aframe):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return out.getvalue()
