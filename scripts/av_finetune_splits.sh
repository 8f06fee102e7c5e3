#!/usr/bin/env bash
# Fine-tune the three STAViS splits, each from the SAME pre-trained model (no split sees its test videos).
#   bash scripts/av_finetune_splits.sh PRETRAINED_DIR [extra key=value overrides...]
# NPROC=4 runs each split with torchrun on 4 processes (DDP); default: one process.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 PRETRAINED_DIR [key=value ...]" >&2
    exit 2
fi
pretrained=$1
shift
nproc=${NPROC:-1}
for split in 1 2 3; do
    overrides=("model.init_from=${pretrained}" "data.split=${split}" "out_dir=runs/av_finetune/split${split}" "$@")
    if [[ "$nproc" -gt 1 ]]; then
        torchrun --nproc_per_node="$nproc" -m diffsal train --config configs/av_finetune.yaml "${overrides[@]}"
    else
        diffsal train --config configs/av_finetune.yaml "${overrides[@]}"
    fi
done
