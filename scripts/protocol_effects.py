"""What each rule of the STAViS evaluation protocol changes, measured on one benchmark and predictor.

    python scripts/protocol_effects.py DATA PREDICTIONS|oracle [--split 1] [--pattern default] [--seed 0]
                                       [--annotation-quirks]

PREDICTIONS ``oracle`` writes a sharp predictor made from the ground truth (each map cubed, at half
resolution, as 8-bit PNGs, in a temporary folder): the bicubic resize back to the ground-truth
size then overshoots below 0 next to zero areas, as the upsampled maps of a real model do.

``--annotation-quirks`` scores a copy of DATA whose ground truth has what real eye-tracking data has
and the synthetic benchmark does not (its simulated viewers never blink): in every scored video, every
25th frame without fixations (black map; tracker loss, blinks), the frame after it with one fixated
pixel, and in the first video the fixation maps storing 2 instead of 1.

Scores PREDICTIONS under the ``stavis`` protocol, then once per rule with only that rule set as the
``strict`` protocol sets it, and under ``strict`` as a whole. Prints a Markdown table: per rule, the
metrics whose database value changed, stavis -> toggled (difference), and how many frame scores the
rule changed (dropped, added or changed in value). The rule table of docs/evaluation.md comes from this.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.io

from diffsal.data.annotations import (
    read_fixation_map,
    read_saliency_map,
    write_saliency_map,
)
from diffsal.evaluation import (
    STAVIS,
    STRICT,
    EvaluationSettings,
    evaluate,
    load_benchmark,
    prediction_source,
)
from diffsal.evaluation.protocol import RULE_WORDS

ORACLE = "oracle"


QUIRK_EVERY = 25


def add_annotation_quirks(benchmark) -> None:
    """Edit the ground truth of `benchmark` in place (see the module docstring)."""
    for index, unit in enumerate(benchmark.units):
        truth = unit.ground_truth
        for frame in truth.frames:
            fixations = read_fixation_map(truth.fixation_path(frame))
            if frame % QUIRK_EVERY == 0:
                fixations[:] = False
                write_saliency_map(truth.map_path(frame), np.zeros(fixations.shape))
            elif frame % QUIRK_EVERY == 1 and frame > 1:
                kept = np.flatnonzero(fixations)[:1]
                fixations[:] = False
                fixations.flat[kept] = True
            values = fixations.astype(np.uint8) * (2 if index == 0 else 1)
            scipy.io.savemat(truth.fixation_path(frame), {"eyeMap": values}, do_compression=True)


def write_oracle(benchmark, root: Path) -> None:
    """Each ground-truth map cubed and averaged over 2 x 2 blocks, as `root/<DB>/<video>/<frame:05d>.png`."""
    for unit in benchmark.units:
        folder = root / unit.database / unit.video
        folder.mkdir(parents=True, exist_ok=True)
        for frame in unit.ground_truth.frames:
            sharp = read_saliency_map(unit.ground_truth.map_path(frame)).astype(np.float64) ** 3
            height, width = (size // 2 * 2 for size in sharp.shape)
            half = sharp[:height, :width].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
            write_saliency_map(folder / f"{frame:05d}.png", half)


def _database_scores(result) -> dict[tuple[str, str], float]:
    return {(name, metric): database.mean(metric)
            for name, database in result.databases.items() for metric in result.settings.metrics}


def _same(first: float, second: float) -> bool:
    return first == second or (math.isnan(first) and math.isnan(second))


def _frame_changes(reference, other) -> int:
    """Frame scores that differ between two results (a score present in one only counts too)."""
    changed = 0
    for first, second in zip(reference.units, other.units):
        for metric in reference.settings.metrics:
            a, b = first.scores[metric], second.scores[metric]
            changed += abs(len(a) - len(b)) if len(a) != len(b) else sum(x != y for x, y in zip(a, b))
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("predictions")
    parser.add_argument("--split", default="1")
    parser.add_argument("--pattern", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--annotation-quirks", action="store_true",
                        help="score a copy of DATA with frames without or with one fixation, fixations stored as 2")
    args = parser.parse_args()
    work = tempfile.TemporaryDirectory(prefix="protocol-effects-")
    if args.annotation_quirks:
        copy = Path(work.name) / "data"
        shutil.copytree(args.data, copy, ignore=shutil.ignore_patterns("video_frames", "video_audio", "videos"))
        args.data = str(copy)

    if args.predictions == ORACLE:
        benchmark = load_benchmark(args.data, split=args.split)
        write_oracle(benchmark, Path(work.name) / "oracle")  # from the ground truth before any quirk
        source = prediction_source(Path(work.name) / "oracle")
    else:
        source = prediction_source(args.predictions, args.pattern)
        benchmark = load_benchmark(args.data, split=args.split, per_split=source.uses_split)
    if args.annotation_quirks:
        add_annotation_quirks(benchmark)

    def run(protocol):
        return evaluate(benchmark, source, EvaluationSettings(protocol=protocol, seed=args.seed))

    reference = run(STAVIS)
    baseline = _database_scores(reference)
    variants = [(RULE_WORDS[rule][getattr(STRICT, rule)], dataclasses.replace(STAVIS, **{rule: getattr(STRICT, rule)}))
                for rule in RULE_WORDS]
    variants.append(("strict protocol (all rules)", STRICT))
    frames = sum(unit.frames_scored for unit in reference.units)
    print(f"{len(reference.units)} videos, {frames} frames scored under stavis; "
          f"{sum(unit.without_fixations for unit in reference.units)} without fixations\n")
    print("| rule as strict sets it | database values that change: stavis -> toggled | frame scores changed |")
    print("|---|---|---:|")
    for words, protocol in variants:
        result = run(protocol)
        changes = [f"{metric} {baseline[key]:.4f} -> {value:.4f} ({value - baseline[key]:+.2g})"
                   for key, value in _database_scores(result).items() if not _same(value, baseline[key])
                   for _, metric in [key]]
        print(f"| {words} | {'; '.join(changes) or 'none'} | {_frame_changes(reference, result)} |")


if __name__ == "__main__":
    main()
