"""The input pipeline of the published models: PIL-resized frames and the log-mel examples of the native-rate track."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from diffsal.models.published.audio_frontend import published_audio_examples

if TYPE_CHECKING:
    from diffsal.io.audio import AudioTrack


@dataclass(frozen=True)
class PublishedAudioExamples:
    """The published audio-visual model's audio input `(1, 9, h, w)` for a clip, from the track at its native rate.

    The clip's first frame is `centre_frame - clip_length // 2` (the target is the 9th of 16 frames); frame times
    are index / fps, as in the published loader, shifted by the track's start relative to the video. Without sound
    the input is the examples of a silent (all-zero) track.
    """

    clip_length: int
    example_size: tuple[int, int]
    sample_rate_hz: None = None  # the native rate: the published buffer is sized in native samples

    @property
    def shape(self) -> tuple[int, ...]:
        return (1, 9, *self.example_size)

    @property
    def description(self) -> str:
        return "9 log-mel examples of the clip's sound at its own rate"

    def __call__(self, track: AudioTrack | None, centre_frame: int, centre_time_s: float, fps: float) -> torch.Tensor:
        first_frame = centre_frame - self.clip_length // 2
        if track is None or not track.has_audio:
            rate, samples = 16_000, np.zeros(0, dtype=np.float64)
        else:
            rate, samples = track.sample_rate_hz, track.samples[0]
            shift = round(track.start_s * rate)  # the track starts `start_s` after the video
            samples = np.concatenate([np.zeros(shift, samples.dtype), samples]) if shift > 0 else samples[-shift:]
        return published_audio_examples(samples, rate, first_frame, fps, self.clip_length,
                                        size=self.example_size)
