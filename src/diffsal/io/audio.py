"""Audio tracks: decode and resample with PyAV, cut windows in seconds.

Every time in this module is in seconds on the video's clock: t = 0 is the presentation time of
the video's first frame, so frame k of a constant-rate video is at k / fps. Windows are cut in
seconds and resampled before cutting, so alignment never depends on the file's sample rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from diffsal.errors import MediaError
from diffsal.io._open import open_container

MODEL_SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True)
class AudioTrack:
    """Decoded audio.

    Attributes:
        samples: float32 `(channels, num_samples)`, nominally in [-1, 1].
        sample_rate_hz: samples per second.
        start_s: time of sample 0 on the video's clock (0 for a wav next to a frame folder).
        has_audio: False when the file had no audio stream; `samples` is then empty and every
            window is silence.
    """

    samples: np.ndarray
    sample_rate_hz: int
    start_s: float = 0.0
    has_audio: bool = True

    @property
    def num_channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz

    def window(self, center_s: float, duration_s: float) -> np.ndarray:
        """Samples from `center_s - duration_s/2` for `duration_s`, `(channels, round(duration_s * rate))`.

        Parts of the window outside the track are zeros.
        """
        if duration_s <= 0:
            raise ValueError(f"audio window duration must be positive, got {duration_s}")
        length = int(round(duration_s * self.sample_rate_hz))
        first = int(round((center_s - duration_s / 2 - self.start_s) * self.sample_rate_hz))
        out = np.zeros((self.num_channels, length), dtype=np.float32)
        source_from, source_to = max(first, 0), min(first + length, self.samples.shape[1])
        if source_to > source_from:
            out[:, source_from - first : source_to - first] = self.samples[:, source_from:source_to]
        return out

    @classmethod
    def silence(cls, sample_rate_hz: int = MODEL_SAMPLE_RATE_HZ, num_channels: int = 1) -> AudioTrack:
        return cls(np.zeros((num_channels, 0), np.float32), sample_rate_hz, 0.0, has_audio=False)


def read_audio(
    path: str | Path,
    sample_rate_hz: int | None = MODEL_SAMPLE_RATE_HZ,
    mono: bool = True,
) -> AudioTrack:
    """Decode the first audio stream of `path` (a video or an audio file).

    Args:
        sample_rate_hz: resample to this rate (PyAV's resampler); None keeps the native rate.
        mono: down-mix to one channel; otherwise keep the native channel layout.

    Returns:
        The track. A file without an audio stream gives `AudioTrack.silence()` (``has_audio=False``).
    """
    container = open_container(path)
    try:
        if not container.streams.audio:
            return AudioTrack.silence(sample_rate_hz or MODEL_SAMPLE_RATE_HZ)
        stream = container.streams.audio[0]
        rate = sample_rate_hz or stream.codec_context.sample_rate
        layout = "mono" if mono else stream.codec_context.layout.name
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks: list[np.ndarray] = []
        first_time_s: float | None = None
        try:
            for audio_frame in container.decode(stream):
                if first_time_s is None and audio_frame.pts is not None:
                    first_time_s = float(audio_frame.pts * audio_frame.time_base)
                chunks.extend(resampled.to_ndarray() for resampled in resampler.resample(audio_frame))
        except av.FFmpegError as error:
            if not chunks:
                raise MediaError(f"{path}: cannot decode audio ({error})") from error
        chunks.extend(resampled.to_ndarray() for resampled in resampler.resample(None))
        channels = 1 if mono else stream.codec_context.layout.nb_channels
        samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
        start_s = (first_time_s or 0.0) - _video_start_s(container)
        return AudioTrack(np.ascontiguousarray(samples, dtype=np.float32), rate, start_s, has_audio=True)
    finally:
        container.close()


def _video_start_s(container: av.container.InputContainer) -> float:
    """Start time of the first video stream on the container clock (0 without a video stream)."""
    if not container.streams.video:
        return 0.0
    stream = container.streams.video[0]
    if stream.start_time is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
