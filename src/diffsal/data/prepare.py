"""Convert a user's own videos into the STAViS layout, so that they go through the benchmark code.

For each video ``<name>.mp4`` (or .mov/.mkv/.avi/.webm/.m4v), named by `diffsal.data.layout.video_names`
(the rule `diffsal predict` names its output folders by):

- ``video_frames/<DB>/<name>/img_00001.jpg ...`` every frame in display order, and
  ``.prepared.json`` naming the video file they were decoded from;
- ``video_audio/<DB>/<name>/<name>.wav`` 16 kHz mono 16-bit, sample 0 at the first frame's time
  (an audio stream that starts late or early is shifted onto the video's clock); no wav when the
  video has no sound;
- one line ``<name> <n_frames> <fps>`` in ``fold_lists/<DB>_list_test_1_fps.txt``.

Read it back with ``AVSaliencyDataset(root, DB, split=1, part="test", annotations=False,
audio="optional")``. Frames go to a hidden folder first and are renamed when complete, so an
interrupted run never leaves a half-written video under its final name. A rerun reuses a video's
frames only when ``.prepared.json`` says they come from the same file (name and size); frames made
from another file (``a b.mp4`` prepared earlier, now ``a_b.mp4``, both named ``a_b``) are never
taken for this one nor replaced without ``overwrite``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io.wavfile
from PIL import Image

from diffsal.data.fold_lists import FoldEntry, read_fold_list
from diffsal.data.layout import STAVIS_FOLDERS, STAVIS_FRAME_PATTERN, VIDEO_SUFFIXES, StavisLayout, count_numbered, video_files, video_names
from diffsal.errors import STORAGE_ERRNOS, InputError, StorageError
from diffsal.io.atomic import atomic_output, temporary_stem
from diffsal.io.audio import MODEL_SAMPLE_RATE_HZ, read_audio
from diffsal.io.paths import check_input_path, check_output_folder
from diffsal.io.video import VideoReader

DEFAULT_DATABASE = "User"
SOURCE_NAME = ".prepared.json"  # in a video's frames folder: which file its frames come from


@dataclass(frozen=True)
class PreparedVideo:
    source: Path
    name: str
    num_frames: int
    fps: float
    has_audio: bool
    reused: bool  # already prepared by an earlier run, left as it was
    timing_drift_s: float = 0.0  # most a frame's k / fps differs from its time in the source (variable frame rate)


def find_videos(inputs: list[str | Path]) -> list[Path]:
    """Video files among `inputs` (files, or folders searched one level deep), sorted, unique."""
    found: list[Path] = []
    for item in inputs:
        item = check_input_path(item)
        found += video_files(item) if item.is_dir() else [item]
    unique = list(dict.fromkeys(path.resolve() for path in found))
    if not unique:
        raise InputError(f"no video files ({', '.join(VIDEO_SUFFIXES)}) in {', '.join(map(str, inputs))}")
    return unique


def prepare_videos(
    inputs: list[str | Path],
    root: str | Path,
    database: str = DEFAULT_DATABASE,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    progress: Callable[[PreparedVideo], None] | None = None,
) -> list[PreparedVideo]:
    """Prepare every video of `inputs` under `root`; returns one entry per video.

    A video whose frames folder already holds all its frames, decoded from the same file, is reused
    unless `overwrite`.

    Raises:
        InputError: before any work: a bad database name, a missing input, no videos, two videos with
            the same name, an output root that cannot be made, a frames folder that holds another
            file's frames (without `overwrite`).
    """
    if not database or re.search(r"[\s/\\]", database):
        raise InputError(f"database name must be non-empty without spaces or slashes, got {database!r}")
    videos = find_videos(inputs)
    layout = StavisLayout(check_output_folder(root, folders=STAVIS_FOLDERS))
    names = _keep_earlier_names(layout, database, dict(zip(video_names(videos), videos)))
    if not overwrite:
        taken = [problem for name, path in names.items()
                 if (problem := _made_from_another_file(layout.frames_dir(database, name), path))]
        if taken:
            more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
            raise InputError(f"{taken[0]}{more}; pass --overwrite to replace them, or use another --db")
    prepared = []
    for name, path in names.items():
        result = _prepare_one(layout, database, name, path, jpeg_quality, overwrite)
        prepared.append(result)
        _update_fold_list(layout, database, result)
        if progress is not None:
            progress(result)
    return prepared


def _prepare_one(layout: StavisLayout, database: str, name: str, path: Path, jpeg_quality: int, overwrite: bool) -> PreparedVideo:
    frames_dir = layout.frames_dir(database, name)
    wav_path = layout.wav_path(database, name)
    with VideoReader(path) as reader:
        num_frames, fps = reader.num_frames, reader.fps
        if fps <= 0:
            raise InputError(f"{path}: cannot tell the frame rate")
        # The layout has one rate per video: a variable-rate file's frames are placed at k / mean fps.
        drift_s = max(abs(reader.time_of(index) - index / fps) for index in range(num_frames))
        complete = count_numbered(frames_dir, STAVIS_FRAME_PATTERN) == (num_frames, [])
        if complete and not overwrite:
            return PreparedVideo(path, name, num_frames, fps, wav_path.is_file(), reused=True, timing_drift_s=drift_s)
        partial = frames_dir.with_name(f".{temporary_stem(name)}.partial")  # within the file-name limit
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            for index in range(num_frames):
                Image.fromarray(reader.frame(index)).save(partial / STAVIS_FRAME_PATTERN.format(index + 1),
                                                          quality=jpeg_quality)
            (partial / SOURCE_NAME).write_text(json.dumps(_source_of(path)) + "\n", encoding="utf-8")
            has_audio = _write_wav(path, wav_path, reader.duration_s)
            shutil.rmtree(frames_dir, ignore_errors=True)
            partial.rename(frames_dir)
        except BaseException as error:
            shutil.rmtree(partial, ignore_errors=True)
            if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
                raise StorageError(f"{layout.root}: cannot write {name} ({error.strerror}); the videos prepared "
                                   "before it are kept, a rerun continues with the rest") from error
            raise
    return PreparedVideo(path, name, num_frames, fps, has_audio, reused=False, timing_drift_s=drift_s)


def _write_wav(path: Path, wav_path: Path, duration_s: float) -> bool:
    """The sound of `path` as a 16 kHz mono wav on the video's clock; False (and no wav) without sound."""
    track = read_audio(path, MODEL_SAMPLE_RATE_HZ, mono=True)
    if not track.has_audio:
        wav_path.unlink(missing_ok=True)
        return False
    # Place sample 0 at the first frame: window() works on the video's clock.
    samples = track.window(duration_s / 2, duration_s)[0]
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(wav_path) as temporary:
        scipy.io.wavfile.write(temporary, MODEL_SAMPLE_RATE_HZ,
                               np.clip(np.rint(samples * 32767), -32768, 32767).astype(np.int16))
    return True


