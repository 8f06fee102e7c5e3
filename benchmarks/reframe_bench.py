"""Speed of `diffsal reframe` from existing maps on a 1280x720 video: decode, shots, plan, crop, encode.

    python benchmarks/reframe_bench.py [--frames 600] [--size 1280x720] [--fps 30] [--format png] [--aspect 9:16]
                                       [--model PRESET|DIR]

Generates an H.264 + AAC video of two shots (a disc moving over a gradient, a cut in the middle), and a `diffsal predict` output for it
whose maps are a moving Gaussian blob (written by diffsal's own output code, in `--format`: png, stavis or
mp4), then times `reframe` (the Python API the CLI calls) with `--maps`. Prints frames/s of the whole
reframing and the seconds of each stage (from crop_path.json); the maps' prediction is not part of it.
With `--model` (a preset, randomly initialised, or a model folder) the maps are predicted instead, as
`diffsal reframe --model` does: end to end, the prediction included.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from diffsal.predictions.map_formats import map_format
from diffsal.predictions.folder import VideoOutput, map_png
from diffsal.io import AudioTrack, write_video
from diffsal.inference.predictor import Predictor
from diffsal.io.writer import write_gray_video
from diffsal.models.loading import preset_or_saved_model
from diffsal.reframe.run import ReframeSettings, reframe

# the test media (tests/media.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media import tone  # noqa: E402


def scene(index: int, width: int, height: int, second_shot: bool) -> np.ndarray:
    """A frame of one of two shots: a colour gradient with a disc moving across, and sensor-like noise."""
    rng = np.random.default_rng(index)
    x = np.linspace(0.0, 1.0, width)[None, :, None]
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    colours = np.array([[40, 90, 160], [200, 120, 40]] if not second_shot else [[30, 140, 60], [220, 220, 200]])
    frame = colours[0] * (1 - x) * (1 - 0.3 * y) + colours[1] * x * (0.7 + 0.3 * y)
    cx, cy = width * (0.15 + 0.7 * ((index * 0.004) % 1.0)), height * 0.5
    disc = ((np.arange(width)[None, :] - cx) ** 2 + (np.arange(height)[:, None] - cy) ** 2) < (0.08 * height) ** 2
    frame[disc] = (250, 40, 40) if not second_shot else (40, 40, 250)
    return np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)


def make_video(path: Path, frames: int, width: int, height: int, fps: int) -> Path:
    rate = 44_100
    seconds = frames / fps
    audio = AudioTrack(np.stack([tone(seconds, rate, 440), tone(seconds, rate, 660)]), rate)

    def pictures():
        for index in range(frames):
            yield scene(index, width, height, second_shot=index >= frames // 2)  # a cut halfway

    write_video(path, pictures(), fps, audio)
    return path


def blob(index: int, frames: int, width: int, height: int) -> np.ndarray:
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    centre = width * (0.2 + 0.6 * index / max(1, frames - 1))
    return np.exp(-((x - centre) ** 2 + (y - height / 2) ** 2) / (2 * (0.08 * width) ** 2)).astype(np.float32)


def make_maps(root: Path, video: Path, frames: int, width: int, height: int, fps: int, format_name: str) -> Path:
    output = VideoOutput(root, video.stem, map_format(format_name))
    output.begin()
    levels = [map_png(blob(index, frames, width, height), "minmax") for index in range(frames)]
    if output.map_format.video_name is not None:
        write_gray_video(output.built_path(output.map_format.video_name), levels, fps)
    else:
        for index, level in enumerate(levels):
            output.write_map(index, level)
    output.finish({"video": video.stem, "input": str(video), "frames": frames, "size": {"width": width, "height": height},
                   "signature": {"benchmark": True}, "files": {"map_format": format_name, "videos": []}})
    return output.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--format", default="png", choices=("png", "stavis", "mp4"))
    parser.add_argument("--aspect", default="9:16")
    parser.add_argument("--model", help="predict the maps with this preset or model folder (end to end)")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        video = make_video(scratch / "clip.mp4", args.frames, width, height, args.fps)
        out = scratch / "out" / "clip_9x16.mp4"
        if args.model is not None:
            predictor = Predictor(preset_or_saved_model(args.model), device="cpu")
            started = time.perf_counter()
            result = reframe(video, out, ReframeSettings(args.aspect), predictor=predictor)
        else:
            maps = make_maps(scratch / "predictions", video, args.frames, width, height, args.fps, args.format)
            started = time.perf_counter()
            result = reframe(video, out, ReframeSettings(args.aspect), maps=maps)
        wall = time.perf_counter() - started
        document = json.loads(result.files.crop_path.read_text())
    source = f"the {args.model} model's maps" if args.model is not None else f"{args.format} maps"
    print(f"reframe from {source}, {width}x{height} {args.fps} fps, {args.frames} frames, aspect "
          f"{args.aspect} (window {result.plan.window_size[0]}x{result.plan.window_size[1]}), "
          f"{len(result.plan.shots)} shot(s)\n")
    print("| stage | s | ms / frame |")
    print("|---|---:|---:|")
    for stage, seconds in document["seconds"].items():
        print(f"| {stage} | {seconds:.2f} | {1000 * seconds / args.frames:.1f} |")
    print(f"| whole reframing | {wall:.2f} | {1000 * wall / args.frames:.1f} |")
    print(f"\n**{args.frames / wall:.1f} frames/s**")


if __name__ == "__main__":
    main()
