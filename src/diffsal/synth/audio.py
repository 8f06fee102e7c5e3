"""The sound side of a synthetic video: which object sounds when, and the waveform it makes.

Each palette colour k has its own pitch, 220 * 2**(k/2) Hz (half an octave apart, so no two
fundamentals are closer than a factor 1.41), and its own timbre (weights of the 2nd and 3rd
harmonics and a tremolo rate). Exactly one object sounds at any time; the sounding object
changes every few seconds, always to another object chosen uniformly, so no colour is favoured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffsal.synth.scene import PALETTE

SAMPLE_RATE_HZ = 16_000
BASE_PITCH_HZ = 220.0
CROSSFADE_S = 0.02

# Timbre per palette colour: (2nd harmonic, 3rd harmonic) weights relative to the fundamental,
# and a tremolo frequency. The fundamental stays the strongest partial of every colour.
_TIMBRES = (
    ((0.50, 0.25), 3.0),
    ((0.20, 0.45), 5.0),
    ((0.60, 0.10), 0.0),
    ((0.30, 0.30), 7.0),
    ((0.15, 0.15), 4.0),
    ((0.45, 0.35), 0.0),
)


def pitch_hz(colour: int) -> float:
    """Fundamental frequency of palette colour `colour`."""
    return BASE_PITCH_HZ * 2.0 ** (colour / 2)


@dataclass(frozen=True)
class SoundSchedule:
    """Which object sounds: object `sounding[i]` from `starts_s[i]` until the next start.

    `sounding` holds indices into the scene's objects (not palette colours).
    """

    starts_s: np.ndarray  # (num_segments,) float, starts_s[0] == 0
    sounding: np.ndarray  # (num_segments,) int

    def at(self, time_s: np.ndarray | float) -> np.ndarray:
        """Index of the sounding object at each time (the first segment's object before t = 0)."""
        segment = np.searchsorted(self.starts_s, np.asarray(time_s, dtype=np.float64), side="right") - 1
        return self.sounding[np.clip(segment, 0, len(self.sounding) - 1)]


def make_schedule(rng: np.random.Generator, num_objects: int, duration_s: float,
                  min_segment_s: float = 2.0, max_segment_s: float = 4.0) -> SoundSchedule:
    """Segments of `min_segment_s`..`max_segment_s`; the first object uniform, each next one
    uniform over the other objects."""
    starts = [0.0]
    sounding = [int(rng.integers(num_objects))]
    while True:
        next_start = starts[-1] + float(rng.uniform(min_segment_s, max_segment_s))
        if next_start >= duration_s:
            break
        others = [index for index in range(num_objects) if index != sounding[-1]]
        starts.append(next_start)
        sounding.append(int(others[rng.integers(len(others))]))
    return SoundSchedule(np.array(starts), np.array(sounding, dtype=np.int64))


def synthesize(rng: np.random.Generator, schedule: SoundSchedule, colours: list[int], duration_s: float,
               snr_db: float = 10.0, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Mono float32 `(round(duration_s * rate),)` waveform in [-1, 1].

    Args:
        schedule: which object sounds when.
        colours: palette colour of each scene object (picks pitch and timbre).
        snr_db: ratio of tone power to the white background noise.
    """
    num_samples = int(round(duration_s * sample_rate_hz))
    time_s = np.arange(num_samples) / sample_rate_hz
    # Per-object gain, one soft ramp per segment so switches do not click.
    gains = np.zeros((len(colours), num_samples))
    ends = np.append(schedule.starts_s[1:], duration_s)
    fade = max(1, int(CROSSFADE_S * sample_rate_hz))
    for start_s, end_s, index in zip(schedule.starts_s, ends, schedule.sounding):
        first, last = int(round(start_s * sample_rate_hz)), int(round(end_s * sample_rate_hz))
        envelope = np.ones(last - first)
        if first > 0:
            envelope[:fade] = np.linspace(0.0, 1.0, min(fade, len(envelope)))
        if last < num_samples:
            envelope[-fade:] = np.minimum(envelope[-fade:], np.linspace(1.0, 0.0, min(fade, len(envelope))))
        gains[index, first:last] = envelope
    signal = np.zeros(num_samples)
    for index, colour in enumerate(colours):
        if not gains[index].any():
            continue
        signal += gains[index] * _voice(colour, time_s, phase=float(rng.uniform(0, 2 * np.pi)))
    signal *= 0.3 / np.sqrt(np.mean(signal**2) + 1e-12)  # tone RMS 0.3
    noise_rms = 0.3 / 10 ** (snr_db / 20)
    signal += rng.normal(0.0, noise_rms, size=num_samples)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


def _voice(colour: int, time_s: np.ndarray, phase: float) -> np.ndarray:
    if not 0 <= colour < len(PALETTE):
        raise ValueError(f"colour index must be in 0..{len(PALETTE) - 1}, got {colour}")
    (second, third), tremolo_hz = _TIMBRES[colour]
    angle = 2 * np.pi * pitch_hz(colour) * time_s + phase
    wave = np.sin(angle) + second * np.sin(2 * angle) + third * np.sin(3 * angle)
    if tremolo_hz:
        wave *= 1.0 - 0.3 * (0.5 + 0.5 * np.sin(2 * np.pi * tremolo_hz * time_s))
    return wave / (1.0 + second + third)


def dominant_colour(window: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> int:
    """The palette colour whose pitch is nearest the strongest spectral peak of `window`
    (what a listener would name); used to check that the audio carries the sounding object."""
    tapered = window * np.hanning(len(window))
    spectrum = np.abs(np.fft.rfft(tapered, n=max(len(window), 4096)))
    frequencies = np.fft.rfftfreq(max(len(window), 4096), 1.0 / sample_rate_hz)
    band = (frequencies > 150) & (frequencies < 2000)
    peak_hz = frequencies[band][np.argmax(spectrum[band])]
    pitches = np.array([pitch_hz(colour) for colour in range(len(PALETTE))])
    return int(np.argmin(np.abs(np.log(pitches / peak_hz))))
