"""Evaluation on saliency benchmarks (STAViS and DHF1K layouts) under a named protocol (default: STAViS's)."""

from diffsal.evaluation.aggregate import DatabaseResult, VideoResult, aggregate
from diffsal.evaluation.center_prior import center_prior
from diffsal.evaluation.layouts import Benchmark, EvaluationUnit, GroundTruthVideo, detect_layout, load_benchmark
from diffsal.evaluation.other_maps import SAUC_VARIANTS, OtherMaps, VideoFixations, load_video_fixations
from diffsal.evaluation.predictions import (CENTER_PRIOR, NAMING_PRESETS, CenterPriorPredictions, FolderPredictions,
                                            prediction_source, read_prediction)
from diffsal.evaluation.protocol import PROTOCOLS, STAVIS, STRICT, Protocol
from diffsal.evaluation.report import markdown_table, notes, write_results
from diffsal.evaluation.runner import EvaluationResult, EvaluationSettings, evaluate

__all__ = [
    "CENTER_PRIOR", "NAMING_PRESETS", "PROTOCOLS", "SAUC_VARIANTS", "STAVIS", "STRICT", "Benchmark",
    "CenterPriorPredictions", "DatabaseResult", "Protocol",
    "EvaluationResult", "EvaluationSettings", "EvaluationUnit", "FolderPredictions", "GroundTruthVideo", "OtherMaps",
    "VideoFixations", "VideoResult", "aggregate", "center_prior", "detect_layout", "evaluate", "load_benchmark",
    "load_video_fixations", "markdown_table", "notes", "prediction_source", "read_prediction", "write_results",
]
