"""Compare diffsal's published model, stage by stage, with outputs of the authors' code.

    python scripts/check_published.py CHECKPOINT REFERENCE.npz [--kind av|visual] [--threads 2]

CHECKPOINT is a `best.pth` in the released layout; REFERENCE.npz holds what the published code computed from
it for one clip: the inputs `frames_uint8` (16, H0, W0, 3) (the decoded clip), `rgb` (1, 3, 16, 224, 384),
`noise` (1, 1, 224, 384) and, for audio-visual models, `waveform_int16` (the whole mono WAV), `logmel_examples`
(9, 1, 64, 64) and `audio` (1, 1, 9, 112, 192); the outputs `feat_mvit_0..3` (the four MViT maps, coarsest
first), `feat_vggish` (9, 512, 7, 12), `feat_audio` (1, 512, 9, 7, 12), `decoder_t500` (one network call at
t = 500), `pred_ddim1` / `pred_ddim4` (DDIM with 1 / 4 leading steps); and `meta`, a JSON string whose
`inputs` gives `frame_indices` (1-based), `fps` and `sample_rate`. Prints the max abs error of every stage, and of
diffsal's preprocessing rebuilding `rgb` and the log-mel examples from the raw frames and WAV.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from diffsal.io.audio import AudioTrack
from diffsal.models.published.audio_frontend import published_log_mel_examples
from diffsal.models.published.convert import from_published


def max_error(ours: torch.Tensor, theirs: np.ndarray) -> float:
    theirs_tensor = torch.from_numpy(np.asarray(theirs)).float()
    if tuple(ours.shape) != tuple(theirs_tensor.shape):
        raise SystemExit(f"shape mismatch: ours {tuple(ours.shape)} vs reference {tuple(theirs_tensor.shape)}")
    return float((ours.float() - theirs_tensor).abs().max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("reference")
    parser.add_argument("--kind", choices=("av", "visual"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    reference = np.load(args.reference)
    inputs = json.loads(str(reference["meta"]))["inputs"]
    model, report = from_published(args.checkpoint, kind=args.kind)
    print(f"converted: {report.summary()}", file=sys.stderr)
    preprocessing = model.preprocessing
    rows: list[tuple[str, float]] = []

    frames = np.stack([preprocessing.frames.resize(frame) for frame in reference["frames_uint8"]])
    rows.append(("rgb (from frames_uint8)", max_error(preprocessing.frames.normalise(frames)[None], reference["rgb"])))
    rgb = torch.from_numpy(reference["rgb"]).float()
    audio = None
    if model.audio_encoder is not None:
        samples = reference["waveform_int16"].astype(np.float64) / 32768.0
        first = int(inputs["frame_indices"][0]) - 1
        examples = published_log_mel_examples(samples, int(inputs["sample_rate"]), first, float(inputs["fps"]))
        rows.append(("logmel_examples (from waveform_int16)", max_error(examples[:, None], reference["logmel_examples"])))
        centre = first + model.config.num_frames // 2
        track = AudioTrack(samples[None].astype(np.float32), int(inputs["sample_rate"]), 0.0, has_audio=True)
        track_input = preprocessing.audio(track, centre, 0.0, float(inputs["fps"]))
        rows.append(("audio (from waveform_int16)", max_error(track_input[None], reference["audio"])))
        audio = torch.from_numpy(reference["audio"]).float()
    noise = torch.from_numpy(reference["noise"]).float()

    with torch.no_grad():
        conditioning = model.encode(rgb, audio)
        for index, video_map in enumerate(conditioning.video_maps[::-1]):
            rows.append((f"feat_mvit_{index}", max_error(video_map, reference[f"feat_mvit_{index}"])))
        if audio is not None:
            trunk = model.audio_encoder.trunk(audio.reshape(-1, 1, *audio.shape[-2:]))
            rows.append(("feat_vggish", max_error(trunk, reference["feat_vggish"])))
            rows.append(("feat_audio", max_error(conditioning.audio, reference["feat_audio"])))
        t500 = torch.full((1,), 500, dtype=torch.long)
        rows.append(("decoder_t500", max_error(model.denoise(noise, t500, conditioning), reference["decoder_t500"])))
        for steps in (1, 4):
            result = model.sample(rgb, audio, steps=steps, noise=noise)
            rows.append((f"pred_ddim{steps}", max_error(result.mean, reference[f"pred_ddim{steps}"])))

    width = max(len(name) for name, _ in rows)
    print(f"| {'stage'.ljust(width)} | max abs error |")
    print(f"|{'-' * (width + 2)}|---------------|")
    for name, error in rows:
        print(f"| {name.ljust(width)} | {error:13.2e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
