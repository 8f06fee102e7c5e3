#!/usr/bin/env bash
# Fine-tune the three STAViS splits, each from the SAME pre-trained model (no split sees its test videos).
#   bash scripts/av_finetune_splits.sh PRETRAINED_DIR [out_dir=RUNS] [extra key=value overrides...]
# Split k trains into RUNS/split<k> (default RUNS: runs/av_finetune); an out_dir= override names that
# parent folder, so the three runs never share a folder. Other key=value overrides and options (e.g.
# --resume) go to every split; data.split and model.init_from are the script's.
# NPROC=4 runs each split with torchrun on 4 processes (DDP); default: one process.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 PRETRAINED_DIR [out_dir=RUNS] [key=value ...]" >&2
    exit 2
fi
pretrained=$1
shift
runs=runs/av_finetune
overrides=()
options=()
for argument in "$@"; do
    case "$argument" in
        out_dir=*) runs=${argument#out_dir=} ;;
        data.split=*|model.init_from=*)
            echo "$0: $argument is set by this script (one run per split, each from PRETRAINED_DIR)" >&2
            exit 2 ;;
        -*) options+=("$argument") ;;
        *) overrides+=("$argument") ;;
    esac
done
nproc=${NPROC:-1}
for split in 1 2 3; do
    # Options (--resume, --overwrite, ...) after every key=value: argparse takes the overrides as one list.
    arguments=("${overrides[@]}" "model.init_from=${pretrained}" "data.split=${split}" "out_dir=${runs}/split${split}"
               "${options[@]}")
    if [[ "$nproc" -gt 1 ]]; then
        torchrun --nproc_per_node="$nproc" -m diffsal train --config configs/av_finetune.yaml "${arguments[@]}"
    else
        diffsal train --config configs/av_finetune.yaml "${arguments[@]}"
    fi
done
