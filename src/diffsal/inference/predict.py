"""`predict`: the library call behind ``diffsal predict`` (and the demo's and the studies' predictions).

INPUT (a video file, a folder of videos, a STAViS split or a DHF1K part) and a model folder in, the maps of
every video in OUT: the inputs are resolved and OUT checked before the model is loaded, each torchrun rank
predicts its shard, and the `RunReport` says what is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from diffsal.data.dhf1k import is_dhf1k_root
from diffsal.predictions.folder import earlier_keys
from diffsal.inference.predictor import Predictor
from diffsal.inference.runner import OutputOptions, PredictionRun, RunReport
from diffsal.inference.sources import InputSpec, VideoInput, keep_earlier_keys, resolve_inputs
from diffsal.io.paths import check_output_folder
from diffsal.runtime import TorchrunEnv


@dataclass(frozen=True)
class SamplingSettings:
    """How the maps are drawn (the `Predictor`'s settings; None: the model's own)."""

    steps: int | None = None
    samples: int = 1
    eta: float | None = None
    seed: int = 0
    stride: int = 1  # predict every k-th frame (and the last), interpolate in between
    use_audio: bool = True  # False: silence for an audio-visual model
    audio_optional: bool = False  # a dataset video whose wav is missing is predicted on silence
    batch_size: int | None = None  # None: chosen for the device
    precision: str = "fp32"
    device: str = "auto"


@dataclass
class PredictResult:
    """A finished `predict`: what was resolved, the predictor used and each video's outcome."""

    kind: str  # "file", "folder", "dataset" or "DHF1K dataset"
    videos: list[VideoInput]
    out: Path
    predictor: Predictor
    report: RunReport
    notes: list[str] = field(default_factory=list)  # where an output does not go by its file stem, ...

    @property
    def exit_code(self) -> int:
        return self.report.exit_code


def predict(source: str | Path, model: str | Path, out: str | Path, *, spec: InputSpec = InputSpec(),
            sampling: SamplingSettings = SamplingSettings(), outputs: OutputOptions = OutputOptions(),
            overwrite: bool = False, place: TorchrunEnv | None = None, progress: bool = False, debug: bool = False,
            on_start=None) -> PredictResult:
    """Predict `source` with the model folder `model` into `out` (complete outputs are kept unless `overwrite`).

    `on_start(result)` is called once the model is loaded, before the first video (for a banner).

    Raises:
        InputError: bad input, found before anything is written (see `resolve_inputs`, `Predictor`, and
            `check_output_folder`).
    """
    place = TorchrunEnv.from_env() if place is None else place
    kind, videos = resolve_inputs(source, spec, map_format=outputs.map_format)
    out_root = check_output_folder(out)  # made only when the first file is written
    if kind in ("file", "folder"):
        videos = keep_earlier_keys(videos, earlier_keys(out_root))
    predictor = Predictor.from_pretrained(model, device=place.device(sampling.device), steps=sampling.steps,
                                          samples=sampling.samples, eta=sampling.eta, seed=sampling.seed,
                                          batch_size=sampling.batch_size, use_audio=sampling.use_audio,
                                          precision=sampling.precision)
    run = PredictionRun(predictor, videos, out_root, stride=sampling.stride, options=outputs, overwrite=overwrite,
                        audio_optional=sampling.audio_optional, place=place, progress=progress, debug=debug)
    result = PredictResult(kind, videos, out_root, predictor, RunReport(), _notes(kind, videos, Path(source), out_root))
    if on_start is not None:
        on_start(result)
    result.report = run.run()
    return result


def _notes(kind: str, videos: list[VideoInput], source: Path, out_root: Path) -> list[str]:
    """Where a video's output does not go by its file stem, and a DHF1K video folder given instead of its root."""
    if kind not in ("file", "folder"):
        return []
    notes = [f"{video.frames.name} -> {out_root / video.key}" for video in videos if video.key != video.frames.stem]
    if kind == "folder" and source.name == "video" and is_dhf1k_root(source.resolve().parent):
        notes.append(f"{source} is the video folder of a DHF1K root; predict {source.resolve().parent} to write the "
                     "layout `diffsal evaluate` reads (OUT/DHF1K/<NNNN>/)")
    return notes
