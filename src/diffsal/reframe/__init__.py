"""Auto-reframing: per-frame saliency maps to a smooth crop-window path of another aspect ratio.

`reframe(video, out, ReframeSettings("9:16"), maps=... | predictor=...)` is the whole job behind `diffsal reframe`
(maps, shots, plan, the cropped video and ``crop_path.json``). `plan_crops` is the computation (window size,
per-frame optimum, shots planned one by one as a static window or an L1-optimal pan); `shot_boundaries` finds
the shots from the frames.
"""

from __future__ import annotations

from diffsal.reframe.path import DEFAULT_WEIGHTS, PathSolverError, smooth_path
from diffsal.reframe.plan import (DEFAULT_MAX_DEVIATION_FRACTION, DEFAULT_STATIC_FRACTION, FORMAT_NAME,
                                  FORMAT_VERSION, MOTION_MODES, CropPlan, path_quality, plan_crops)
from diffsal.reframe.shots import (FrameSignature, cuts_from_differences, frame_differences, frame_signature,
                                   shot_boundaries, shots_from_boundaries, signature_difference)
from diffsal.reframe.window import best_positions, crop_size, mass_inside, parse_aspect
from diffsal.reframe.run import ReframeResult, ReframeSettings, reframe  # noqa: E402 (after the pieces it uses)

__all__ = [
    "DEFAULT_MAX_DEVIATION_FRACTION", "DEFAULT_STATIC_FRACTION", "DEFAULT_WEIGHTS", "FORMAT_NAME",
    "FORMAT_VERSION", "MOTION_MODES", "CropPlan", "ReframeResult", "ReframeSettings", "reframe", "FrameSignature", "PathSolverError", "best_positions",
    "crop_size", "cuts_from_differences", "frame_differences", "frame_signature", "mass_inside",
    "parse_aspect", "path_quality", "plan_crops", "shot_boundaries", "shots_from_boundaries",
    "signature_difference", "smooth_path",
]
