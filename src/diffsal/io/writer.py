"""Write an .mp4 (H.264 video + AAC audio) from RGB frames and an optional audio track."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from diffsal.errors import MediaError
from diffsal.io.atomic import atomic_output
from diffsal.io.audio import AudioTrack

_AAC_FRAME_SAMPLES = 1024


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    audio: AudioTrack | None = None,
    crf: int = 20,
    preset: str = "veryfast",
) -> int:
    """Encode RGB uint8 `(H, W, 3)` frames as H.264 (yuv420p) and `audio` as AAC into `path`.

    The file appears under its final name only when complete. H.264 with 4:2:0 chroma needs even
    sizes: an odd width or height is padded by repeating the last column or row. The audio is
    placed on the video's clock (`audio.start_s`) and cut to the video's duration; gaps are silent.

    Returns:
        The number of frames written.
    """
    rate = _frame_rate(fps)
    frame_iterator = iter(frames)
    first = next(frame_iterator, None)
    if first is None:
        raise MediaError(f"{path}: no frames to write")
    first = _even_sized(first)
    height, width = first.shape[:2]
    with atomic_output(path) as temporary, av.open(str(temporary), mode="w", format="mp4") as container:
        video_stream = container.add_stream("libx264", rate=rate)
        video_stream.width, video_stream.height = width, height
        video_stream.pix_fmt = "yuv420p"
        video_stream.options = {"crf": str(crf), "preset": preset}
        audio_writer = _AudioWriter(container, audio) if audio is not None and audio.has_audio else None
        written = 0
        for frame in _chain(first, frame_iterator):
            frame = _even_sized(frame)
            if frame.shape[:2] != (height, width):
                raise MediaError(f"{path}: frame {written} is {frame.shape[1]}x{frame.shape[0]}, expected {width}x{height}")
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = written
            video_frame.time_base = 1 / rate
            container.mux(video_stream.encode(video_frame))
            written += 1
            if audio_writer is not None:
                audio_writer.write_until(float(written / rate))
        container.mux(video_stream.encode(None))
        if audio_writer is not None:
            audio_writer.finish(float(written / rate))
    return written


class _AudioWriter:
    """Encodes an `AudioTrack` as AAC in step with the video, so the streams are interleaved."""

    def __init__(self, container: av.container.OutputContainer, audio: AudioTrack) -> None:
        self._container = container
        self._audio = audio
        self._layout = "mono" if audio.num_channels == 1 else "stereo"
        self._stream = container.add_stream("aac", rate=audio.sample_rate_hz, layout=self._layout)
        self._stream.bit_rate = 128_000
        self._written = 0  # samples

    def write_until(self, time_s: float) -> None:
        rate = self._audio.sample_rate_hz
        end = int(round(time_s * rate))
        while self._written + _AAC_FRAME_SAMPLES <= end:
            self._encode(_AAC_FRAME_SAMPLES)

    def finish(self, duration_s: float) -> None:
        end = int(round(duration_s * self._audio.sample_rate_hz))
        self.write_until(duration_s)
        if end > self._written:
            self._encode(end - self._written)
        self._container.mux(self._stream.encode(None))

    def _encode(self, count: int) -> None:
        rate = self._audio.sample_rate_hz
        # window() takes a centre time; ask for exactly [written, written + count) samples.
        samples = self._audio.window((self._written + count / 2) / rate, count / rate)[:2]
        samples = np.ascontiguousarray(samples[:, :count], dtype=np.float32)
        audio_frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self._layout)
        audio_frame.sample_rate = rate
        audio_frame.pts = self._written
        audio_frame.time_base = Fraction(1, rate)
        self._container.mux(self._stream.encode(audio_frame))
        self._written += count


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _frame_rate(fps: float | Fraction) -> Fraction:
    if not fps or fps <= 0:
        raise MediaError(f"frame rate must be positive, got {fps}")
    return fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)


def _even_sized(frame: np.ndarray) -> np.ndarray:
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise MediaError(f"frames must be RGB (H, W, 3), got shape {frame.shape}")
    pad_rows, pad_cols = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_rows or pad_cols:
        frame = np.pad(frame, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")
    return frame
