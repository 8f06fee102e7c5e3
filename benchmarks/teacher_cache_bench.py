"""What the teacher's maps cost: frames/s of building a distillation cache with a teacher model.

    python benchmarks/teacher_cache_bench.py [--teachers published-av,paper] [--frames 32] [--size 1280x720]
                                             [--fps 30] [--student fast] [--device cpu] [--threads N]

For each teacher (a diffsal preset, or `published-av` / `published-visual`, the authors' released networks)
a randomly initialised model is saved (speed does not depend on the weights) and run at its default settings
on a generated test-pattern H.264 + AAC video, exactly as `diffsal distill` builds its cache
(`TeacherCache.build`: every frame's map, resized to the student's size, written as uint8). The table gives the
seconds and frames/s of the whole build (model loading not included), and how long an hour of 30 fps video
would take at that rate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from diffsal.data.video_record import VideoRecord
from diffsal.distillation.recipe import TeacherSection
from diffsal.distillation.teacher import open_teacher
from diffsal.distillation.teacher_cache import TeacherCache
from diffsal.io import AudioTrack, write_video
from diffsal.models.config import DiffSalConfig
from diffsal.models.loading import build_model
from diffsal.models.published.config import PublishedConfig
from diffsal.training.distributed import TrainingGroup

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media import pattern_frame, tone


def save_teacher(name: str, folder: Path) -> Path:
    torch.manual_seed(0)
    published = name.startswith("published-")
    config = PublishedConfig.preset(name.removeprefix("published-")) if published else DiffSalConfig.preset(name)
    return build_model(config).save_pretrained(folder / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", default="published-av,paper")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--student", default="fast", help="the student preset whose map size the cache has")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(value) for value in args.size.split("x"))
    student = DiffSalConfig.preset(args.student)
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        video = work / "clip.mp4"
        frames = [pattern_frame(index, width, height) for index in range(args.frames)]
        sound = tone(args.frames / args.fps, 44_100, 440.0)
        write_video(video, frames, args.fps, AudioTrack(np.stack([sound, sound]), 44_100))
        record = VideoRecord("bench", "clip", float(args.fps), args.frames, str(video), None, audio=str(video))
        for name in args.teachers.split(","):
            teacher = open_teacher(TeacherSection(path=str(save_teacher(name, work))), args.device)
            cache = TeacherCache(work / f"cache_{name}", (student.height, student.width))
            started = time.perf_counter()
            cache.build(teacher, [record], TrainingGroup(device=torch.device(args.device)))
            seconds = time.perf_counter() - started
            rows.append((name, teacher.predictor.steps, args.frames, seconds, args.frames / seconds))
            print(f"{name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    print(f"\nteacher cache, {width}x{height} {args.fps} fps, maps at {student.height}x{student.width} "
          f"({args.student}), device {args.device}, {torch.get_num_threads()} thread(s)\n")
    print("| teacher | steps | frames | s | frames/s | hours per hour of 30 fps video |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, steps, count, seconds, rate in rows:
        print(f"| {name} | {steps} | {count} | {seconds:.1f} | {rate:.3f} | {30 / rate:.1f} |")


if __name__ == "__main__":
    main()
