"""Training-step throughput and peak memory of the model presets (random inputs, no data loading).

    python benchmarks/train_bench.py                      # tiny preset, CPU, fp32 and bf16
    python benchmarks/train_bench.py --preset paper --batch-size 1 --steps 2
    python benchmarks/train_bench.py --preset paper --device cuda --batch-size 4 --amp bf16

Each configuration runs in a fresh process so that its peak memory is its own. A step is one
forward + backward + Adam update of `DiffSal.training_loss`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time

from rich.console import Console
from rich.table import Table


def _measure(preset: str, device: str, batch_size: int, amp: str, steps: int, warmup: int, queue) -> None:
    import torch

    from diffsal.models.diffsal import DiffSal

    torch.manual_seed(0)
    model = DiffSal.from_preset(preset).to(device).train()
    config = model.config
    frames = torch.randn(batch_size, 3, config.num_frames, config.height, config.width, device=device)
    audio = torch.randn(batch_size, config.audio.num_samples, device=device) if config.use_audio else None
    target = torch.rand(batch_size, 1, config.height, config.width, device=device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timings = []
    for step in range(warmup + steps):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype is not None):
            loss = model.training_loss(frames, audio, target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            timings.append(time.perf_counter() - start)
    seconds = sorted(timings)[len(timings) // 2]
    if device == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, peak_mib, torch.get_num_threads()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny", choices=["tiny", "paper"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--amp", default="both", choices=["none", "bf16", "both"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    amps = ["none", "bf16"] if args.amp == "both" else [args.amp]
    context = multiprocessing.get_context("spawn")
    table = Table(title=f"training step, {args.preset} preset on {args.device}")
    for column in ("batch", "autocast", "s / step (median)", "clips / s", "peak memory MiB", "threads"):
        table.add_column(column, justify="right")
    for amp in amps:
        queue = context.Queue()
        process = context.Process(target=_measure, args=(args.preset, args.device, args.batch_size, amp,
                                                         args.steps, args.warmup, queue))
        process.start()
        seconds, peak_mib, threads = queue.get()
        process.join()
        memory_kind = "allocated" if args.device == "cuda" else "RSS"
        table.add_row(str(args.batch_size), amp, f"{seconds:.3f}", f"{args.batch_size / seconds:.1f}",
                      f"{peak_mib:.0f} ({memory_kind})", str(threads))
    Console().print(table)


if __name__ == "__main__":
    main()
