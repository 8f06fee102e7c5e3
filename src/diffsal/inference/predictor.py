"""`Predictor`: a saved DiffSal model applied to clips and whole videos (the pipeline owns the I/O).

Every frame of a video gets a map. A model with ``frames_out = K`` predicts the central K frames of
each clip, so a video is read as one clip every K frames (`diffsal.inference.clip_plan`; K = 1: frame
k is the centre slot of its own clip). Clips are padded at the video's edges by repeating its
first/last frame; the audio window is centred on the clip's centre frame. Clips (and the `samples`
per clip) are batched; the encoders run once per clip and only the Saliency-UNet runs per denoising
step. `precision="bf16"` runs the model under bf16 autocast (on CPU and CUDA). The next batch of clips is
decoded and preprocessed in a background thread while the model runs (`diffsal.io.overlap`).

Reproducibility: the starting noise of each clip comes from its own generator, seeded by
(`seed`, the clip's centre frame), so a map does not depend on the batch size, on which torchrun
rank predicted it, or on the device (the noise is drawn on the CPU). With ``eta > 0`` the per-step
noise comes from one generator per batch, so it then also depends on the batching.

Finite maps only: a model whose weights hold NaN or inf is refused when the `Predictor` is made
(`InputError`), and a clip whose output is not finite (an overflow) raises `NonFiniteOutputError`
instead of giving a map: a NaN map would look like a prediction (an all-black PNG) but mean nothing.

Preprocessing is the model's own (``config.preprocessing()``): its frame transform makes the clips
(`ClipReader`), its audio transform makes each clip's audio input from the sound track, read mono at
the rate the transform asks for (None: the track's native rate), exactly as the training data loader
does. For DiffSal that is the 16 kHz mono waveform around each clip's centre frame.

Audio: without sound (``use_audio=False``, or a video with no audio stream) an audio-visual model is
fed *silence*, what its audio transform makes of no track (for DiffSal a zero waveform): the training
data loader gives exactly that for videos without a sound track, so the model has seen it. Skipping
the audio branch altogether would be a path an audio-visual model was never trained on. A video-only
model (``config.use_audio = False``) never reads audio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from diffsal.diffusion import randn
from diffsal.errors import DiffSalError, InputError
from diffsal.inference.clip_plan import ClipBlock, plan_clips
from diffsal.io.overlap import read_ahead
from diffsal.inference.precision import autocast, check_precision
from diffsal.io.audio import AudioTrack, read_audio
from diffsal.io.clip import ClipReader
from diffsal.io.frame_source import FrameSource
from diffsal.io.video import VideoReader
from diffsal.models.diffsal import DiffSal
from diffsal.models.saliency_diffusion import SaliencySample
from diffsal.models.loading import load_model
from diffsal.models.saved_model import weights_sha256
from diffsal.models.weights import check_finite_weights
from diffsal.runtime import resolve_device
from diffsal.seeds import STEP_NOISE_OFFSET

Progress = Callable[[int, int], None]  # (frames done, frames in the video)


class NonFiniteOutputError(DiffSalError):
    """The model gave NaN or inf for a clip (its maps would be meaningless)."""


# CPU batching: measured with `diffsal predict` (fp32, 2 threads), the tiny model (0.28 GFLOPs per clip) runs
# 1.7x faster at batch 8 than at 1, a paper-size one (402-460 GFLOPs per clip) 2.7x slower: a batch whose forward
# pass outgrows the caches costs more in memory traffic than it saves in per-call overhead.
CPU_BATCH_GFLOPS = 20.0
GPU_BATCH = 8


def automatic_batch_size(config, device: torch.device) -> int:
    """Clips per forward pass when none is asked for: `GPU_BATCH` on a GPU; on a CPU as many (1-8) as keep one
    pass under `CPU_BATCH_GFLOPS` (the maps do not depend on it: each clip has its own starting noise)."""
    if device.type != "cpu":
        return GPU_BATCH
    from diffsal.models.cost import model_flops

    per_clip = model_flops(config).per_clip(1) / 1e9
    return max(1, min(GPU_BATCH, int(CPU_BATCH_GFLOPS // per_clip)))


def clip_seed(seed: int, frame_index: int) -> int:
    """The seed of the starting noise of the clip centred on `frame_index` (a 63-bit integer)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(frame_index)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


@dataclass
class FrameMap:
    """The prediction of one frame at the source size.

    Attributes:
        index: 0-based frame index.
        mean: float32 `(H, W)` in [0, 1], the mean over the samples.
        std: float32 `(H, W)`, per-pixel std over the samples (uncertainty), or None for one sample.
        predicted: False when the map was interpolated between predicted frames (`stride` > 1).
    """

    index: int
    mean: np.ndarray
    std: np.ndarray | None
    predicted: bool


