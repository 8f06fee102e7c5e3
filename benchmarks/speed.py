"""Inference speed against the machine's limit, side by side: the matmul rate first, then the model.

    python benchmarks/speed.py                              # tiny + paper + published-av, K 1 and 8, steps 1 and 4,
                                                            # fp32 and bf16
    python benchmarks/speed.py --quick                      # one step, one timed run per row
    python benchmarks/speed.py --presets paper --precisions fp32 --profile
    python benchmarks/speed.py --presets tiny --variants base,channels_last,compile
    python benchmarks/speed.py --device cuda --batch-size 8 # on a GPU
    python benchmarks/speed.py --presets fast,published-av --frames-out 16 --precisions fp32 --steps 1  # the student

1. The matmul rate of the device in fp32 and bf16: the best GFLOP/s of a square `torch.matmul` over a few
   sizes (CPU 512-4096, CUDA 4096-8192); a size whose run is predicted to take longer than
   `--matmul-max-s` at the rate seen so far is skipped (bf16 without bf16 units is that slow). Measured
   before and again after the model rows; the higher of the two is the limit the rows are compared with
   (on a machine shared with other jobs the rate moves).
2. For each preset, K (`frames_out`), DDIM steps and precision, in a fresh process (so that its peak
   memory is its own): `DiffSal.sample` on a batch of random clips (random weights: speed does not depend
   on them), one warm-up call then the median of `--repeats` timed calls. A row whose warm-up call took
   longer than `--single-run-s` is reported from that one call (marked `1 run`). The presets
   `published-av` / `published-visual` are the authors' released networks (`PublishedDiffSal`, one map
   per clip: K is 1 whatever `--frames-out` says). A published preset is always also measured as the authors'
   code computes it (variant `torchvision_attention`: MViT's blocks keep torchvision's `MultiscaleAttention`,
   which forms the attention matrix, adds the relative positions to it, applies the softmax and pools q/k/v in
   the (batch x heads, channels, T, H, W) layout, as the authors' MViT does; the base variant runs diffsal's
   fused attention). Every row of the same frame size is also given as a ratio ("vs published") to that
   `published-av` row of the same steps, precision and batch, measured in the same run.

Columns: frames/s (K maps per clip), FLOPs per predicted frame (`diffsal.models.cost`, multiply and add
counted separately), the achieved GFLOP/s and its fraction of the matmul rate of the same precision, and
peak memory (CUDA: `max_memory_allocated`; CPU: the process's peak RSS, which includes ~0.4-0.9 GiB of torch
runtime, and the part the inference added on top of the loaded model). The model's work only: clip
decoding, audio windows and file writing are not timed (`benchmarks/predict_bench.py` times those).
`--profile` adds a torch.profiler table of one paper-preset clip (K = 8, fp32, one step): the operators
that take the time and the rate each achieves.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
VARIANTS = ("base", "channels_last", "compile", "torchvision_attention")
PUBLISHED_COMPUTATION = "torchvision_attention"  # the variant that computes as the authors' code


# ---------------------------------------------------------------------- the machine's limit
def matmul_rate(dtype: torch.dtype, device: torch.device, sizes: list[int], max_seconds: float,
                min_seconds: float = 0.5) -> tuple[float, int]:
    """(best GFLOP/s, the size that gave it) of `torch.matmul` of square matrices."""
    best, best_size = 0.0, 0
    for size in sizes:
        flops = 2 * size**3
        if best and flops / (best * 1e9) > max_seconds:
            continue
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        torch.matmul(a[:64, :64], b[:64, :64])  # kernel selection, thread pool start
        _sync(device)
        calls, started = 0, time.perf_counter()
        while True:
            torch.matmul(a, b)
            _sync(device)
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds:
                break
        rate = flops * calls / elapsed / 1e9
        if rate > best:
            best, best_size = rate, size
    return best, best_size


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------- one row, in its own process
def _measure(row: dict, device_name: str, threads: int, repeats: int, single_run_s: float, queue) -> None:
    try:
        queue.put(_measure_row(row, device_name, threads, repeats, single_run_s))
    except Exception as error:  # noqa: BLE001 - reported in the table instead of killing the benchmark
        queue.put({"error": f"{type(error).__name__}: {error}"})


def _measure_row(row: dict, device_name: str, threads: int, repeats: int, single_run_s: float) -> dict:
    import dataclasses

    from diffsal.inference.precision import autocast
    from diffsal.models import DiffSalConfig
    from diffsal.models.cost import model_flops
    from diffsal.models.loading import build_model
    from diffsal.models.published.config import PublishedConfig

    torch.set_num_threads(threads)
    device = torch.device(device_name)
    if row["variant"] == "torchvision_attention":  # this process only: the blocks keep torchvision's attention
        import diffsal.models.video as video

        video.use_sdpa = lambda blocks: None
    if row["preset"].startswith("published-"):
        config = PublishedConfig.preset(row["preset"].removeprefix("published-"))
    else:
        config = dataclasses.replace(DiffSalConfig.preset(row["preset"]), frames_out=row["frames_out"])
    torch.manual_seed(0)
    model = build_model(config).to(device).eval()
    if row["variant"] == "channels_last":
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)
            elif isinstance(module, torch.nn.Conv3d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last_3d)
    elif row["variant"] == "compile":
        model.video_encoder = torch.compile(model.video_encoder)
        if model.audio_encoder is not None:
            model.audio_encoder = torch.compile(model.audio_encoder)
        model.saliency_unet = torch.compile(model.saliency_unet)
    batch = row["batch_size"]
    generator = torch.Generator().manual_seed(1)
    frames = torch.randn(batch, 3, config.num_frames, config.height, config.width, generator=generator).to(device)
    audio_transform = config.preprocessing().audio
    audio = torch.randn(batch, *audio_transform.shape, generator=generator).to(device) if config.use_audio else None
    noise = torch.randn(batch, config.frames_out, config.height, config.width, generator=generator)
    rss_loaded_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def call() -> float:
        _sync(device)
        started = time.perf_counter()
        with autocast(device, row["precision"]):
            model.sample(frames, audio, steps=row["steps"], noise=noise)
        _sync(device)
        return time.perf_counter() - started

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    first = call()
    times = [first] if first > single_run_s else [call() for _ in range(repeats)]
    seconds = statistics.median(times)
    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated(device) / 2**20
        added_mib = peak_mib
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        added_mib = peak_mib - rss_loaded_mib
    flops = model_flops(config)
    frames_per_s = batch * config.frames_out / seconds
    return {
        "s_per_call": seconds,
        "runs": len(times),
        "warmup_s": first,
        "frames_per_s": frames_per_s,
        "gflops_per_frame": flops.per_frame(row["steps"]) / 1e9,
        "achieved_gflops": flops.per_frame(row["steps"]) * frames_per_s / 1e9,
        "peak_mib": peak_mib,
        "added_mib": added_mib,
    }


def measure(row: dict, device: str, threads: int, repeats: int, single_run_s: float) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(row, device, threads, repeats, single_run_s, queue))
    process.start()
    result = queue.get()
    process.join()
    return {**row, **result}


# ---------------------------------------------------------------------- profile
def profile_paper(device: torch.device, threads: int, rows: int = 18) -> str:
    """torch.profiler table of one paper-preset clip (K = 8, fp32, one step), after a warm-up call."""
    import dataclasses

    from torch.profiler import ProfilerActivity, profile

    from diffsal.models import DiffSal, DiffSalConfig

    torch.set_num_threads(threads)
    config = dataclasses.replace(DiffSalConfig.preset("paper"), frames_out=8)
    torch.manual_seed(0)
    model = DiffSal(config).to(device).eval()
    frames = torch.randn(1, 3, config.num_frames, config.height, config.width, device=device)
    audio = torch.randn(1, config.audio.num_samples, device=device)
    model.sample(frames, audio, steps=1)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, with_flops=True) as profiler:
        model.sample(frames, audio, steps=1)
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return profiler.key_averages().table(sort_by=sort, row_limit=rows, max_name_column_width=45)


# ---------------------------------------------------------------------- report
def published_ratio(row: dict, rows: list[dict]) -> str:
    """frames/s of `row` over that of the published-av row computed as the authors' code, with the same steps,
    precision and batch."""
    if row["preset"] == "tiny":
        return "-"
    for base in rows:
        if base["preset"] == "published-av" and "error" not in base and base["variant"] == PUBLISHED_COMPUTATION and all(
                base[key] == row[key] for key in ("steps", "precision", "batch_size")):
            return f"{row['frames_per_s'] / base['frames_per_s']:.2f}x"
    return "-"


def print_table(rows: list[dict], rates: dict[str, float]) -> None:
    print("| preset | K | steps | precision | variant | batch | s / call | frames/s | vs published | GFLOPs / frame | "
          "achieved GFLOP/s | % of matmul | peak memory MiB (added) |")
    print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        head = (f"| {row['preset']} | {row['frames_out']} | {row['steps']} | {row['precision']} | {row['variant']} | "
                f"{row['batch_size']} |")
        if "error" in row:
            print(f"{head} failed: {row['error']} ||||||||")
            continue
        share = 100 * row["achieved_gflops"] / rates[row["precision"]]
        runs = " (1 run)" if row["runs"] == 1 else ""
        print(f"{head} {row['s_per_call']:.3f}{runs} | {row['frames_per_s']:.3f} | {published_ratio(row, rows)} | "
              f"{row['gflops_per_frame']:.2f} | "
              f"{row['achieved_gflops']:.1f} | {share:.0f} % | {row['peak_mib']:.0f} ({row['added_mib']:.0f}) |")


def print_ratios(rows: list[dict]) -> None:
    """K = max vs K = 1 at the same preset, steps, precision and variant."""
    done = [row for row in rows if "error" not in row]
    lines = []
    for row in done:
        if row["frames_out"] == 1:
            continue
        for base in done:
            same = all(base[key] == row[key] for key in ("preset", "steps", "precision", "variant", "batch_size"))
            if same and base["frames_out"] == 1:
                lines.append(f"- {row['preset']}, {row['steps']} step(s), {row['precision']}, {row['variant']}: "
                             f"K = {row['frames_out']} vs K = 1: FLOPs per frame "
                             f"{base['gflops_per_frame'] / row['gflops_per_frame']:.3f}x lower, frames/s "
                             f"{row['frames_per_s'] / base['frames_per_s']:.2f}x higher")
    if lines:
        print("\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="tiny,paper,published-av",
                        help="diffsal presets (tiny, paper, fast) and published-av / published-visual")
    parser.add_argument("--frames-out", default="1,8", help="values of K (default 1,8)")
    parser.add_argument("--steps", default="1,4")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--variants", default="base", help=f"any of {','.join(VARIANTS)} (default base)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads for the matmul and the model (default: torch's, all cores)")
    parser.add_argument("--batch-size", type=int, help="clips per call (default: paper 1, tiny 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per row after the warm-up (median)")
    parser.add_argument("--single-run-s", type=float, default=30.0,
                        help="a row whose warm-up call takes longer is reported from that call alone (default 30)")
    parser.add_argument("--matmul-max-s", type=float, default=10.0, help="skip matmul sizes predicted slower than this")
    parser.add_argument("--quick", action="store_true", help="steps 1 only and one timed run per row")
    parser.add_argument("--profile", action="store_true", help="also profile one paper-preset clip (K 8, fp32)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible")
    split = lambda text: [item.strip() for item in text.split(",") if item.strip()]  # noqa: E731
    steps = [1] if args.quick else [int(value) for value in split(args.steps)]
    repeats = 1 if args.quick else args.repeats
    for variant in split(args.variants):
        if variant not in VARIANTS:
            raise SystemExit(f"--variants: unknown {variant!r}; choose from {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)

    started, load = time.perf_counter(), os.getloadavg()[0]
    sizes = [4096, 8192] if device.type == "cuda" else [512, 1024, 2048, 4096]

    def measure_rates(when: str) -> dict[str, tuple[float, int]]:
        measured = {}
        for name in split(args.precisions):
            measured[name] = matmul_rate(DTYPES[name], device, sizes, args.matmul_max_s)
            print(f"matmul {name} ({when}): {measured[name][0]:.1f} GFLOP/s (square {measured[name][1]}, "
                  f"{args.threads} thread(s))", file=sys.stderr, flush=True)
        return measured

    before = measure_rates("before")

    rows = []
    for preset in split(args.presets):
        values_of_k = [1] if preset.startswith("published-") else [int(value) for value in split(args.frames_out)]
        for frames_out in values_of_k:
            for step_count in steps:
                for precision in split(args.precisions):
                    variants = split(args.variants)
                    if preset.startswith("published-") and PUBLISHED_COMPUTATION not in variants:
                        variants.append(PUBLISHED_COMPUTATION)
                    for variant in variants:
                        batch = args.batch_size or (8 if preset == "tiny" else 1)
                        row = {"preset": preset, "frames_out": frames_out, "steps": step_count,
                               "precision": precision, "variant": variant, "batch_size": batch}
                        result = measure(row, args.device, args.threads, repeats, args.single_run_s)
                        rows.append(result)
                        print(f"{preset} K={frames_out} steps={step_count} {precision} {variant}: "
                              + (result["error"] if "error" in result else
                                 f"{result['frames_per_s']:.3f} frames/s, {result['achieved_gflops']:.1f} GFLOP/s"),
                              file=sys.stderr, flush=True)

    after = measure_rates("after")
    rates = {name: max(before[name][0], after[name][0]) for name in before}
    print(f"\n{args.device}, {args.threads} thread(s); matmul GFLOP/s before / after the rows: "
          + ", ".join(f"{name} {before[name][0]:.1f} (square {before[name][1]}) / {after[name][0]:.1f} "
                      f"(square {after[name][1]})" for name in before)
          + f"; % of matmul uses the higher; load average at the start {load:.1f}, at the end "
            f"{os.getloadavg()[0]:.1f}; wall {time.perf_counter() - started:.0f} s\n")
    print_table(rows, rates)
    print_ratios(rows)
    profile = None
    if args.profile:
        profile = profile_paper(device, args.threads)
        print("\nProfile: paper preset, K = 8, fp32, 1 step, one clip\n")
        print(profile)
    if args.json:
        args.json.write_text(json.dumps({"matmul_before": before, "matmul_after": after, "rows": rows,
                                         "threads": args.threads, "device": args.device, "profile": profile},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
