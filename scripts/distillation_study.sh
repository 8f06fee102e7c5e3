#!/usr/bin/env bash
# The distillation study of docs/distillation.md: the tiny synthetic teacher distilled into the `fast` student on
# 40 other synthetic videos; each student scored on the teacher's test videos (split 1) against their fixations,
# with its sound and with silence.
#
#   scripts/distillation_study.sh WORK TEACHER DATA
#     WORK     a new folder for everything the study writes
#     TEACHER  the teacher model folder (e.g. runs/synthetic_tiny/checkpoints/best)
#     DATA     the teacher's benchmark (e.g. runs/synthetic), whose split-1 test videos score the students
set -euo pipefail
WORK=$1 TEACHER=$2 DATA=$3
DIFFSAL=${DIFFSAL:-diffsal}
RECIPE=$(dirname "$0")/../configs/distill_synthetic.yaml
mkdir -p "$WORK"
"$DIFFSAL" synth --out "$WORK/unlabelled" --videos 40 --seed 1 --quiet
VIDEOS="videos.paths=[$WORK/unlabelled/videos/Synthetic]"

score() {  # score STUDENT NAME [predict options]: predictions and CC/NSS/SIM/KLD of a student on DATA
  local student=$1 name=$2; shift 2
  "$DIFFSAL" predict "$DATA" --part test --split 1 --model "$student" --out "$WORK/predictions/$name" \
    --no-overlay "$@" > /dev/null 2>&1
  "$DIFFSAL" evaluate "$DATA" "$WORK/predictions/$name" --split 1 --metrics CC,NSS,SIM,KLD \
    --out "$WORK/evaluation/$name" --quiet > /dev/null
}

two_seeds() {  # two_seeds TEACHER NAME CACHE: a student per seed, scored with its sound and with silence
  local teacher=$1 name=$2 cache=$3 seed
  for seed in 0 1; do
    "$DIFFSAL" distill --config "$RECIPE" "$VIDEOS" teacher.path="$teacher" train.seed=$seed \
      out_dir="$WORK/${name}_seed$seed" --teacher-cache "$cache"
    score "$WORK/${name}_seed$seed/checkpoints/best" "${name}_seed$seed"
    score "$WORK/${name}_seed$seed/checkpoints/best" "${name}_seed${seed}_silence" --no-audio
  done
}

score "$TEACHER" teacher
two_seeds "$TEACHER" kl_cc "$WORK/cache_model"
# The diffusion x0 loss instead (the student then samples 4 DDIM steps).
"$DIFFSAL" distill --config "$RECIPE" "$VIDEOS" teacher.path="$TEACHER" loss=diffusion \
  student.overrides.diffusion.sampling_steps=4 out_dir="$WORK/diffusion_seed0" --teacher-cache "$WORK/cache_model"
score "$WORK/diffusion_seed0/checkpoints/best" diffusion_seed0
# The teacher as a folder of its PNG maps (what `diffsal predict` wrote).
"$DIFFSAL" predict "$WORK/unlabelled/videos/Synthetic" --model "$TEACHER" --out "$WORK/teacher_maps" --no-overlay \
  > /dev/null 2>&1
two_seeds "$WORK/teacher_maps" maps "$WORK/cache_maps"
# A student of the model teacher that is not seeded from it (its audio trunk starts untrained, as a maps
# teacher's student's does).
"$DIFFSAL" distill --config "$RECIPE" "$VIDEOS" teacher.path="$TEACHER" student.seed_from_teacher=false \
  out_dir="$WORK/unseeded_seed0" --teacher-cache "$WORK/cache_model"
score "$WORK/unseeded_seed0/checkpoints/best" unseeded_seed0
python3 - "$WORK" <<'PY'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
print("| predictor | CC | NSS | SIM | KLD |\n|---|---:|---:|---:|---:|")
for metrics in sorted((work / "evaluation").glob("*/metrics.json")):
    scores = json.loads(metrics.read_text())["databases"]["Synthetic"]["scores"]
    print(f"| {metrics.parent.name} | {scores['CC']:.4f} | {scores['NSS']:.3f} | {scores['SIM']:.4f} | {scores['KLD']:.4f} |")
PY
