#!/usr/bin/env bash
# Fine-tune the three STAViS splits, each from the SAME pre-trained model (no split sees its test videos).
#   bash scripts/av_finetune_splits.sh PRETRAINED_DIR [out_dir=RUNS] [extra key=value overrides...]
# Split k trains into RUNS/split<k> (default RUNS: runs/av_finetune); an out_dir= override names that
# parent folder, so the three runs never share a folder. Other arguments (e.g. --resume) go to every split.
# NPROC=4 runs each split with torchrun on 4 processes (DDP); default: one process.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 PRETRAINED_DIR [out_dir=RUNS] [key=value ...]" >&2
    exit 2
fi
pretrained=$1
shift
runs=runs/av_finetune
passed=()
for argument in "$@"; do
    if [[ "$argument" == out_dir=* ]]; then
        runs=${argument#out_dir=}
    else
        passed+=("$argument")
    fi
done
nproc=${NPROC:-1}
for split in 1 2 3; do
    overrides=("model.init_from=${pretrained}" "data.split=${split}" "${passed[@]}" "out_dir=${runs}/split${split}")
    if [[ "$nproc" -gt 1 ]]; then
        torchrun --nproc_per_node="$nproc" -m diffsal train --config configs/av_finetune.yaml "${overrides[@]}"
    else
        diffsal train --config configs/av_finetune.yaml "${overrides[@]}"
    fi
done
