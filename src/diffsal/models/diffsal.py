"""DiffSal: video + audio encoders, Saliency-UNet and the diffusion process, saved as safetensors + JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from diffsal.diffusion import DataScaling, DDIMSampler, GaussianDiffusion, mean_and_std, randn
from diffsal.errors import ConfigError, InputError
from diffsal.models.audio import AudioEncoder
from diffsal.models.config import DiffSalConfig
from diffsal.models.preprocessing import Preprocessing
from diffsal.models.saliency_unet import SaliencyUNet
from diffsal.models.saved_model import CONFIG_NAME, WEIGHTS_NAME, read_saved_document, write_saved_model
from diffsal.models.video import VideoEncoder
from diffsal.models.weights import LoadReport, WeightsError, load_into, read_state_dict

ARCHITECTURE = "diffsal"


class Conditioning(NamedTuple):
    """Encoder outputs for a batch of clips: computed once, reused by every denoising step."""

    video_maps: list[torch.Tensor]  # four channels-last (B, T', H_s, W_s, C_s)
    audio: torch.Tensor | None  # (B, C_a, E, h, w)

    def repeat(self, times: int) -> Conditioning:
        """Tile along the batch (sample-major: index s * B + b) for several samples per input (one copy per
        `sample` call, not per step)."""
        if times == 1:
            return self
        tile = lambda x: x.repeat(times, *([1] * (x.dim() - 1)))  # noqa: E731
        return Conditioning([tile(v) for v in self.video_maps], tile(self.audio) if self.audio is not None else None)


class SaliencySample(NamedTuple):
    """`mean` (B, K, H, W) in [0, 1]; `std` (B, K, H, W), the spread over samples, or None for one sample.

    K = `config.frames_out`: channel k is the map of clip slot `config.target_slots[k]`.
    """

    mean: torch.Tensor
    std: torch.Tensor | None


class DiffSal(nn.Module):
    """Audio-visual saliency prediction by conditional diffusion (Xiong et al., CVPR 2024).

    Inputs, as `preprocessing` makes them: `frames` (B, 3, T, H, W) normalised with the Kinetics mean/std;
    `audio` (B, num_samples) mono 16 kHz waveform centred on the clip's centre frame (slot T // 2,
    `config.audio_window_s` seconds), or None.
    Maps: (B, K, H, W) in [0, 1] for the K = `config.frames_out` central frames (`config.target_slots`;
    K = 1: the centre frame). The diffusion runs over the K maps jointly.
    """

    def __init__(self, config: DiffSalConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        image_size = (config.height, config.width)
        self.video_encoder = VideoEncoder(config.video, config.num_frames, image_size)
        self.audio_encoder = AudioEncoder(config.audio) if config.use_audio else None
        self.saliency_unet = SaliencyUNet(
            config.unet,
            tuple(config.video.channels),
            num_video_slots=config.feature_sizes[0][1],
            audio_channels=self.audio_encoder.out_channels if self.audio_encoder is not None else None,
            maps=config.frames_out,
        )
        diffusion = config.diffusion
        self.diffusion = GaussianDiffusion.cosine(diffusion.num_timesteps, diffusion.cosine_offset)
        self.sampler = DDIMSampler(self.diffusion, diffusion.timestep_spacing)
        self.scaling = DataScaling(diffusion.map_range, diffusion.signal_scale)

    @classmethod
    def from_preset(cls, name: str) -> DiffSal:
        return cls(DiffSalConfig.preset(name))

    @property
    def preprocessing(self) -> Preprocessing:
        """How this model's inputs are made (frame transform, audio transform): ``config.preprocessing()``."""
        return self.config.preprocessing()

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, frames: torch.Tensor, audio: torch.Tensor | None) -> None:
        config = self.config
        expected = (3, config.num_frames, config.height, config.width)
        if frames.dim() != 5 or tuple(frames.shape[1:]) != expected:
            raise InputError(f"frames must be (B, {', '.join(map(str, expected))}), got {tuple(frames.shape)}")
        if audio is None:
            return
        if self.audio_encoder is None:
            raise InputError("this is a video-only model (use_audio=false); pass audio=None")
        if audio.dim() != 2 or audio.shape[0] != frames.shape[0]:
            raise InputError(f"audio must be a waveform (B, num_samples) with B={frames.shape[0]}, got {tuple(audio.shape)}")
        if audio.shape[1] < config.audio.num_samples:
            raise InputError(f"audio has {audio.shape[1]} samples; the model needs {config.audio.num_samples} "
                             f"({config.audio_window_s:.2f} s at {config.sample_rate_hz} Hz) centred on the target frame")

    # ------------------------------------------------------------------ network
    def encode(self, frames: torch.Tensor, audio: torch.Tensor | None = None) -> Conditioning:
        """Run the encoders once: video maps (channels-last views of the encoder's tokens) and audio features."""
        self._check_inputs(frames, audio)
        video_maps = [video.permute(0, 2, 3, 4, 1) for video in self.video_encoder(frames)]
        audio_features = self.audio_encoder(audio) if audio is not None else None
        return Conditioning(video_maps, audio_features)

    def denoise(self, noisy: torch.Tensor, timesteps: torch.Tensor, conditioning: Conditioning) -> torch.Tensor:
        """One Saliency-UNet evaluation: x_t (diffusion space) -> predicted x0 (diffusion space)."""
        saliency = self.saliency_unet(noisy, timesteps, conditioning.video_maps, conditioning.audio)
        return self.scaling.encode(saliency)

    def forward(self, frames: torch.Tensor, audio: torch.Tensor | None, noisy: torch.Tensor,
                timesteps: torch.Tensor) -> torch.Tensor:
        """Predicted clean maps (B, K, H, W) in [0, 1] from the noisy maps `noisy` (diffusion space) at `timesteps`."""
        conditioning = self.encode(frames, audio)
        return self.saliency_unet(noisy, timesteps, conditioning.video_maps, conditioning.audio)

    # ------------------------------------------------------------------ training
    def training_loss(self, frames: torch.Tensor, audio: torch.Tensor | None, target: torch.Tensor,
                      generator: torch.Generator | None = None, timesteps: torch.Tensor | None = None,
                      noise: torch.Tensor | None = None) -> torch.Tensor:
        """x0-prediction MSE over the K maps at a uniformly drawn t per sample; `target` (B, K, H, W) in [0, 1].

        `timesteps` (B,) and `noise` (B, K, H, W) may be given instead of drawn from `generator` (the
        trainer draws them for the global batch so that N processes match one process exactly).
        """
        batch = frames.shape[0]
        expected = (batch, self.config.frames_out, self.config.height, self.config.width)
        if tuple(target.shape) != expected:
            raise InputError(f"target must be {expected}, got {tuple(target.shape)}")
        conditioning = self.encode(frames, audio)
        x0 = self.scaling.encode(target.float())
        if timesteps is None:
            timesteps = self.diffusion.sample_timesteps(batch, device=frames.device, generator=generator)
        if noise is None:
            noise = randn(tuple(x0.shape), generator=generator, device=x0.device)
        noisy = self.diffusion.q_sample(x0, timesteps, noise)
        predicted = self.denoise(noisy, timesteps, conditioning)
        return self.diffusion.x0_loss(predicted, x0, reduction=self.config.diffusion.loss_reduction)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def sample(self, frames: torch.Tensor, audio: torch.Tensor | None = None, *, steps: int | None = None,
               n_samples: int = 1, eta: float | None = None, generator: torch.Generator | None = None,
               noise: torch.Tensor | None = None) -> SaliencySample:
        """DDIM from pure noise at t = T-1. Encoders run once; only the Saliency-UNet runs per step.

        With `n_samples` > 1 the samples are drawn in one batch; the result is their mean and per-pixel std.
        `noise` (n_samples * B, K, H, W), sample-major (row s * B + b), fixes the starting noise.
        """
        config = self.config.diffusion
        steps = config.sampling_steps if steps is None else steps
        eta = config.eta if eta is None else eta
        if n_samples < 1:
            raise InputError(f"n_samples must be >= 1, got {n_samples}")
        batch = frames.shape[0]
        conditioning = self.encode(frames, audio).repeat(n_samples)

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.denoise(x, t, conditioning).float()

        shape = (n_samples * batch, self.config.frames_out, self.config.height, self.config.width)
        x0 = self.sampler.sample(denoise, shape, steps=steps, eta=eta, generator=generator, device=frames.device,
                                 noise=noise)
        maps = self.scaling.decode(x0).view(n_samples, batch, *shape[1:])
        mean, std = mean_and_std(maps)
        return SaliencySample(mean, std)

    # ------------------------------------------------------------------ weights
    def load_pretrained_encoders(self, video: str | Path | None = None,
                                 audio: str | Path | None = None) -> dict[str, LoadReport]:
        """Load the Kinetics-400 MViTv2-S file into the video encoder and/or the VGGish file into the trunk."""
        reports = {}
        if video is not None:
            reports["video"] = self.video_encoder.load_kinetics_weights(video)
        if audio is not None:
            if self.audio_encoder is None:
                raise InputError("this is a video-only model (use_audio=false); it has no audio encoder")
            reports["audio"] = self.audio_encoder.load_vggish_weights(audio)
        return reports

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write `model.safetensors` (every tensor inference uses, nothing else) and `config.json`."""
        return write_saved_model(self, directory, {
            "architecture": ARCHITECTURE,
            "config": self.config.to_dict(),
            "audio_trunk_pretrained": bool(self.audio_encoder is not None and self.audio_encoder.trunk_pretrained),
        })

    @classmethod
    def read_config(cls, directory: str | Path) -> tuple[DiffSalConfig, dict[str, Any]]:
        """The model config of a saved model directory and the whole `config.json` document."""
        document = read_saved_document(directory)
        path = Path(directory) / CONFIG_NAME
        if document["architecture"] != ARCHITECTURE:
            raise ConfigError(f"{path}: holds a {document['architecture']!r} model, not the improved DiffSal "
                              "(load it with diffsal.models.load_model)")
        try:
            config = DiffSalConfig.from_dict(document["config"])
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
        return config, document

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu") -> DiffSal:
        """Build from `config.json` and load `model.safetensors`; mismatched weights raise `WeightsError`."""
        config, document = cls.read_config(directory)
        weights = Path(directory) / WEIGHTS_NAME
        if not weights.is_file():
            raise WeightsError(f"{weights} not found")
        state = read_state_dict(weights, device=map_location)
        model = cls(config)
        model.to(map_location)
        load_into(model, state, source=str(weights))
        if model.audio_encoder is not None and document.get("audio_trunk_pretrained"):
            model.audio_encoder.trunk_pretrained = True
            if config.audio.freeze_pretrained_trunk:
                model.audio_encoder.freeze_trunk()
        model.eval()
        return model
