"""The DiffSal networks: video encoder, audio encoder, Saliency-UNet, and the model that ties them together."""

from diffsal.models.config import (
    AudioEncoderConfig,
    DiffSalConfig,
    DiffusionConfig,
    SaliencyUNetConfig,
    VideoEncoderConfig,
)
from diffsal.models.diffsal import DiffSal
from diffsal.models.saliency_diffusion import Conditioning, SaliencySample
from diffsal.models.weights import LoadReport, WeightsError

__all__ = [
    "AudioEncoderConfig",
    "Conditioning",
    "DiffSal",
    "DiffSalConfig",
    "DiffusionConfig",
    "LoadReport",
    "SaliencySample",
    "SaliencyUNetConfig",
    "VideoEncoderConfig",
    "WeightsError",
]
