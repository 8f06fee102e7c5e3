"""`score`: the library call behind ``diffsal evaluate`` (and the demo's and the studies' scores).

DATA (a STAViS, DHF1K or challenge root) and a prediction folder (or the centre prior; with the challenge protocol, a
submission folder) in; the metrics of every unit, written
to ``OUT/metrics.json`` and ``OUT/per_video.csv``, out. OUT and the predictions are checked before any scoring.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from diffsal.data.challenge import part_names
from diffsal.data.layout import CHALLENGE_DEFAULT_PART, ChallengeLayout
from diffsal.errors import InputError
from diffsal.evaluation.challenge import score_challenge
from diffsal.evaluation.protocol import CHALLENGE
from diffsal.metrics.challenge import CHALLENGE_METRICS
from diffsal.metrics.frame import METRIC_NAMES
from diffsal.evaluation.layouts import detect_layout, load_benchmark
from diffsal.evaluation.predictions import prediction_source
from diffsal.evaluation.report import RESULT_FILES, write_results
from diffsal.evaluation.runner import EvaluationResult, EvaluationSettings, VideoResult, evaluate
from diffsal.io.paths import check_output_folder
from diffsal.runtime import keep_freed_memory


@dataclass(frozen=True)
class DatasetSelection:
    """Which videos of DATA are scored: `layout` "auto", "stavis", "dhf1k" or "challenge"; STAViS `databases` and
    `split` ("1" by default: what `predict DATA` predicts; "all" pools the three test lists); DHF1K `part` ("val" by
    default, "train", "test" or "all"); challenge `part` ("public_test" by default, "private_test", "test",
    "train")."""

    layout: str = "auto"
    databases: list[str] | None = None
    split: str | None = None
    part: str | None = None


def score(data: str | Path, predictions: str | Path, out: str | Path, *, pattern: str | None = None,
          selection: DatasetSelection = DatasetSelection(), settings: EvaluationSettings = EvaluationSettings(),
          progress: Callable[[int, int, VideoResult], None] | None = None,
          say: Callable[[str], None] | None = None) -> EvaluationResult:
    """Score `predictions` (a folder, named by `pattern` or as `diffsal predict` recorded, or ``center-prior``)
    on DATA and write the result files into `out`; `progress(done, total, video)` is called as each video is
    scored (from the scoring threads, one at a time), `say` gets notes (a former spelling of an option).

    Raises:
        InputError: an OUT that cannot be written, no prediction file at all, missing frames with
            `settings.require_all_frames`, unreadable predictions; DatasetError: missing or corrupt ground truth.
    """
    check_output_folder(out, files=RESULT_FILES)  # before scoring, which can take hours
    if settings.protocol is CHALLENGE:
        if selection.split is not None or selection.databases:
            raise InputError("--split and --db do not apply to a challenge root (choose the videos with --part)")
        if selection.layout not in ("auto", "challenge"):
            raise InputError(f"--layout {selection.layout}: the challenge protocol scores a challenge root")
        if pattern is not None:
            raise InputError("--pattern: the challenge protocol reads one <video>.<ext> per video directly in the "
                             "submission folder, as the challenges' bench.py does (use --protocol strict for a pattern)")
        _check_challenge_settings(settings)
        if settings.metrics == METRIC_NAMES:
            settings = dataclasses.replace(settings, metrics=CHALLENGE_METRICS)
        keep_freed_memory()
        result = score_challenge(data, predictions, settings, selection.part,
                                 progress=_counted(progress, len(part_names(ChallengeLayout(data),
                                                                            selection.part or CHALLENGE_DEFAULT_PART))))
        write_results(result, out)
        return result
    source = prediction_source(predictions, pattern)
    benchmark = load_benchmark(data, layout=selection.layout, databases=selection.databases,
                               split=_split(data, selection, say or (lambda text: None)), per_split=source.uses_split)
    keep_freed_memory()  # see diffsal.runtime.memory: page faults cost as much as the arithmetic
    result = evaluate(benchmark, source, settings, progress=_counted(progress, len(benchmark.units)))
    write_results(result, out)
    return result


# Settings the challenge protocol has no use for (it reads, resizes and scores maps as bench.py does, with no
# randomness): field -> the option of `diffsal evaluate` that sets it.
NOT_IN_CHALLENGE = {"postprocess": "--no-min-max / --blur-sigma / --no-resize", "sauc_variant": "--sauc-other",
                    "other_videos": "--other-videos", "n_splits": "--auc-splits", "step": "the AUC step",
                    "seed": "--seed"}


def _check_challenge_settings(settings: EvaluationSettings) -> None:
    """InputError naming each setting given that the challenge protocol would ignore."""
    defaults = EvaluationSettings(protocol=CHALLENGE)
    given = [option for name, option in NOT_IN_CHALLENGE.items() if getattr(settings, name) != getattr(defaults, name)]
    if given:
        raise InputError(f"{', '.join(given)}: not used by the challenge protocol (it reads, resizes and scores the "
                         "maps as the challenges' bench.py does); use --protocol strict for them")


def _counted(progress: Callable[[int, int, VideoResult], None] | None,
             total: int) -> Callable[[VideoResult], None] | None:
    if progress is None:
        return None
    lock = threading.Lock()
    done = 0

    def report(video: VideoResult) -> None:
        nonlocal done
        with lock:
            done += 1
            progress(done, total, video)

    return report


def result_paths(out: str | Path) -> tuple[Path, ...]:
    """The files `score` writes into `out`: ``metrics.json`` and ``per_video.csv``."""
    return tuple(Path(out) / name for name in RESULT_FILES)


def _split(data: str | Path, selection: DatasetSelection, say: Callable[[str], None]) -> str:
    """What to score: a STAViS split (default 1, what `predict` predicts), a DHF1K part (default val) or a part of a
    challenge root (default public_test).

    A split ``val|train|test`` on a DHF1K root is the former spelling of the part (one release, with a note).
    """
    layout = detect_layout(data) if selection.layout == "auto" else selection.layout
    if layout == "challenge":
        if selection.split is not None:
            raise InputError("--split does not apply to a challenge root (choose the videos with --part)")
        return selection.part or CHALLENGE_DEFAULT_PART
    if selection.part is not None:
        if layout == "stavis":
            raise InputError("--part applies to a DHF1K or challenge root; a STAViS root is scored on the test list "
                             "of --split")
        if selection.split is not None:
            raise InputError("--split and --part: a DHF1K root takes --part only")
        return selection.part
    if selection.split is not None:
        if layout != "stavis" and selection.split in ("val", "train", "test", "all"):
            say(f"note: evaluate --split {selection.split} on a DHF1K root is now --part {selection.split}")
        return selection.split
    return "1" if layout == "stavis" else "default"