def _source_of(path: Path) -> dict:
    """What identifies a video file across runs, also after its folder moved: its name and size."""
    return {"file": path.name, "bytes": path.stat().st_size}


def _keep_earlier_names(layout: StavisLayout, database: str, names: dict[str, Path]) -> dict[str, Path]:
    """`names` with every video that an earlier run prepared under another name given that name back.

    Names depend on the files given together (``clip.mp4`` alone is ``clip``, beside ``clip.avi`` it is
    ``clip_mp4``), so without this a rerun with one more file would list the same video twice.
    """
    folder = layout.database_frames_dir(database)
    earlier = {}
    if folder.is_dir():
        for frames_dir in folder.iterdir():
            try:
                source = json.loads((frames_dir / SOURCE_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(source, dict):
                earlier[json.dumps(source, sort_keys=True)] = frames_dir.name
    kept = {}
    for name, path in names.items():
        kept[earlier.get(json.dumps(_source_of(path), sort_keys=True), name)] = path
    if len(kept) < len(names):  # an earlier name now belongs to two inputs: the files themselves are the same
        raise InputError(f"{folder}: two of the inputs were prepared earlier under one name; give each file once")
    return kept


def _made_from_another_file(frames_dir: Path, path: Path) -> str | None:
    """Why `frames_dir` must not be reused for, nor replaced by, the frames of `path`; None when it may."""
    if not frames_dir.exists():
        return None
    try:
        source = json.loads((frames_dir / SOURCE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        source = None
    if source == _source_of(path):
        return None
    if isinstance(source, dict) and "file" in source:
        return f"{frames_dir}: holds the frames of {source['file']!r}, a different file from {path.name!r}"
    return f"{frames_dir}: holds frames that diffsal prepare did not make from {path.name!r}"


def _update_fold_list(layout: StavisLayout, database: str, video: PreparedVideo) -> None:
    """Add or replace the video's line in the test list of split 1, keeping other videos' lines."""
    path = layout.fold_list(database, "test", 1)
    entries = read_fold_list(path).entries if path.is_file() else []
    entries = [entry for entry in entries if entry.video != video.name] + [FoldEntry(video.name, video.num_frames, video.fps)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        temporary.write_text("".join(f"{entry.video} {entry.num_frames} {entry.fps:.10g}\n" for entry in entries), encoding="utf-8")
