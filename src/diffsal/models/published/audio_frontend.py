"""The audio input of the published DiffSal audio-visual model, rebuilt from a mono track at its native rate.

The authors' data loader (`saliency_db_spec` with ``audio_type="mel"``) gives the model nine VGGish log-mel
examples per 16-frame clip, `(1, 9, 112, 192)` (batched `(B, 1, 9, 112, 192)`). This module reproduces that
input from the samples of the WAV (int16 / 32768 scale), quirks included, so that the released checkpoints see
what they were trained on:

1. **Excerpt.** Video frame k (1-based) owns the samples ``[int(max(0, (k-1)/fps*Fs - n/2)),
   int(min(len, abs((k-1)/fps*Fs + n/2)))]`` with n = Fs / fps (both ends inclusive); the clip's excerpt runs from
   the start of its first frame to the end of its last, ``clip_length / fps`` seconds plus a sample (0.53 s at
   30 fps). It is centred on the midpoint of the clip, half a frame before the frame whose saliency map is the
   target (the median frame, rounded up).
2. **Buffer.** The excerpt is placed in ``int(22050 / 10 * clip_length)`` = 35 280 zeros *at the native rate*
   (meant as the longest excerpt: 22.05 kHz audio of a 10 fps video), with excerpt sample ``v // 2`` (v its
   length) at buffer sample ``35280 // 2``. The buffer therefore lasts 1.6 s at 22.05 kHz, 0.8 s at 44.1 kHz,
   0.735 s at 48 kHz and 2.205 s at 16 kHz: the number of examples depends on the file's sample rate. An excerpt
   longer than the buffer (e.g. 44.1 kHz at 20 fps) made the published loader fail; here it is an `InputError`.
3. **VGGish examples.** The buffer is resampled to 16 kHz with resampy (``kaiser_best``), cut into unpadded
   25 ms frames every 10 ms (1 + (N - 400) // 160 frames), turned into log(mel + 0.01) with 64 HTK bands
   125-7500 Hz, and framed into 64-frame examples every 11 frames, from the first frame on: 22.05 kHz -> 158
   frames -> 9 examples; 16 kHz -> 15 (the first 9 are kept); 44.1 kHz -> 2; 48 kHz -> 1; above 53.8 kHz none
   (the published loader fails; here an `InputError`). Below 9.8 kHz the excerpt lies past the span of the nine
   examples (at 8 kHz the buffer lasts 4.41 s): they are silence, log(0.01) throughout.
4. **Nine examples.** Any other count is first repeated element-wise ``9 // count`` times, then the first
   ``9 % count`` examples are appended, then the first nine kept: 2 examples -> [e0 x4, e1 x4, e0], 1 -> e0 x9,
   15 -> e0..e8. With fewer than nine the examples no longer follow one another in time.
5. **Resize.** Each 64 x 64 (time x mel) example is stretched to 112 x 192 by bilinear interpolation
   (torchvision's `Resize`, half-pixel centres; upsampling, so its anti-aliasing changes nothing).

Alignment: nine examples span the first 152 frames of the buffer, 1.535 s of sound from its first sample (152
hops plus the last 25 ms window), so at 22.05 kHz their centre is 32.5 ms before the buffer's centre; with the half
frame of step 1, what the model hears is centred 16.7 + 32.5 = 49.2 ms before the target frame at 30 fps (a count
of 152 x 10 ms that forgets the window gives 56.7 ms). At 16 kHz, whose buffer is longer, it is 352 ms before it;
at 48 kHz the single example is centred 56.7 ms before it.

The published code computes in float64 up to the log-mel examples (then float32). Here the buffer and the
resampling are float64 and bit-identical to it; the log-mel (`LogMelFrontEnd` with ``centre=False``) and the
resize are float32, within 6e-6 of it (see `published_log_mel_examples`). resampy is an optional dependency
(``pip install 'diffsal[published]'``); without it `scipy.signal.resample_poly` runs resampy's filter exactly as
resampy applies it (see `FALLBACK_ERROR_NOTE`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import signal

from diffsal.errors import InputError
from diffsal.models.audio import LogMelFrontEnd
from diffsal.models.config import AudioEncoderConfig

VGGISH_SAMPLE_RATE_HZ = 16_000
NUM_EXAMPLES = 9
EXAMPLE_FRAMES = 64
EXAMPLE_HOP_FRAMES = 11
EXAMPLE_SIZE = (112, 192)  # (H, W) = data_config["sample_size"] // 2, reversed
# The published loader sizes its buffer for the longest excerpt it expected: 22.05 kHz audio of a 10 fps video.
BUFFER_RATE_HZ = 22_050
BUFFER_MIN_FPS = 10

# resampy's `kaiser_best` filter: a Kaiser-windowed sinc with 50 zero crossings per side, tabulated 2**13 times per
# crossing. Its documentation rounds beta and the roll-off (of the lower Nyquist frequency) to 12.9846 and 0.917347;
# these full values rebuild its table exactly, the rounded ones change the resampled waveform by up to 5e-7.
_KAISER_ZEROS = 50
_KAISER_BETA = 12.984585247040012
_KAISER_ROLLOFF = 0.9173473712608761
_KAISER_TABLE_STEPS = 2**13  # its precision: table entries per zero crossing

# Measured on noise + tones, 8-48 kHz, and on the published references (16, 22.05, 44.1, 48 kHz).
FALLBACK_ERROR_NOTE = (
    "measured against resampy 0.4.3: max abs error 1e-12 on the 16 kHz waveform, 0 on the float32 log-mel "
    "examples and model input"
)


def frame_sample_bounds(frame: int, fps: float, sample_rate_hz: int, num_samples: int) -> tuple[int, int]:
    """First and last sample (inclusive) of video frame `frame` (1-based), the published formulas.

    `frame` may be 0 or negative (a clip padded before the start of the video): the start clips to 0, and the
    end is ``abs(...)`` of the same expression as in the published code.
    """
    n = sample_rate_hz / float(fps)
    centre = (frame - 1) * (1.0 / float(fps)) * sample_rate_hz
    start = int(max(0, centre - n / 2))
    end = int(min(num_samples, abs(centre + n / 2)))
    return start, end


def excerpt_bounds(
    first_frame: int, fps: float, sample_rate_hz: int, num_samples: int, clip_length: int = 16
) -> tuple[int, int]:
    """`(start, stop)`: the clip's excerpt is ``samples[start:stop]``; `first_frame` is 0-based."""
    start, _ = frame_sample_bounds(first_frame + 1, fps, sample_rate_hz, num_samples)
    _, end = frame_sample_bounds(first_frame + clip_length, fps, sample_rate_hz, num_samples)
    return start, end + 1


