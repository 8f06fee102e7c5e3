"""Input preprocessing that belongs to a model: how its frames are resized and normalised, how its audio is cut.

A model's config builds its `Preprocessing` (`config.preprocessing()`); the datasets and the predictor
apply it, so every model family is fed the way it was trained:

- `FrameTransform`: the model's frame size, how a decoded frame gets there (decoder-side scaling, or PIL
  resizes of the full-resolution frame) and the per-channel normalisation;
- an `AudioTransform` (or None for a video-only model): the rate the sound track is read at and the
  fixed-shape audio input it makes for a clip. DiffSal's is `WaveformWindow`, the raw 16 kHz waveform
  centred on the clip's centre frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

if TYPE_CHECKING:
    from diffsal.io.audio import AudioTrack

# Kinetics-400 statistics used by torchvision's video models (MViTv2 included), for [0, 1] RGB values.
KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)

# PIL's filters by name (the names `resize_steps` accepts).
PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class FrameTransform:
    """How decoded uint8 RGB frames become a model's input.

    Attributes:
        size: (height, width) of the model's frames.
        resize_steps: PIL resizes ``(width, height, filter)`` applied in turn to the full-resolution decoded
            frame (filter: one of `PIL_FILTERS`); the last one must give `size`. Empty: the frame source
            scales straight to `size` while decoding (the fast path; it also allows letterboxing).
        pixel_scale: uint8 values are multiplied by it before mean/std (1/255: [0, 1] values; 1.0: 0-255).
        mean / std: per-channel normalisation, ``(x * pixel_scale - mean) / std``.
    """

    size: tuple[int, int]
    resize_steps: tuple[tuple[int, int, str], ...] = ()
    pixel_scale: float = 1 / 255
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD

    def __post_init__(self) -> None:
        height, width = (int(value) for value in self.size)
        if height < 1 or width < 1:
            raise ValueError(f"frame size must be positive (height, width), got {self.size}")
        object.__setattr__(self, "size", (height, width))
        steps = tuple((int(w), int(h), str(name)) for w, h, name in self.resize_steps)
        for step_width, step_height, name in steps:
            if name not in PIL_FILTERS:
                raise ValueError(f"resize filter must be one of {', '.join(PIL_FILTERS)}, got {name!r}")
            if step_width < 1 or step_height < 1:
                raise ValueError(f"resize step size must be positive, got {step_width}x{step_height}")
        if steps and steps[-1][:2] != (width, height):
            raise ValueError(f"the last resize step gives {steps[-1][0]}x{steps[-1][1]}; the model's frames are "
                             f"{width}x{height} (width x height)")
        object.__setattr__(self, "resize_steps", steps)
        if not self.pixel_scale > 0:
            raise ValueError(f"pixel_scale must be positive, got {self.pixel_scale}")
        for name in ("mean", "std"):
            values = tuple(float(value) for value in getattr(self, name))
            if len(values) != 3:
                raise ValueError(f"{name} must be 3 numbers (R, G, B), got {getattr(self, name)}")
            object.__setattr__(self, name, values)
        if min(self.std) <= 0:
            raise ValueError(f"std must be positive, got {self.std}")

    def decode_size(self, source_size: tuple[int, int]) -> tuple[int, int] | None:
        """(width, height) the frame source should scale to while decoding; None: full resolution (PIL steps follow)."""
        if self.resize_steps:
            return None
        height, width = self.size
        return width, height

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """uint8 `(h, w, 3)` -> uint8 `(H, W, 3)`: unchanged when already at `size`, otherwise the PIL steps
        (without steps: one bilinear PIL resize to `size`)."""
        height, width = self.size
        if frame.shape[:2] == (height, width):
            return frame
        steps = self.resize_steps or ((width, height, "bilinear"),)
        image = Image.fromarray(frame)
        for step_width, step_height, name in steps:
            image = image.resize((step_width, step_height), PIL_FILTERS[name])
        return np.asarray(image)

    def normalise(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 `(T, H, W, 3)` -> float32 `(3, T, H, W)`, ``(x * pixel_scale - mean) / std``."""
        values = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float()
        if self.pixel_scale == 1 / 255:
            values.div_(255.0)  # the division, not a multiplication by 1/255: bit-identical to earlier results
        elif self.pixel_scale != 1.0:
            values.mul_(self.pixel_scale)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1, 1)
        return (values - mean) / std


@runtime_checkable
class AudioTransform(Protocol):
    """Makes a model's per-clip audio input from a sound track.

    Attributes:
        sample_rate_hz: the rate the sound track must be read at (mono); None: its native rate.
        shape: the shape of one clip's audio input (a batch stacks them).
    """

    sample_rate_hz: int | None
    shape: tuple[int, ...]
    description: str  # for reports, e.g. "1.52 s of 16 kHz audio"

    def __call__(self, track: AudioTrack | None, centre_frame: int, centre_time_s: float, fps: float) -> torch.Tensor:
        """float32 tensor of exactly `shape` for the clip centred on frame `centre_frame` (at `centre_time_s`,
        any audio offset included; the video runs at `fps`); silence (zeros) when `track` is None or silent."""
        ...


@dataclass(frozen=True)
class WaveformWindow:
    """DiffSal's audio input: `window_s` seconds of the mono waveform at `sample_rate_hz`, centred on the
    clip's centre frame; parts outside the track are zeros. Shape ``(round(window_s * sample_rate_hz),)``."""

    window_s: float
    sample_rate_hz: int = 16_000

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"audio window must be positive, got {self.window_s} s")
        if int(self.sample_rate_hz) < 1:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate_hz}")

    @property
    def num_samples(self) -> int:
        return round(self.window_s * self.sample_rate_hz)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.num_samples,)

    @property
    def description(self) -> str:
        return f"{self.window_s:.2f} s of {self.sample_rate_hz / 1000:g} kHz audio"

    def __call__(self, track: AudioTrack | None, centre_frame: int, centre_time_s: float, fps: float) -> torch.Tensor:
        length = self.num_samples
        if track is None or not track.has_audio:
            return torch.zeros(length, dtype=torch.float32)
        if track.sample_rate_hz != self.sample_rate_hz:
            raise ValueError(f"audio track is at {track.sample_rate_hz} Hz; this window needs {self.sample_rate_hz} Hz")
        window = track.window(centre_time_s, self.window_s)[0]
        return torch.from_numpy(np.ascontiguousarray(window[:length], dtype=np.float32))


@dataclass(frozen=True)
class Preprocessing:
    """Everything a model needs done to its inputs: `frames`, and `audio` (None for a video-only model)."""

    frames: FrameTransform
    audio: AudioTransform | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the model's frames (and of the targets)."""
        return self.frames.size


def diffsal_preprocessing(size: tuple[int, int] = (224, 384), audio_window_s: float | None = 1.52,
                          sample_rate_hz: int = 16_000) -> Preprocessing:
    """DiffSal's preprocessing: frames scaled to `size` while decoding, Kinetics mean/std on [0, 1] values, and
    the `audio_window_s` waveform at `sample_rate_hz` (None: a video-only model)."""
    frames = FrameTransform(size=tuple(size), pixel_scale=1 / 255, mean=KINETICS_MEAN, std=KINETICS_STD)
    audio = WaveformWindow(audio_window_s, sample_rate_hz) if audio_window_s is not None else None
    return Preprocessing(frames, audio)

