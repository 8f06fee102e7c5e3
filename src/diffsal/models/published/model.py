"""The published DiffSal model: video encoder, audio encoder, Saliency-UNet and diffusion, with DiffSal's API.

It exists to run the authors' released checkpoints (`diffsal convert-published best.pth`) and reproduces their
network to float rounding. Inputs are those its preprocessing (`config.preprocessing()`) makes: `frames`
(B, 3, 16, 224, 384) and, for the audio-visual kind, `audio` (B, 1, 9, 112, 192) log-mel examples.
Maps: (B, 1, 224, 384) in [0, 1] for the clip's 9th frame. Sampling is DDIM from pure noise with the published
leading timesteps (1 step: t = 0).
"""

from __future__ import annotations


import torch

from diffsal.errors import InputError
from diffsal.models.published.audio_encoder import PublishedAudioEncoder
from diffsal.models.published.config import PublishedConfig
from diffsal.models.published.saliency_unet import PublishedSaliencyUNet
from diffsal.models.saliency_diffusion import Conditioning, SaliencyDiffusion
from diffsal.models.saved_model import SavedModel
from diffsal.models.video import VideoEncoder


class PublishedDiffSal(SavedModel, SaliencyDiffusion):
    """The released DiffSal network (`architecture` "published-av" or "published-visual")."""

    config_class = PublishedConfig
    description = "a published model"

    def __init__(self, config: PublishedConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.video_encoder = VideoEncoder(config.video, config.num_frames, (config.height, config.width))
        self.audio_encoder = PublishedAudioEncoder(config.audio) if config.use_audio else None
        audio_channels = self.audio_encoder.out_channels if self.audio_encoder is not None else None
        self.saliency_unet = PublishedSaliencyUNet(config, audio_channels)
        self.init_diffusion(config.diffusion)

    @classmethod
    def from_preset(cls, name: str) -> PublishedDiffSal:
        return cls(PublishedConfig.preset(name))

    # ------------------------------------------------------------------ network
    def _check_inputs(self, frames: torch.Tensor, audio: torch.Tensor | None) -> None:
        config = self.config
        self.check_frames(frames)
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