def buffer_length(clip_length: int = 16) -> int:
    """Samples of the zero buffer the excerpt is centred in, at the file's own rate (35 280 for 16 frames)."""
    return int(BUFFER_RATE_HZ / BUFFER_MIN_FPS * clip_length)


def place_in_buffer(excerpt: np.ndarray, length: int) -> np.ndarray:
    """float64 `(length,)` zeros with `excerpt` in the middle: its sample ``v // 2`` at ``length // 2``.

    (The published code writes this as two cases, even and odd v; both put the excerpt there.)
    """
    count = len(excerpt)
    if count > length:
        raise InputError(f"the audio excerpt of a clip has {count} samples, more than the {length} the published "
                         "model's loader has room for (a low frame rate for this sample rate); it cannot be used")
    out = np.zeros(length, dtype=np.float64)
    first = length // 2 - count // 2
    out[first : first + count] = excerpt
    return out


def clip_buffer(
    samples: np.ndarray, sample_rate_hz: int, first_frame: int, fps: float, clip_length: int = 16
) -> np.ndarray:
    """The float64 buffer of one clip at the native rate: steps 1-2 of the module docstring."""
    samples = _mono(samples)
    sample_rate_hz = _integer_rate(sample_rate_hz)
    start, stop = excerpt_bounds(first_frame, fps, sample_rate_hz, len(samples), clip_length)
    return place_in_buffer(samples[start:stop], buffer_length(clip_length))


def resample_to_vggish_rate(waveform: np.ndarray, sample_rate_hz: int, resampler: str = "auto") -> np.ndarray:
    """float64 `waveform` at `sample_rate_hz` -> float64 at 16 kHz, ``int(N * 16000 / rate)`` samples.

    `resampler`: "resampy" (the published one), "scipy" (`resample_poly` with the same filter), or "auto"
    (resampy when installed, else scipy: the two agree to 1e-12 on the waveform, `FALLBACK_ERROR_NOTE`).
    """
    waveform = np.asarray(waveform, dtype=np.float64)
    sample_rate_hz = _integer_rate(sample_rate_hz)
    if sample_rate_hz == VGGISH_SAMPLE_RATE_HZ:
        return waveform.copy()
    if resampler not in ("auto", "resampy", "scipy"):
        raise ValueError(f"resampler must be 'auto', 'resampy' or 'scipy', got {resampler!r}")
    if resampler != "scipy":
        try:
            import resampy
        except ImportError:
            if resampler == "resampy":
                raise
        else:
            return resampy.resample(waveform, sample_rate_hz, VGGISH_SAMPLE_RATE_HZ)
    return _resample_poly(waveform, sample_rate_hz)


