"""The demo's ``report.md``: what was done, the scores, where the outputs are."""

from __future__ import annotations

import json
from pathlib import Path

from diffsal.io.atomic import atomic_output

REPORT_METRICS = ("CC", "NSS", "AUC-J", "SIM", "sAUC", "KLD")
LOWER_IS_BETTER = {"KLD"}


def write_report(out: Path, *, scores: dict[str, dict[str, float]], sauc_variant: str, timings: dict[str, float],
                 video_name: str, overlay: Path, train_log: Path) -> Path:
    records = [json.loads(line) for line in train_log.read_text().splitlines() if line.strip()]
    validations = [record for record in records if record["kind"] == "val"]
    best = max(validations, key=lambda record: record["cc"]) if validations else None
    lines = [
        "# diffsal demo report",
        "",
        "Synthetic audio-visual benchmark (`diffsal synth`): coloured objects move; one of them sounds at a time "
        "and the sounding one changes with no visual cue; simulated viewers look at the sounding object. Only the "
        "sound tells which object is looked at (see docs/synthetic.md).",
        "",
        f"Scores on the held-out test videos of split 1 (STAViS protocol, sAUC other map: {sauc_variant}; "
        "KLD: lower is better):",
        "",
        "| predictor | " + " | ".join(REPORT_METRICS) + " |",
        "|---|" + "---:|" * len(REPORT_METRICS),
    ]
    for name, values in scores.items():
        lines.append(f"| {name} | " + " | ".join(f"{values[metric]:.3f}" for metric in REPORT_METRICS) + " |")
    lines += ["", _verdict(scores), ""]
    if best is not None:
        lines += [f"Checkpoint selected on held-out *training* videos: step {best['step']} "
                  f"(validation CC {best['cc']:.3f}).", ""]
    lines += [
        "## Outputs",
        "",
        f"- `{_relative(overlay, out)}` — test video `{video_name}` with the predicted map blended in, with its sound",
        "- `frames.png` — frames | ground truth | prediction | uncertainty (per-pixel std of the diffusion samples)",
        "- `training_loss.png` — training loss and validation CC",
        "- `evaluation/metrics.json`, `evaluation/per_video.csv` — full scores (all metrics, per video)",
        "- `train/checkpoints/best` — the model (`diffsal predict VIDEO --model runs/demo/train/checkpoints/best`)",
        "",
        "![frames](frames.png)",
        "",
        "![training](training_loss.png)",
        "",
        "## Time on this machine",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.0f} |" for name, seconds in timings.items()),
        f"| total | {sum(timings.values()):.0f} |",
        "",
    ]
    path = out / "report.md"
    with atomic_output(path) as temporary:
        temporary.write_text("\n".join(lines))
    return path


def _verdict(scores: dict[str, dict[str, float]]) -> str:
    (model_name, model), (baseline_name, baseline) = list(scores.items())[:2]
    better = [metric for metric in REPORT_METRICS
              if (model[metric] < baseline[metric]) == (metric in LOWER_IS_BETTER) and model[metric] != baseline[metric]]
    worse = [metric for metric in REPORT_METRICS if metric not in better]
    text = f"The {model_name} model beats the {baseline_name} on {', '.join(better) or 'no metric'}"
    return text + (f"; not on {', '.join(worse)}." if worse else ".")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
