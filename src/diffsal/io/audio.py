"""Audio tracks: decode and resample with PyAV, cut windows in seconds.

Every time in this module is in seconds on the video's clock: t = 0 is the presentation time of
the video's first frame, so frame k of a constant-rate video is at k / fps. Windows are cut in
seconds and resampled before cutting, so alignment never depends on the file's sample rate.

The model hears mono: the mean of all channels (LFE included), as the VGGish reference does. The
mean keeps a loud stereo file within [-1, 1], where FFmpeg's mono down-mix, (L + R) / sqrt(2),
is 3 dB louder and can exceed 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from diffsal.errors import MediaError
from diffsal.io._open import open_container, video_streams

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
        layout: FFmpeg's name of the channel layout ("mono", "stereo", "5.1", "6 channels" when
            the file does not say which channel is which); None: mono or stereo by channel count.
    """

    samples: np.ndarray
    sample_rate_hz: int
    start_s: float = 0.0
    has_audio: bool = True
    layout: str | None = None

    @property
    def num_channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz

    @property
    def layout_name(self) -> str:
        if self.layout is not None:
            return self.layout
        return {1: "mono", 2: "stereo"}.get(self.num_channels, f"{self.num_channels} channels")

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
        mono: average the channels into one (each channel weighs the same); otherwise keep the
            native channel layout.

    Returns:
        The track. A file without an audio stream gives `AudioTrack.silence()` (``has_audio=False``).
    """
    container = open_container(path)
    try:
        if not container.streams.audio:
            return AudioTrack.silence(sample_rate_hz or MODEL_SAMPLE_RATE_HZ)
        stream = container.streams.audio[0]
        rate = sample_rate_hz or stream.codec_context.sample_rate
        layout = stream.codec_context.layout
        resampler: av.AudioResampler | None = None
        chunks: list[np.ndarray] = []
        first_time_s: float | None = None
        try:
            for audio_frame in container.decode(stream):
                if resampler is None:
                    # The decoder's layout, which can differ from the header's (parametric stereo).
                    # Packed samples: PyAV cannot hand over planar audio of 8 or more channels.
                    layout = audio_frame.layout
                    resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
                if first_time_s is None and audio_frame.pts is not None:
                    first_time_s = float(audio_frame.pts * audio_frame.time_base)
                chunks.extend(_planar(resampled) for resampled in resampler.resample(audio_frame))
        except av.FFmpegError as error:
            if not chunks:
                raise MediaError(f"{path}: cannot decode audio ({error})") from error
        if resampler is not None:
            chunks.extend(_planar(resampled) for resampled in resampler.resample(None))
        samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((layout.nb_channels, 0), np.float32)
        if mono:
            samples = samples.mean(axis=0, keepdims=True)
        start_s = (first_time_s or 0.0) - _video_start_s(container)
        return AudioTrack(np.ascontiguousarray(samples, dtype=np.float32), rate, start_s, has_audio=True,
                          layout="mono" if mono else layout.name)
    finally:
        container.close()


def remix(track: AudioTrack, layout: str) -> AudioTrack:
    """`track` in another channel layout (FFmpeg's resampler: e.g. 7.1 -> stereo folds centre and
    surrounds into left and right). Both layouts must name their channels."""
    resampler = av.AudioResampler(format="flt", layout=layout, rate=track.sample_rate_hz)
    chunks: list[np.ndarray] = []
    chunk_samples = 4096
    for start in range(0, track.samples.shape[1], chunk_samples):
        piece = track.samples[:, start : start + chunk_samples]
        audio_frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece.T).reshape(1, -1), format="flt",
                                                 layout=track.layout_name)
        audio_frame.sample_rate = track.sample_rate_hz
        chunks.extend(_planar(resampled) for resampled in resampler.resample(audio_frame))
    chunks.extend(_planar(resampled) for resampled in resampler.resample(None))
    channels = av.AudioLayout(layout).nb_channels
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    return AudioTrack(np.ascontiguousarray(samples), track.sample_rate_hz, track.start_s, track.has_audio, layout)


def _planar(audio_frame: av.AudioFrame) -> np.ndarray:
    """A packed float frame as `(channels, samples)`."""
    return audio_frame.to_ndarray().reshape(-1, audio_frame.layout.nb_channels).T


def _video_start_s(container: av.container.InputContainer) -> float:
    """Start time of the first video stream on the container clock (0 without one; cover art does not count)."""
    streams = video_streams(container)
    if not streams:
        return 0.0
    stream = streams[0]
    if stream.start_time is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def original_sound(path: str | Path | None) -> AudioTrack | None:
    """The sound track of the media file `path` at its own rate and channels (None without a file or a track)."""
    if path is None:
        return None
    track = read_audio(path, sample_rate_hz=None, mono=False)
    return track if track.has_audio else None