def vggish_examples(waveform_16k: np.ndarray | torch.Tensor) -> torch.Tensor:
    """16 kHz waveform -> every float32 VGGish example `(count, 64, 64)` (time x mel), before the repeat rule."""
    waveform = torch.as_tensor(np.asarray(waveform_16k, dtype=np.float64)).float()
    if waveform.shape[-1] < _log_mel().window_samples:
        raise InputError(f"{waveform.shape[-1]} samples at 16 kHz are too few for one log-mel frame")
    log_mel = _log_mel()(waveform[None])[0]  # (frames, 64)
    if log_mel.shape[0] < EXAMPLE_FRAMES:
        raise InputError(f"audio gives {log_mel.shape[0]} log-mel frames; one example needs {EXAMPLE_FRAMES}")
    return log_mel.unfold(0, EXAMPLE_FRAMES, EXAMPLE_HOP_FRAMES).transpose(1, 2).contiguous()


def repeat_examples(examples: torch.Tensor, count: int = NUM_EXAMPLES) -> torch.Tensor:
    """The published rule that turns any number of examples into `count` (step 4 of the module docstring)."""
    have = examples.shape[0]
    if have != count:
        if count // have:
            examples = torch.repeat_interleave(examples, count // have, dim=0)
        examples = torch.cat([examples, examples[: count % have]], dim=0)
    return examples[:count]


def resize_examples(examples: torch.Tensor, size: tuple[int, int] = EXAMPLE_SIZE) -> torch.Tensor:
    """`(..., 64, 64)` -> `(..., *size)`, bilinear with half-pixel centres, as torchvision's `Resize` on a tensor.

    Upsampling, so the anti-aliased kernel `Resize` uses computes plain bilinear interpolation; it is kept because
    it rounds differently: bit-identical to `Resize`, where ``antialias=False`` differs by up to 5e-6.
    """
    lead = examples.shape[:-2]
    images = examples.reshape(-1, 1, *examples.shape[-2:])
    size = (int(size[0]), int(size[1]))
    images = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    return images.reshape(*lead, *size)


def published_log_mel_examples(
    samples: np.ndarray,
    sample_rate_hz: int,
    first_frame: int,
    fps: float,
    clip_length: int = 16,
    *,
    resampler: str = "auto",
) -> torch.Tensor:
    """The nine log-mel examples of one clip, float32 `(9, 64, 64)` (time x mel), before the resize.

    Args:
        samples: the whole mono track `(N,)` (or `(1, N)`) at its native rate, on the int16 / 32768 scale.
        sample_rate_hz: the track's rate; it matters beyond resampling (see the module docstring).
        first_frame: 0-based index of the clip's first video frame (negative for a clip padded at the start).
        fps: the video's frame rate.
        clip_length: frames per clip (16 in the published model).
        resampler: see `resample_to_vggish_rate`.

    The published loader stores these as `(9, 1, 64, 64)`. Against it, max abs error 1.7e-6 (22.05 kHz), 2.4e-6
    (44.1 and 16 kHz), 5.5e-6 (48 kHz), with resampy and with the fallback alike: the buffer and the resampled
    waveform are bit-identical to the published float64 ones, the error is the float32 log-mel.
    """
    buffer = clip_buffer(samples, sample_rate_hz, first_frame, fps, clip_length)
    waveform = resample_to_vggish_rate(buffer, sample_rate_hz, resampler)
    if len(waveform) < _min_samples():
        raise InputError(f"at {sample_rate_hz} Hz the published loader's {len(buffer)}-sample buffer lasts "
                         f"{len(buffer) / sample_rate_hz:.3f} s, less than one 0.64 s example (it fails above "
                         "53.8 kHz); resample the track to 48 kHz or less first")
    return repeat_examples(vggish_examples(waveform))


def published_audio_examples(
    samples: np.ndarray,
    sample_rate_hz: int,
    first_frame: int,
    fps: float,
    clip_length: int = 16,
    *,
    size: tuple[int, int] = EXAMPLE_SIZE,
    resampler: str = "auto",
) -> torch.Tensor:
    """The published model's audio input for one clip, float32 `(1, 9, *size)`; stack clips on dim 0.

    Arguments as in `published_log_mel_examples`; the nine examples are each resized to `size` (H, W), 112 x 192
    in the published configuration (half its 224 x 384 frames).
    """
    examples = published_log_mel_examples(samples, sample_rate_hz, first_frame, fps, clip_length,
                                          resampler=resampler)
    return resize_examples(examples, size)[None]


def _integer_rate(sample_rate_hz: float) -> int:
    if sample_rate_hz != int(sample_rate_hz) or sample_rate_hz <= 0:
        raise InputError(f"the sample rate must be a positive whole number of Hz, got {sample_rate_hz}")
    return int(sample_rate_hz)


def _mono(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.ndim == 2 and samples.shape[0] == 1:
        samples = samples[0]
    if samples.ndim != 1:
        raise InputError(f"expected a mono track (N,) or (1, N), got shape {samples.shape}")
    return samples.astype(np.float64, copy=False)


def _min_samples() -> int:
    front = _log_mel()
    return front.window_samples + (EXAMPLE_FRAMES - 1) * front.hop_samples


@functools.lru_cache(maxsize=1)
def _log_mel() -> LogMelFrontEnd:
    config = AudioEncoderConfig(sample_rate_hz=VGGISH_SAMPLE_RATE_HZ, stft_window_s=0.025, stft_hop_s=0.010,
                                fft_size=512, num_mel_bins=64, mel_min_hz=125.0, mel_max_hz=7500.0, log_offset=0.01)
    return LogMelFrontEnd(config, centre=False).eval()


@functools.lru_cache(maxsize=8)
def _kaiser_best_filter(sample_rate_hz: int, up: int) -> np.ndarray:
    """resampy's effective impulse response from `sample_rate_hz` to 16 kHz, sampled at `up` x the input rate.

    The windowed sinc, scaled by `scale` = min(1, 16000 / rate) to cut at the lower Nyquist frequency, with three
    details of how resampy reads its table, each of which alone changes the waveform by 1e-7 to 2e-5 (and the quiet
    mel bands up to 1000 times more):
    * it steps through the table ``int(scale * steps)`` entries per input sample, not ``scale * steps``: tap
      ``tau`` (input samples from input to output) sits ``floor(|tau|) * shortfall`` crossings short of the sinc's
      own position (one sample fewer counted for inputs after the output);
    * it interpolates linearly between table entries;
    * it drops a tap whose next step would run off the table.
    """
    scale = min(1.0, float(VGGISH_SAMPLE_RATE_HZ) / sample_rate_hz)
    index_step = int(scale * _KAISER_TABLE_STEPS)
    shortfall = scale - index_step / _KAISER_TABLE_STEPS
    half_len = math.ceil(_KAISER_ZEROS / (scale - shortfall) * up) + up
    offset = np.arange(-half_len, half_len + 1)  # tau * up; >= 0: inputs at or before the output sample
    whole = np.where(offset >= 0, offset // up, (-offset + up - 1) // up - 1)
    crossings = scale * np.abs(offset) / up - whole * shortfall
    # resampy interpolates linearly between its table entries; so does this, between the same points.
    entry = np.floor(crossings * _KAISER_TABLE_STEPS)
    fraction = crossings * _KAISER_TABLE_STEPS - entry
    lower, upper = (_kaiser_sinc(np.minimum(e, _KAISER_ZEROS * _KAISER_TABLE_STEPS) / _KAISER_TABLE_STEPS)
                    for e in (entry, entry + 1))
    response = scale * (lower + fraction * (upper - lower))
    # and it stops one step before the end of its table: a tap whose next step would fall off it is left out.
    response[entry + index_step > _KAISER_ZEROS * _KAISER_TABLE_STEPS + 1] = 0.0
    return response / up  # resample_poly multiplies by `up`


def _kaiser_sinc(crossings: np.ndarray) -> np.ndarray:
    """The Kaiser-windowed sinc at `crossings` zero crossings from its centre (0 to `_KAISER_ZEROS`)."""
    taper = np.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - (crossings / _KAISER_ZEROS) ** 2, 0.0, None)))
    return _KAISER_ROLLOFF * np.sinc(_KAISER_ROLLOFF * crossings) * taper / np.i0(_KAISER_BETA)


def _resample_poly(waveform: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    divisor = math.gcd(VGGISH_SAMPLE_RATE_HZ, sample_rate_hz)
    up, down = VGGISH_SAMPLE_RATE_HZ // divisor, sample_rate_hz // divisor
    out_len = int(len(waveform) * float(VGGISH_SAMPLE_RATE_HZ) / float(sample_rate_hz))  # resampy's length
    resampled = signal.resample_poly(waveform, up, down, window=_kaiser_best_filter(sample_rate_hz, up))
    return resampled[:out_len]
