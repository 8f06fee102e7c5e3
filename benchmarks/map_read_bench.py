"""Ground-truth map reading: the challenge layout's 10-bit map video against STAViS's JPEG eyeMaps.

    python benchmarks/map_read_bench.py [--frames 150] [--size 1920x1080]

Makes smooth saliency maps (moving Gaussian blobs, as eye-tracking maps look), writes them once as a 10-bit
lossless map video (`write_gray_video(bits=10)`, the challenge's format) and once as 8-bit JPEG eyeMaps (STAViS's,
quality 95 as `diffsal synth` writes them), under runs/bench/; checks that the video gives back exactly the
values written; then times, in one run:

- every map in order (what `data check --decode` and a whole-video evaluation do);
- clips of 16 consecutive maps at random starts (what training reads: `diffsal.data.ground_truth.GroundTruth`,
  one per video; the map video has a key frame every 16 frames, so a clip decodes at most 15 frames more);
- the challenge protocol's reading of the map video (FFmpeg's PNG conversion, channels averaged, min-max).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from diffsal.data.annotations import read_saliency_map, write_saliency_map
from diffsal.data.ground_truth import GroundTruth
from diffsal.data.video_record import VideoRecord
from diffsal.io.video import VideoReader
from diffsal.io.writer import write_gray_video
from diffsal.metrics.challenge import read_map

CLIP = 16


def smooth_maps(frames: int, width: int, height: int) -> list[np.ndarray]:
    """uint16 10-bit maps: three Gaussian blobs on slow circular paths, min-max normalised."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    sigma = width / 30.0
    maps = []
    for index in range(frames):
        density = np.zeros((height, width), np.float32)
        for blob in range(3):
            angle = 2 * np.pi * (index / frames + blob / 3)
            x, y = width * (0.5 + 0.3 * np.cos(angle)), height * (0.5 + 0.3 * np.sin(angle))
            density += np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * sigma**2))
        density = (density - density.min()) / (density.max() - density.min())
        maps.append(np.rint(1023 * density).astype(np.uint16))
    return maps


def timed(function, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--clips", type=int, default=8, help="random clips of 16 maps timed per format")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    folder = Path("runs/bench") / f"maps_{width}x{height}_{args.frames}"
    video, jpegs = folder / "maps.mp4", folder / "eyeMaps"
    jpegs.mkdir(parents=True, exist_ok=True)
    maps = smooth_maps(args.frames, width, height)
    write_gray_video(video, maps, 30, bits=10)
    for index, levels in enumerate(maps):
        write_saliency_map(jpegs / f"eyeMap_{index + 1:05d}.jpg", (levels / 1023.0).astype(np.float32))
    with VideoReader(video) as reader:
        exact = all(np.array_equal(reader.luma(index), levels) for index, levels in enumerate(maps))
    print(f"{args.frames} maps {width}x{height}: 10-bit video {video.stat().st_size / 2**20:.1f} MiB "
          f"(read back {'exactly' if exact else 'NOT EXACTLY'}), JPEGs "
          f"{sum(path.stat().st_size for path in jpegs.iterdir()) / 2**20:.1f} MiB")

    record = VideoRecord(dataset="bench", video="maps", fps=30.0, num_frames=args.frames, frames=str(video),
                         frame_pattern=None, maps=str(video), fixations=str(folder / "none.json"))
    starts = np.random.default_rng(0).integers(0, args.frames - CLIP, args.clips)

    def video_in_order() -> None:
        truth = GroundTruth(record)
        for index in range(args.frames):
            truth.saliency(index)
        truth.close()

    def jpegs_in_order() -> None:
        for index in range(args.frames):
            read_saliency_map(jpegs / f"eyeMap_{index + 1:05d}.jpg")

    def video_clips() -> None:
        truth = GroundTruth(record)  # one reader per video, as the training datasets keep it
        for start in starts:
            for index in range(start, start + CLIP):
                truth.saliency(int(index))
        truth.close()

    def jpeg_clips() -> None:
        for start in starts:
            for index in range(start, start + CLIP):
                read_saliency_map(jpegs / f"eyeMap_{int(index) + 1:05d}.jpg")

    def challenge_reading() -> None:
        with VideoReader(video) as reader:
            for index in range(args.frames):
                read_map(reader.png_frame(index))

    table = Table(title=f"reading ground-truth maps, {width}x{height}")
    for column in ("what", "format", "maps", "seconds", "maps/s"):
        table.add_column(column, justify="left" if column in ("what", "format") else "right")
    for what, form, function, count in (
            ("in order", "10-bit map video", video_in_order, args.frames),
            ("in order", "JPEG eyeMaps", jpegs_in_order, args.frames),
            (f"{args.clips} random clips of {CLIP}", "10-bit map video", video_clips, args.clips * CLIP),
            (f"{args.clips} random clips of {CLIP}", "JPEG eyeMaps", jpeg_clips, args.clips * CLIP),
            ("challenge protocol", "10-bit map video", challenge_reading, args.frames)):
        seconds = timed(function, 1)
        table.add_row(what, form, str(count), f"{seconds:.2f}", f"{count / seconds:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
