"""Writing an evaluation: the Markdown table (stdout), metrics.json and per_video.csv (atomic)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from diffsal.evaluation.protocol import CHALLENGE
from diffsal.evaluation.runner import EvaluationResult
from diffsal.io.atomic import atomic_output
from diffsal.metrics.frame import LOWER_IS_BETTER

RESULT_FILES = ("metrics.json", "per_video.csv")


def markdown_table(result: EvaluationResult, decimals: int = 3) -> str:
    """A caption naming the protocol and its departures from STAViS, then one row per database:
    units and frames scored, then the mean of each metric."""
    metrics = result.settings.metrics
    protocol = result.settings.protocol.name
    departures = result.departures
    caption = (f"Protocol {protocol}: " + ("; ".join(departures) + "." if departures
                                           else f"{result.settings.protocol.reproduces}, rule for rule."))
    header = [f"dataset ({protocol})", "videos", "frames"] + [f"{name} ↓" if name in LOWER_IS_BETTER else name
                                                             for name in metrics]
    lines = [caption, "", "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, database in result.databases.items():
        info = database.to_dict()
        cells = [name, str(info["units_scored"]), str(info["frames_scored"])]
        cells += [_format(database.mean(metric), decimals) for metric in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(result: EvaluationResult) -> str:
    """What a reader of the table must know: sAUC variant, seed, dropped and missing frames (for the challenge
    protocol, which has none of these: where the per-video and per-frame scores are)."""
    if result.settings.protocol is CHALLENGE:
        return ("Each video: the mean over its frames; the part: the mean over its videos (per video: metrics.json, "
                "per_video.csv).")
    sauc = result.other_maps["variant"]
    if "other_videos" in result.other_maps:
        sauc += f" (N={result.other_maps['other_videos']})"
    without = sum(database.to_dict()["frames_without_fixations"] for database in result.databases.values())
    treatment = ("scored where a metric is defined: SIM and KLD, and CC unless the map is black"
                 if result.settings.protocol.score_frames_without_fixations else "dropped from every metric")
    parts = [f"sAUC other map: {sauc}", f"seed {result.settings.seed}",
             f"{without} frame(s) without fixations ({treatment})",
             f"{len(result.missing)} prediction frame(s) missing"]
    return "; ".join(parts) + ". Frames scored and dropped per metric, with reasons: metrics.json."


def write_results(result: EvaluationResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `metrics.json` and `per_video.csv` into `out_dir` atomically; returns their paths."""
    out_dir = Path(out_dir)
    json_path, csv_path = (out_dir / name for name in RESULT_FILES)
    with atomic_output(json_path) as temporary:
        temporary.write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    with atomic_output(csv_path) as temporary:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            _write_csv(result, handle)
    return json_path, csv_path


def _write_csv(result: EvaluationResult, handle) -> None:
    metrics = result.settings.metrics
    writer = csv.writer(handle)
    writer.writerow(["dataset", "video", "split", "frames", "frames_scored", "frames_missing",
                     "frames_without_fixations", *metrics, *(f"{metric} frames" for metric in metrics),
                     *(f"{metric} dropped" for metric in metrics)])
    for unit in result.units:
        writer.writerow([unit.database, unit.video, "" if unit.split is None else unit.split, unit.frames,
                         unit.frames_scored, len(unit.missing), unit.without_fixations,
                         *(_format(unit.mean(metric), 6, empty="") for metric in metrics),
                         *(unit.frames_with_score(metric) for metric in metrics),
                         *(unit.nan_frames(metric) for metric in metrics)])


def _format(value: float, decimals: int, empty: str = "–") -> str:
    return empty if math.isnan(value) else f"{value:.{decimals}f}"
