"""Prediction with a trained DiffSal: the `Predictor` API and the pieces of `diffsal predict`.

- `predictor`: `Predictor` (clips and videos -> maps), per-clip seeded noise, edge-padded clips.
- `clip_plan`: which clips predict which frames (K maps per clip); `precision`: fp32 or bf16 autocast.
- `sources`: INPUT (file, folder of videos, STAViS dataset split) -> the videos to predict.
- `outputs`: one video's output folder (PNG/npy maps, summary.json), complete or absent.
- `overlay` / `render`: colour-mapped overlays, panels and the videos made of them, with sound.
- `runner`: a resumable run over many videos that goes on past failures; `sharding`: torchrun shards.
"""

from diffsal.inference.clip_plan import ClipBlock, plan_clips, prediction_indices
from diffsal.predictions.folder import VideoOutput
from diffsal.inference.precision import PRECISIONS
from diffsal.inference.predictor import FrameMap, Predictor, VideoMaps, clip_seed
from diffsal.inference.runner import OutputOptions, PredictionRun, RunReport, VideoOutcome
from diffsal.inference.sources import InputSpec, VideoInput, resolve_inputs

__all__ = [
    "PRECISIONS",
    "ClipBlock",
    "FrameMap",
    "InputSpec",
    "OutputOptions",
    "PredictionRun",
    "Predictor",
    "RunReport",
    "VideoInput",
    "VideoMaps",
    "VideoOutcome",
    "VideoOutput",
    "clip_seed",
    "plan_clips",
    "prediction_indices",
    "resolve_inputs",
]