@dataclass
class VideoMaps:
    """All maps of a video: `mean` float32 `(N, H, W)`, `std` `(N, H, W)` or None, and the frame rate."""

    mean: np.ndarray
    std: np.ndarray | None
    fps: float
    predicted: np.ndarray  # bool (N,): True where the model ran, False where interpolated

    def __len__(self) -> int:
        return self.mean.shape[0]


class Predictor:
    """Saliency maps from a DiffSal model (any architecture: the improved DiffSal or a published one) for clips,
    frames and videos.

    Args:
        model: the network (moved to `device`, put in eval mode).
        device: "auto", "cpu", "cuda", "cuda:N" or a torch.device.
        steps: DDIM steps (default: the model's `diffusion.sampling_steps`).
        samples: diffusion samples per frame; > 1 gives a mean map and a per-pixel std (uncertainty).
        eta: DDIM eta (default: the model's; 0 = deterministic given the starting noise).
        seed: chooses the starting noise (see the module docstring).
        batch_size: clips per forward pass (each with its `samples`, drawn in the same pass); None chooses
            `automatic_batch_size`.
        use_audio: feed the sound to an audio-visual model; False feeds silence.
        precision: "fp32", or "bf16" (autocast; fast on GPUs, emulated and slow on CPUs without bf16 units).

    Example::

        predictor = Predictor.from_pretrained("runs/synthetic_tiny/checkpoints/best", device="cpu")
        maps = predictor.predict_video("clip.mp4")   # maps.mean: (N, H, W) float32 in [0, 1]
    """

    def __init__(self, model: DiffSal, *, device: str | torch.device = "auto", steps: int | None = None,
                 samples: int = 1, eta: float | None = None, seed: int = 0, batch_size: int | None = None,
                 use_audio: bool = True, precision: str = "fp32") -> None:
        diffusion = model.config.diffusion
        self.steps = diffusion.sampling_steps if steps is None else int(steps)
        self.eta = diffusion.eta if eta is None else float(eta)
        if not 1 <= self.steps <= diffusion.num_timesteps:
            raise InputError(f"steps must be in [1, {diffusion.num_timesteps}], got {self.steps}")
        if samples < 1:
            raise InputError(f"samples must be >= 1, got {samples}")
        if batch_size is not None and batch_size < 1:
            raise InputError(f"batch size must be >= 1, got {batch_size}")
        if not math.isfinite(self.eta) or self.eta < 0:
            raise InputError(f"eta must be a finite number >= 0, got {self.eta}")
        check_finite_weights(model)
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.samples = int(samples)
        self.seed = int(seed)
        self.batch_size = int(batch_size) if batch_size is not None else automatic_batch_size(model.config, self.device)
        self.use_audio = bool(use_audio)
        self.precision = check_precision(precision)
        self.preprocessing = model.config.preprocessing()
        # Which saved model the maps come from ({"path", "sha256"} of its folder; empty for a model in memory).
        self.model_source = {"path": "", "sha256": ""}

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "auto", **settings) -> Predictor:
        """Load a saved model folder (`model.safetensors` + `config.json`, e.g. ``runs/x/checkpoints/best``).

        Raises:
            InputError (WeightsError, ConfigError): missing folder (or a training run's folder: the message names
                its model folder), no weights, weights that do not fit the config, weights that hold NaN or inf.
        """
        chosen = resolve_device(device)
        predictor = cls(load_model(directory, map_location=chosen), device=chosen, **settings)
        predictor.model_source = {"path": str(Path(directory).resolve()), "sha256": weights_sha256(directory)}
        return predictor

    @property
    def config(self):
        return self.model.config

    @property
    def audio_mode(self) -> str:
        """What the model is fed as sound: "video" (the sound track), "silence" or "none" (video-only model)."""
        if not self.config.use_audio:
            return "none"
        return "video" if self.use_audio else "silence"

    # ------------------------------------------------------------------ clips
    @torch.inference_mode()
    def predict_clip(self, frames: torch.Tensor, audio: torch.Tensor | None = None, *,
                     frame_indices: Sequence[int] | None = None) -> SaliencySample:
        """Maps of the K = `config.frames_out` central frames of a batch of clips, at the model's resolution.

        Args:
            frames: `(B, 3, T, H, W)` or `(3, T, H, W)`, made by the model's frame transform (as `ClipReader`
                with ``config.preprocessing().frames`` makes them).
            audio: what the model's audio transform (``config.preprocessing().audio``) makes of each clip,
                batched: `(B, *shape)`, or `shape` for one clip (DiffSal: the 16 kHz mono waveform centred on
                the clip's centre frame, `(B, num_samples)`); None (or ``use_audio=False``) feeds zeros of that
                shape, DiffSal's silence (`iter_video` feeds the transform's own silence, as the data loader
                does). Must be None for a video-only model.
            frame_indices: one number per clip (its centre frame in a video) that chooses its starting
                noise (default 0 .. B-1).

        Returns:
            `SaliencySample(mean (B, K, H, W) in [0, 1], std (B, K, H, W) or None)`, float32 on the CPU.
        """
        if frames.dim() == 4:
            frames = frames.unsqueeze(0)
            if audio is not None and self.preprocessing.audio is not None \
                    and audio.dim() == len(self.preprocessing.audio.shape):
                audio = audio.unsqueeze(0)
        batch = frames.shape[0]
        indices = list(range(batch)) if frame_indices is None else [int(index) for index in frame_indices]
        if len(indices) != batch:
            raise InputError(f"frame_indices has {len(indices)} entries for {batch} clips")
        return self._predict(frames, self._model_audio(audio, batch), indices)

    @torch.inference_mode()
    def _predict(self, frames: torch.Tensor, model_audio: torch.Tensor | None, indices: list[int]) -> SaliencySample:
        frames = frames.to(self.device, torch.float32)
        with autocast(self.device, self.precision):
            mean, std = self._sample(frames, model_audio, indices)
        return SaliencySample(mean.float().cpu(), std.float().cpu() if std is not None else None)

    def _model_audio(self, audio: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if not self.config.use_audio:
            if audio is not None:
                raise InputError("this is a video-only model (use_audio=false); pass audio=None")
            return None
        if audio is None or not self.use_audio:
            return torch.zeros(batch, *self.preprocessing.audio.shape, device=self.device)
        return audio.to(self.device, torch.float32)

    def _clip_audio(self, track: AudioTrack | None, source: FrameSource, centres: list[int]) -> torch.Tensor | None:
        """The model's audio input for the clips of `source` centred on `centres`: its audio transform applied to
        the sound track, or to no track (silence, exactly as the data loader makes it for a video without sound)
        when there is none or the predictor does not listen; None for a video-only model."""
        transform = self.preprocessing.audio
        if not self.config.use_audio or transform is None:
            return None
        heard = track if self.audio_mode == "video" else None
        fps = float(source.fps)
        audio = torch.stack([transform(heard, centre, source.time_of(centre), fps) for centre in centres])
        return audio.to(self.device, torch.float32)

    def _sample(self, frames: torch.Tensor, audio: torch.Tensor | None,
                frame_indices: list[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`DiffSal.sample` with the starting noise of each clip seeded by (seed, frame index)."""
        samples = self.samples
        maps, height, width = self.config.frames_out, self.config.height, self.config.width
        # Sample-major like Conditioning.repeat: row s * B + b is sample s of clip b.
        generators = [torch.Generator().manual_seed(clip_seed(self.seed, index)) for index in frame_indices]
        noise = torch.stack([randn((samples, maps, height, width), generator=generator) for generator in generators],
                            dim=1)
        step_generator = None
        if self.eta > 0:
            step_generator = torch.Generator().manual_seed(clip_seed(self.seed + STEP_NOISE_OFFSET, frame_indices[0]))
        result = self.model.sample(frames, audio, steps=self.steps, n_samples=samples, eta=self.eta,
                                   generator=step_generator, noise=noise.reshape(-1, maps, height, width))
        return result.mean, result.std

    # ------------------------------------------------------------------ videos
    def iter_video(self, video: str | Path | FrameSource, audio: str | Path | AudioTrack | None = None, *,
                   stride: int = 1, progress: Progress | None = None) -> Iterator[FrameMap]:
        """Maps of every frame of `video`, in order, at the video's own frame size.

        Args:
            video: a video file, or any `FrameSource` (e.g. a `FrameFolder`).
            audio: the sound: a media file, an `AudioTrack` (mono, at the rate the model's audio transform
                reads: 16 kHz for DiffSal; any rate for one that reads the native rate), or None, which reads
                the sound of `video` when it is a file (silence for a frame source).
            stride: predict every `stride`-th frame (and the last) and interpolate linearly in between;
                a K-frame model predicts K frames every `stride` * K frames.
            progress: called with (frames done, total) after each batch.
        """
        source, owned = (VideoReader(video), True) if isinstance(video, (str, Path)) else (video, False)
        try:
            track = self._audio_track(video, audio)
            yield from self._iter_source(source, track, stride, progress)
        finally:
            if owned:
                source.close()

    def predict_video(self, video: str | Path | FrameSource, audio: str | Path | AudioTrack | None = None, *,
                      stride: int = 1, progress: Progress | None = None) -> VideoMaps:
        """All maps of `video` in memory (`iter_video` streams them instead; prefer it for long videos)."""
        means, stds, predicted = [], [], []
        fps = 0.0
        source, owned = (VideoReader(video), True) if isinstance(video, (str, Path)) else (video, False)
        try:
            fps = float(source.fps)
            for frame_map in self.iter_video(source, self._audio_track(video, audio), stride=stride, progress=progress):
                means.append(frame_map.mean)
                predicted.append(frame_map.predicted)
                if frame_map.std is not None:
                    stds.append(frame_map.std)
        finally:
            if owned:
                source.close()
        return VideoMaps(np.stack(means), np.stack(stds) if stds else None, fps, np.array(predicted, dtype=bool))

    def _audio_track(self, video, audio) -> AudioTrack | None:
        if self.audio_mode != "video" or self.preprocessing.audio is None:
            return None
        rate = self.preprocessing.audio.sample_rate_hz  # None: the track's native rate
        if isinstance(audio, AudioTrack):
            if rate is not None and audio.sample_rate_hz != rate:
                raise InputError(f"audio track is at {audio.sample_rate_hz} Hz; the model needs "
                                 f"{rate} Hz (read_audio resamples)")
            return audio
        path = audio if audio is not None else (video if isinstance(video, (str, Path)) else None)
        if path is None:
            return None
        return read_audio(path, rate, mono=True)

    def _iter_source(self, source: FrameSource, track: AudioTrack | None, stride: int,
                     progress: Progress | None) -> Iterator[FrameMap]:
        config = self.config
        reader = ClipReader(source, config.num_frames, self.preprocessing.frames, "stretch")
        total = source.num_frames
        plan = plan_clips(total, config.frames_out, stride)
        batches = [plan[start : start + self.batch_size] for start in range(0, len(plan), self.batch_size)]
        previous: tuple[int, torch.Tensor, torch.Tensor | None] | None = None
        for blocks, frames, audio in read_ahead(self._read_batches(reader, source, track, batches)):
            centres = [block.centre for block in blocks]
            mean, std = self._predict(frames, audio, centres)
            _check_finite_output(mean, std, centres)
            for position, block in enumerate(blocks):
                for index in block.frames:
                    slot = index - block.first
                    current = (index, mean[position, slot], std[position, slot] if std is not None else None)
                    if previous is not None:
                        yield from self._between(previous, current, reader)
                    yield self._frame_map(reader, index, current[1], current[2], predicted=True)
                    previous = current
            if progress is not None:
                progress(blocks[-1].frames[-1] + 1, total)

    def _read_batches(self, reader: ClipReader, source: FrameSource, track: AudioTrack | None,
                      batches: list[list[ClipBlock]]) -> Iterator[tuple[list[ClipBlock], torch.Tensor, torch.Tensor | None]]:
        """The clips and audio inputs of each batch, as the model takes them (run ahead of the model)."""
        for blocks in batches:
            centres = [block.centre for block in blocks]
            frames = torch.stack([reader.clip(centre).frames for centre in centres])
            yield blocks, frames, self._clip_audio(track, source, centres)

    def _between(self, first, second, reader: ClipReader) -> Iterator[FrameMap]:
        """Frames strictly between two predicted frames, linearly interpolated (mean and std alike)."""
        first_index, first_mean, first_std = first
        second_index, second_mean, second_std = second
        span = second_index - first_index
        for index in range(first_index + 1, second_index):
            weight = (index - first_index) / span
            mean = torch.lerp(first_mean, second_mean, weight)
            std = torch.lerp(first_std, second_std, weight) if first_std is not None else None
            yield self._frame_map(reader, index, mean, std, predicted=False)

    @staticmethod
    def _frame_map(reader: ClipReader, index: int, mean: torch.Tensor, std: torch.Tensor | None,
                   predicted: bool) -> FrameMap:
        to_source = reader.geometry.to_source
        mean_source = to_source(mean).clamp_(0.0, 1.0).numpy().astype(np.float32, copy=False)
        std_source = to_source(std).clamp_(min=0.0).numpy().astype(np.float32, copy=False) if std is not None else None
        return FrameMap(index, mean_source, std_source, predicted)



def _check_finite_output(mean: torch.Tensor, std: torch.Tensor | None, centres: list[int]) -> None:
    """NonFiniteOutputError naming the first clip (by its centre frame, 1-based) whose maps are not finite."""
    finite = torch.isfinite(mean).flatten(1).all(1)
    if std is not None:
        finite &= torch.isfinite(std).flatten(1).all(1)
    if not bool(finite.all()):
        centre = centres[int((~finite).nonzero()[0])]
        raise NonFiniteOutputError(f"the model's output is NaN or inf for the clip centred on frame {centre + 1} "
                                   "(1-based): it gives no meaningful map")
