"""Writing a synthetic video in the STAViS layout, plus its mp4 and ground-truth metadata.

Byte-for-byte reproducible: JPEGs through Pillow with fixed settings, the wav as 16-bit PCM,
the fixMap MAT files with a fixed header (scipy stamps the creation time into it), JSON with
sorted keys, and the mp4 through `diffsal.io.write_video` (x264 + FFmpeg's AAC encoder).
"""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.io.wavfile
from PIL import Image

from diffsal.data.annotations import write_fixation_mat, write_saliency_map
from diffsal.data.layout import StavisLayout
from diffsal.io.atomic import atomic_output
from diffsal.io.audio import AudioTrack
from diffsal.io.writer import write_video
from diffsal.synth.audio import SAMPLE_RATE_HZ, pitch_hz
from diffsal.synth.config import SynthConfig, SyntheticVideo
from diffsal.synth.observers import fixation_map, saliency_map
from diffsal.synth.scene import PALETTE, render_frame

GENERATOR_VERSION = 1  # bump when the same seed starts to give different data
FRAME_JPEG_QUALITY = 92
_FILE_WRITER_THREADS = 4
_MAT_HEADER_BYTES = 116  # the MAT-5 text header; scipy writes the current time into it


def write_synthetic_video(root: str | Path, config: SynthConfig, video: SyntheticVideo) -> None:
    """Frames, wav, eyeMaps, fixMaps, mp4 and ``meta/<DB>/<video>.json`` of one video."""
    layout = StavisLayout(root)
    database = config.database
    size = (config.width, config.height)
    frames_dir = layout.frames_dir(database, video.name)
    maps_dir = layout.maps_dir(database, video.name)
    frames_dir.mkdir(parents=True, exist_ok=True)
    maps_dir.mkdir(parents=True, exist_ok=True)

    def write_frame_files(index: int, frame: np.ndarray) -> None:
        Image.fromarray(frame).save(layout.frame_path(database, video.name, index), quality=FRAME_JPEG_QUALITY)
        fixations = fixation_map(video.gaze[index].astype(np.int64), size)
        write_saliency_map(layout.eye_map_path(database, video.name, index), saliency_map(fixations, config.sigma_px))
        _write_fixation_mat_reproducibly(layout.fix_map_path(database, video.name, index), fixations)

    # Creating ~600 small files per video is bound by file-system latency: overlap it with the
    # rendering and the mp4 encoding (each file is written whole by one thread, so bytes do not
    # depend on scheduling).
    with ThreadPoolExecutor(max_workers=_FILE_WRITER_THREADS) as pool:
        pending = []

        def frames():
            for index in range(video.num_frames):
                frame = render_frame(video.scene, video.time_of(index))
                pending.append(pool.submit(write_frame_files, index, frame))
                yield frame

        wav_path = layout.wav_path(database, video.name)
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(wav_path) as temporary:
            scipy.io.wavfile.write(temporary, SAMPLE_RATE_HZ, _to_pcm16(video.audio))
        track = AudioTrack(video.audio[None, :], SAMPLE_RATE_HZ)
        write_video(layout.mp4_path(database, video.name), frames(), config.fps, audio=track)
        for future in pending:
            future.result()  # re-raise the first failed write
    _write_json(layout.meta_path(database, video.name), video_metadata(config, video))


def write_fold_lists(root: str | Path, config: SynthConfig, splits: dict[int, tuple[list[str], list[str]]]) -> None:
    """The fold lists (`StavisLayout.fold_list`) with ``name n_frames fps`` lines."""
    layout = StavisLayout(root)
    for split, (train, test) in splits.items():
        for part, names in (("train", train), ("test", test)):
            path = layout.fold_list(config.database, part, split)
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = "".join(f"{name} {config.num_frames} {config.fps:g}\n" for name in names)
            with atomic_output(path) as temporary:
                temporary.write_text(lines, encoding="utf-8")


def write_benchmark_info(root: str | Path, config: SynthConfig, splits: dict[int, tuple[list[str], list[str]]]) -> None:
    """``meta/<DB>/benchmark.json``: the configuration that reproduces the data, and the splits."""
    _write_json(benchmark_info_path(root, config), benchmark_info(config, splits))


def benchmark_info_path(root: str | Path, config: SynthConfig) -> Path:
    return StavisLayout(root).meta_path(config.database, "benchmark")


def benchmark_info(config: SynthConfig, splits: dict[int, tuple[list[str], list[str]]]) -> dict:
    """What ``benchmark.json`` holds: the configuration that reproduces the data, and the splits."""
    layout = {} if config.layout == "stavis" else {"layout": config.layout}
    return {
        **layout,
        "generator_version": GENERATOR_VERSION,
        "database": config.database,
        "num_videos": config.num_videos,
        "seed": config.seed,
        "sound_seed": config.sound_seed,
        "size": [config.width, config.height],
        "fps": config.fps,
        "seconds": config.seconds,
        "num_frames": config.num_frames,
        "observers": config.num_observers,
        "objects": list(config.objects),
        "distractors": config.distractors,
        "snr_db": config.snr_db,
        "test_fraction": config.test_fraction,
        "sigma_px": config.sigma_px,
        "audio_sample_rate_hz": SAMPLE_RATE_HZ,
        "palette": [{"colour": name, "rgb": list(rgb), "pitch_hz": round(pitch_hz(index), 3)}
                    for index, (name, rgb) in enumerate(PALETTE)],
        "splits": {str(split): {"train": train, "test": test} for split, (train, test) in splits.items()},
    }


def video_metadata(config: SynthConfig, video: SyntheticVideo) -> dict:
    """The generator's ground truth of one video: objects, sound schedule, per-frame truth."""
    return {
        "video": video.name,
        "fps": config.fps,
        "num_frames": video.num_frames,
        "size": [config.width, config.height],
        "objects": [
            {"colour": PALETTE[item.colour][0], "palette_index": item.colour, "shape": item.shape,
             "radius_px": round(item.radius_px, 3), "pitch_hz": round(pitch_hz(item.colour), 3)}
            for item in video.scene.objects
        ],
        "schedule": [{"start_s": round(float(start), 6), "object": int(index)}
                     for start, index in zip(video.schedule.starts_s, video.schedule.sounding)],
        "sounding_object": [int(index) for index in video.sounding],
        "object_centres_px": np.round(video.positions, 2).tolist(),
        "looked_at": video.targets.tolist(),
    }


def _write_fixation_mat_reproducibly(path: Path, fixations: np.ndarray) -> None:
    buffer = io.BytesIO()
    write_fixation_mat(buffer, fixations)
    data = bytearray(buffer.getvalue())
    header = b"MATLAB 5.0 MAT-file, written by diffsal synth".ljust(_MAT_HEADER_BYTES, b" ")
    data[:_MAT_HEADER_BYTES] = header
    path.write_bytes(bytes(data))


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(samples * 32767.0), -32768, 32767).astype(np.int16)


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
