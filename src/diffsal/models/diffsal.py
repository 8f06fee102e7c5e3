"""DiffSal: video + audio encoders, Saliency-UNet and the diffusion process, saved as safetensors + JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from diffsal.errors import InputError
from diffsal.models.audio import AudioEncoder
from diffsal.models.config import DiffSalConfig
from diffsal.models.saliency_diffusion import (
    Conditioning,
    SaliencyDiffusion,
)
from diffsal.models.saliency_unet import SaliencyUNet
from diffsal.models.saved_model import SavedModel
from diffsal.models.video import VideoEncoder
from diffsal.models.weights import LoadReport

class DiffSal(SavedModel, SaliencyDiffusion):
    """Audio-visual saliency prediction by conditional diffusion (Xiong et al., CVPR 2024).

    Inputs, as `preprocessing` makes them: `frames` (B, 3, T, H, W) normalised with the Kinetics mean/std;
    `audio` (B, num_samples) mono 16 kHz waveform centred on the clip's centre frame (slot T // 2,
    `config.audio_window_s` seconds), or None.
    Maps: (B, K, H, W) in [0, 1] for the K = `config.frames_out` central frames (`config.target_slots`;
    K = 1: the centre frame). The diffusion runs over the K maps jointly.
    """

    config_class = DiffSalConfig
    description = "the improved DiffSal"

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
        self.init_diffusion(config.diffusion)

    @classmethod
    def from_preset(cls, name: str) -> DiffSal:
        return cls(DiffSalConfig.preset(name))

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, frames: torch.Tensor, audio: torch.Tensor | None) -> None:
        config = self.config
        self.check_frames(frames)
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

    def saved_extras(self) -> dict[str, Any]:
        return {"audio_trunk_pretrained": bool(self.audio_encoder is not None and self.audio_encoder.trunk_pretrained)}

    def restore_extras(self, document: dict[str, Any]) -> None:
        """A trunk loaded from VGGish stays marked as such (and frozen when the config says so)."""
        if self.audio_encoder is not None and document.get("audio_trunk_pretrained"):
            self.audio_encoder.trunk_pretrained = True
            if self.config.audio.freeze_pretrained_trunk:
                self.audio_encoder.freeze_trunk()
