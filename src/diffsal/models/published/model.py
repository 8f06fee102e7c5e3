"""The published DiffSal model: video encoder, audio encoder, Saliency-UNet and diffusion, with DiffSal's API.

It exists to run the authors' released checkpoints (`diffsal convert-published best.pth`) and reproduces their
network to float rounding. Inputs are those its preprocessing (`config.preprocessing()`) makes: `frames`
(B, 3, 16, 224, 384) and, for the audio-visual kind, `audio` (B, 1, 9, 112, 192) log-mel examples.
Maps: (B, 1, 224, 384) in [0, 1] for the clip's 9th frame. Sampling is DDIM from pure noise with the published
leading timesteps (1 step: t = 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffsal.diffusion import (
    DataScaling,
    DDIMSampler,
    GaussianDiffusion,
    mean_and_std,
    randn,
)
from diffsal.errors import ConfigError, InputError
from diffsal.models.diffsal import Conditioning, SaliencySample
from diffsal.models.published.audio_encoder import PublishedAudioEncoder
from diffsal.models.published.config import PublishedConfig
from diffsal.models.published.saliency_unet import PublishedSaliencyUNet
from diffsal.models.saved_model import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    read_saved_document,
    write_saved_model,
)
from diffsal.models.video import VideoEncoder
from diffsal.models.weights import WeightsError, load_into, read_state_dict


class PublishedDiffSal(nn.Module):
    """The released DiffSal network (`architecture` "published-av" or "published-visual")."""

    def __init__(self, config: PublishedConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.video_encoder = VideoEncoder(config.video, config.num_frames, (config.height, config.width))
        self.audio_encoder = PublishedAudioEncoder(config.audio) if config.use_audio else None
        audio_channels = self.audio_encoder.out_channels if self.audio_encoder is not None else None
        self.saliency_unet = PublishedSaliencyUNet(config, audio_channels)
        diffusion = config.diffusion
        self.diffusion = GaussianDiffusion.cosine(diffusion.num_timesteps, diffusion.cosine_offset)
        self.sampler = DDIMSampler(self.diffusion, diffusion.timestep_spacing)
        self.scaling = DataScaling(diffusion.map_range, diffusion.signal_scale)

    @classmethod
    def from_preset(cls, name: str) -> PublishedDiffSal:
        return cls(PublishedConfig.preset(name))

    @property
    def architecture(self) -> str:
        return self.config.architecture

    @property
    def preprocessing(self):
        return self.config.preprocessing()

    # ------------------------------------------------------------------ network
    def _check_inputs(self, frames: torch.Tensor, audio: torch.Tensor | None) -> None:
        config = self.config
        expected = (3, config.num_frames, config.height, config.width)
        if frames.dim() != 5 or tuple(frames.shape[1:]) != expected:
            raise InputError(f"frames must be (B, {', '.join(map(str, expected))}), got {tuple(frames.shape)}")
        if audio is None:
            if self.audio_encoder is not None:
                raise InputError("the published audio-visual model needs its audio input (B, 1, 9, h, w); "
                                 "silence is the log-mel examples of a zero waveform")
            return
        if self.audio_encoder is None:
            raise InputError("this is the published visual-only model; pass audio=None")
        examples = (1, config.audio.num_examples, *config.audio.example_size)
        if audio.dim() != 5 or tuple(audio.shape[1:]) != examples or audio.shape[0] != frames.shape[0]:
            raise InputError(f"audio must be log-mel examples (B, {', '.join(map(str, examples))}) with "
                             f"B={frames.shape[0]}, got {tuple(audio.shape)}")

    def encode(self, frames: torch.Tensor, audio: torch.Tensor | None = None) -> Conditioning:
        """Run the encoders once: the four video maps `(B, C_s, T', h_s, w_s)`, finest first, and the audio
        features `(B, C_a, 9, h, w)` (or None)."""
        self._check_inputs(frames, audio)
        video_maps = self.video_encoder(frames)
        audio_features = self.audio_encoder(audio) if audio is not None else None
        return Conditioning(video_maps, audio_features)

    def denoise(self, noisy: torch.Tensor, timesteps: torch.Tensor, conditioning: Conditioning) -> torch.Tensor:
        """One Saliency-UNet evaluation: x_t -> predicted x0 (maps at scale 1, so data space = diffusion space)."""
        saliency = self.saliency_unet(noisy, timesteps, list(conditioning.video_maps), conditioning.audio)
        return self.scaling.encode(saliency)

    def forward(self, frames: torch.Tensor, audio: torch.Tensor | None, noisy: torch.Tensor,
                timesteps: torch.Tensor) -> torch.Tensor:
        conditioning = self.encode(frames, audio)
        return self.saliency_unet(noisy, timesteps, list(conditioning.video_maps), conditioning.audio)

    # ------------------------------------------------------------------ training
    def training_loss(self, frames: torch.Tensor, audio: torch.Tensor | None, target: torch.Tensor,
                      generator: torch.Generator | None = None, timesteps: torch.Tensor | None = None,
                      noise: torch.Tensor | None = None) -> torch.Tensor:
        """x0-prediction MSE at a uniformly drawn t per sample, as the published trainer computes it (without
        its dequantisation noise on the target); `target` (B, 1, H, W) in [0, 1]."""
        batch = frames.shape[0]
        expected = (batch, 1, self.config.height, self.config.width)
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
        """DDIM from pure noise over the config's timesteps (leading: 1 step = [0]); see `DiffSal.sample`."""
        config = self.config.diffusion
        steps = config.sampling_steps if steps is None else steps
        eta = config.eta if eta is None else eta
        if n_samples < 1:
            raise InputError(f"n_samples must be >= 1, got {n_samples}")
        batch = frames.shape[0]
        conditioning = self.encode(frames, audio).repeat(n_samples)

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.denoise(x, t, conditioning).float()

        shape = (n_samples * batch, 1, self.config.height, self.config.width)
        x0 = self.sampler.sample(denoise, shape, steps=steps, eta=eta, generator=generator, device=frames.device,
                                 noise=noise)
        maps = self.scaling.decode(x0).view(n_samples, batch, *shape[1:])
        mean, std = mean_and_std(maps)
        return SaliencySample(mean, std)

    # ------------------------------------------------------------------ weights
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write `model.safetensors` and `config.json` (with `"architecture"`)."""
        return write_saved_model(self, directory, {"architecture": self.architecture,
                                                   "config": self.config.to_dict()})

    @classmethod
    def read_config(cls, directory: str | Path) -> tuple[PublishedConfig, dict[str, Any]]:
        document = read_saved_document(directory)
        path = Path(directory) / CONFIG_NAME
        try:
            config = PublishedConfig.from_dict(document["config"])
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
        if config.architecture != document["architecture"]:
            raise ConfigError(f"{path}: 'architecture' {document['architecture']!r} differs from the config's "
                              f"{config.architecture!r}")
        return config, document

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu") -> PublishedDiffSal:
        config, _ = cls.read_config(directory)
        weights = Path(directory) / WEIGHTS_NAME
        if not weights.is_file():
            raise WeightsError(f"{weights} not found")
        model = cls(config)
        model.to(map_location)
        load_into(model, read_state_dict(weights, device=map_location), source=str(weights))
        model.eval()
        return model
