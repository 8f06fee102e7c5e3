"""`diffsal prepare VIDEOS... --out ROOT`: put your own videos in the STAViS layout for prediction."""

from __future__ import annotations

import argparse
import sys
from diffsal.cli._arguments import add_database_name, add_out, add_quiet, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="convert your own videos (.mp4, ...) into the STAViS layout (frames + wav + fold list)",
        description="Decode every frame to video_frames/<DB>/<name>/img_%%05d.jpg, the sound to "
        "video_audio/<DB>/<name>/<name>.wav (16 kHz mono, on the video's clock) and list the videos in "
        "fold_lists/<DB>_list_test_1_fps.txt, so that they are read by the same code as the benchmarks.",
    )
    parser.add_argument("inputs", nargs="+", help="video files and/or folders of videos")
    add_out(parser, "the dataset root (created if needed)", required=True)
    add_database_name(parser, "User", "to write")
    parser.add_argument("--jpeg-quality", type=positive_int, default=95, help="quality of the frame JPEGs (default 95)")
    parser.add_argument("--overwrite", action="store_true", help="re-extract videos that are already prepared")
    add_quiet(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from diffsal.data.prepare import PreparedVideo, prepare_videos
    from diffsal.errors import InputError

    if not 1 <= args.jpeg_quality <= 100:
        raise InputError(f"--jpeg-quality must be in 1..100, got {args.jpeg_quality}")

    def progress(video: PreparedVideo) -> None:
        state = "already prepared" if video.reused else "prepared"
        sound = "with audio" if video.has_audio else "NO AUDIO"
        if not args.quiet:
            print(f"{state}: {video.source} -> {video.name} ({video.num_frames} frames, {video.fps:.3f} fps, {sound})",
                  file=sys.stderr, flush=True)
        if video.timing_drift_s > 0.5 / video.fps:
            print(f"warning: {video.source} has a variable frame rate: its frames are listed at the mean rate "
                  f"{video.fps:.3f} fps, up to {video.timing_drift_s:.3f} s from their times in the file, so sound "
                  "and frames drift apart by as much; `diffsal predict` on the file itself keeps its timing",
                  file=sys.stderr, flush=True)

    videos = prepare_videos(args.inputs, args.out, args.db, args.jpeg_quality, args.overwrite, progress)
    silent = sum(not video.has_audio for video in videos)
    print(f"{len(videos)} video(s) in {args.out} as database {args.db!r}"
          + (f"; {silent} without audio (read them with audio='optional')" if silent else ""))
    return 0
