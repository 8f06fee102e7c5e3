#!/usr/bin/env bash
# The GPU measurements of docs/performance.md, as one script (about 9 minutes on one H200):
#
#   bash benchmarks/gpu_check.sh [OUT]        # OUT defaults to runs/gpu_check
#
# 1. benchmarks/speed.py on cuda: paper preset with K = 1, 8, 16 and the published model, bf16 and fp32,
#    1 and 4 DDIM steps, batch 8 (target: >= 200 frames/s in bf16 at one step).
# 2. the whole `diffsal predict` on a generated 1920x1080 30 fps mp4 with sound, paper preset at its defaults
#    (target: >= 70 % of the model's frames/s of step 1 at the same K, steps and precision).
# 3. the DataLoader alone: clips/s of 16x224x384 training clips from JPEG frame folders, 12 workers.
# 4. a 200-step training run of the paper preset at batch 16 (bf16) through `diffsal train` with the real data
#    loader on a generated 640x360 synthetic benchmark, GPU utilisation sampled every 0.5 s by nvidia-smi
#    (target: the loader never the bottleneck, i.e. utilisation near 100 % and steps/s equal to the step alone).
# 5. the cost of a distillation's teacher maps: frames/s of building the cache with the published audio-visual model
#    and with the paper preset on a generated 1280x720 30 fps mp4 (benchmarks/teacher_cache_bench.py).
# Every part writes its own log under OUT; the summary is OUT/summary.txt.
set -u
OUT=${1:-runs/gpu_check}
mkdir -p "$OUT"
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

log "1. model speed (benchmarks/speed.py --device cuda)"
"$PY" benchmarks/speed.py --device cuda --presets paper,published-av --frames-out 1,8,16 --precisions bf16,fp32 \
    --steps 1,4 --batch-size 8 --json "$OUT/speed.json" 2>&1 | tee "$OUT/speed.log" | tail -16 >> "$OUT/summary.txt"

log "2. whole predict, 1920x1080 30 fps, 300 frames"
"$PY" benchmarks/predict_breakdown.py --device cuda --size 1920x1080 --fps 30 --frames 300 2>&1 \
    | tee "$OUT/predict.log" | tail -14 >> "$OUT/summary.txt"

DATA="$OUT/synthetic_640x360"
if [ ! -f "$DATA/.complete" ]; then
    "$PY" -m diffsal synth --out "$DATA" --videos 40 --size 640x360 --fps 30 --seconds 8 --quiet && touch "$DATA/.complete"
fi

log "3. data loader alone (JPEG frame folders, 12 workers)"
"$PY" benchmarks/data_bench.py --root "$DATA" --workers 12 --batches 40 2>&1 | tee "$OUT/loader.log" \
    | tail -8 >> "$OUT/summary.txt"

log "4. 200 training steps, paper preset, batch 16, bf16, real loader (12 workers)"
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > "$OUT/gpu_util.csv" &
SAMPLER=$!
STARTED=$(date +%s.%N)
"$PY" -m diffsal train --config configs/synthetic_tiny.yaml --overwrite out_dir="$OUT/train" \
    model.preset=paper data.root="$DATA" data.num_workers=12 train.batch_size=16 train.amp=bf16 \
    train.max_steps=200 train.eval_every=1000 train.checkpoint_every=1000 train.log_every=20 \
    > "$OUT/train.log" 2>&1
STATUS=$?
ENDED=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null
"$PY" - "$OUT/gpu_util.csv" "$STARTED" "$ENDED" "$STATUS" >> "$OUT/summary.txt" <<'EOF'
import sys
path, started, ended, status = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rows = [line.split(",") for line in open(path) if line.strip()]
utilisation = [float(row[0]) for row in rows]
busy = utilisation[len(utilisation) // 10:]  # after start-up (model build, workers starting)
print(f"train exit status {status}; wall {ended - started:.1f} s for 200 steps of 16 clips "
      f"({200 * 16 / (ended - started):.1f} clips/s including start-up)")
if busy:
    print(f"GPU utilisation after the first 10 % of samples: mean {sum(busy) / len(busy):.1f} %, "
          f"min {min(busy):.0f} %, samples {len(busy)}; peak memory used {max(float(r[1]) for r in rows):.0f} MiB")
EOF
tail -5 "$OUT/train.log" >> "$OUT/summary.txt"

log "5. teacher-map cache for distillation (published-av and paper teachers, 1280x720, 96 frames)"
"$PY" benchmarks/teacher_cache_bench.py --device cuda --teachers published-av,paper --frames 96 2>&1 \
    | tee "$OUT/teacher_cache.log" | tail -6 >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
