"""The synthetic audio-visual saliency benchmark: scenes where only the sound tells which object
is looked at (docs/synthetic.md). `diffsal synth` is the command-line front end."""

from diffsal.synth.benchmark import (
    DATABASE,
    BenchmarkSummary,
    SynthConfig,
    SyntheticVideo,
    generate_benchmark,
    generate_video,
    make_splits,
)

__all__ = [
    "DATABASE",
    "BenchmarkSummary",
    "SynthConfig",
    "SyntheticVideo",
    "generate_benchmark",
    "generate_video",
    "make_splits",
]
