"""`diffsal predict INPUT --model DIR`: saliency maps, overlay videos and uncertainty for videos or a dataset split.

Exit codes: 0 every video complete; 1 some video failed (the others are done); 2 bad input, found
before anything is written (missing INPUT, no videos, two videos with the same name, a model folder
without weights, not fitting its config or with NaN weights, bad options, an OUT that cannot be made).
Scale out with ``torchrun --nproc_per_node=N -m diffsal predict ...``: each rank takes a shard.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from diffsal.predictions.map_formats import MAP_FORMATS
from diffsal.predictions.folder import NORMALIZATIONS, RUN_SUMMARY_NAME
from diffsal.inference.precision import PRECISIONS
from diffsal.inference.predict import PredictResult, SamplingSettings, predict
from diffsal.inference.runner import OutputOptions
from diffsal.inference.sources import InputSpec
from diffsal.runtime import TorchrunEnv
from diffsal.cli._arguments import (add_batch_size, add_databases, add_device, add_out, add_quiet, add_seed,
                                    add_split, add_threads, non_negative_float, positive_int)

FAILURES_SHOWN = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict saliency maps (+ overlay videos with sound) for videos or a dataset split",
        description="Predict a saliency map for every frame of a video file, a folder of videos, a dataset "
                    "split in the STAViS layout or a DHF1K part. Writes OUT/<video>/<frame:05d>.png (1-based; for "
                    "a dataset OUT/<DB>/<video>/..., the layout `diffsal evaluate` reads), overlay.mp4 with the original "
                    "sound, and summary.json. Reruns skip complete videos. Exit code 0: all complete; 1: some "
                    "video failed; 2: bad input.")
    parser.add_argument("input", help="a video file (.mp4/.avi/.mkv/...), a folder of videos, a STAViS dataset root "
                        "or a DHF1K root")
    parser.add_argument("--model", required=True, help="model folder with model.safetensors + config.json "
                        "(e.g. runs/x/checkpoints/best)")
    add_out(parser, "the maps, one folder per video", default="predictions")
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--steps", type=positive_int, help="DDIM steps (default: the model's sampling_steps)")
    sampling.add_argument("--samples", type=positive_int, default=1,
                          help="diffusion samples per frame; > 1 writes the mean and a per-pixel std (uncertainty)")
    sampling.add_argument("--eta", type=non_negative_float, help="DDIM eta (default: the model's, normally 0)")
    add_seed(sampling, "the starting noise of the diffusion")
    sampling.add_argument("--stride", type=positive_int, default=1,
                          help="predict every k-th frame (and the last) and interpolate linearly in between (default 1)")
    sampling.add_argument("--no-audio", action="store_true",
                          help="feed silence (a zero waveform) instead of the sound to an audio-visual model")
    sampling.add_argument("--audio-optional", action="store_true",
                          help="dataset input: a video whose wav is missing is predicted on silence (and its "
                               "summary.json says so) instead of failing")
    add_device(sampling)
    add_batch_size(sampling, None, "clips per forward pass",
                   "8 on a GPU; on a CPU as many as keep a forward pass under ~20 GFLOPs: 8 for the tiny "
                   "model, 1 for paper-size models, which batching slows down there")
    # Checked by the Predictor rather than by argparse `choices`, so that a bad value is one line, exit code 2.
    sampling.add_argument("--precision", default="fp32", metavar="{" + ",".join(PRECISIONS) + "}",
                          help="fp32 (default) or bf16 autocast: fast on GPUs; on a CPU without bf16 units "
                               "(AVX-512 BF16 / AMX) it is emulated and much slower than fp32")
    add_threads(sampling)
    dataset = parser.add_argument_group("dataset input (STAViS layout, DHF1K or the challenge layout)")
    add_split(dataset, "all predicts each video of the three lists once")
    dataset.add_argument("--part", choices=("test", "train", "val", "public_test", "private_test"),
                         help="STAViS: the fold list part, test (default) or train; DHF1K: val (default, videos "
                              "601-700), train (1-600) or test (701-1000); challenge: public_test (default), "
                              "private_test, test (both) or train")
    add_databases(dataset, "STAViS databases (default: every one with fold lists)")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--format", default="png", choices=tuple(MAP_FORMATS),
                         help="how the maps are stored: png (00001.png ..., default); stavis (pred_sal_000001.jpg "
                              "..., for a STAViS dataset in the MATLAB evaluation's tree split<N>_results/<db>/"
                              "<video>/); mp4 (saliency.mp4 per video, lossless grey, same frames and fps); "
                              "challenge (OUT/<name>.mp4 per video: a submission to the AIM / NTIRE saliency "
                              "challenges as it stands)")
    outputs.add_argument("--save-npy", action="store_true", help="also write float32 <frame:05d>.npy maps")
    outputs.add_argument("--no-overlay", action="store_true", help="do not write overlay.mp4")
    outputs.add_argument("--panel", action="store_true",
                         help="write panel.mp4: frame | prediction | ground truth (when the dataset has it)")
    outputs.add_argument("--no-uncertainty-video", action="store_true",
                         help="with --samples > 1, do not write uncertainty.mp4 (the std PNGs are still written)")
    outputs.add_argument("--normalize", default="minmax", choices=NORMALIZATIONS,
                         help="map values: min-max per frame (default) or the model's [0, 1] output as it is")
    parser.add_argument("--overwrite", action="store_true", help="predict again videos that are already complete (never replaces a folder diffsal did not write)")
    add_quiet(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    place = TorchrunEnv.from_env()
    spec = InputSpec(tuple(args.db) if args.db else None, args.split, args.part)
    sampling = SamplingSettings(steps=args.steps, samples=args.samples, eta=args.eta, seed=args.seed,
                                stride=args.stride, use_audio=not args.no_audio, audio_optional=args.audio_optional,
                                batch_size=args.batch_size, precision=args.precision, device=args.device)
    outputs = OutputOptions(map_format=args.format, save_npy=args.save_npy, overlay=not args.no_overlay,
                            panel=args.panel, uncertainty_video=not args.no_uncertainty_video, normalize=args.normalize)

    def announce(result: PredictResult) -> None:
        if not place.is_main:
            return
        for note in result.notes:
            print(f"diffsal predict: note: {note}", file=sys.stderr)
        if not args.quiet:
            predictor = result.predictor
            print(f"diffsal predict: {len(result.videos)} video(s) from {result.kind} {args.input} -> {result.out} "
                  f"(steps {predictor.steps}, samples {predictor.samples}, stride {args.stride}, "
                  f"{predictor.config.frames_out} frame(s) per clip, audio {predictor.audio_mode}, "
                  f"{predictor.precision} on {predictor.device}, {place.world_size} process(es))", file=sys.stderr)

    result = predict(args.input, args.model, args.out, spec=spec, sampling=sampling, outputs=outputs,
                     overwrite=args.overwrite, place=place, progress=not args.quiet, debug=args.debug,
                     on_start=announce)
    if place.is_main:
        _print_report(result.report, result.out, len(result.videos), args.quiet)
    return result.exit_code


def _print_report(report, out_root: Path, total: int, quiet: bool) -> None:
    incomplete = report.incomplete
    if incomplete:
        print(f"diffsal predict: {len(incomplete)} of {total} video(s) incomplete:", file=sys.stderr)
        for key, problem in list(incomplete.items())[:FAILURES_SHOWN]:
            print(f"  {key}: {problem}", file=sys.stderr)
        if len(incomplete) > FAILURES_SHOWN:
            print(f"  ... (all listed in {out_root / RUN_SUMMARY_NAME})", file=sys.stderr)
    elif not quiet:
        print(f"diffsal predict: all {total} video(s) complete in {out_root} "
              f"(run summary: {out_root / RUN_SUMMARY_NAME})", file=sys.stderr)
