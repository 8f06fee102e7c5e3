"""The teacher's maps of every video, computed once and kept: the targets a student is distilled on.

A cache folder holds ``teacher.json`` (the teacher's signature and the map size) and one ``<dataset>/<video>.npy``
per video: uint8 `(frames, height, width)`, each map min-max normalised to 0-255, at the student's frame
size (the teacher's map stretched as the student's frames are), with ``<dataset>/<video>.source.json``: the video it
was made from (`video_source`). Each file is written whole (temporary file, then rename), the source last, so a
killed run leaves complete files only and a rerun computes just the videos that are missing or have changed. A
video of the same name at another place is refused: its maps are another video's.
Under torchrun the videos are shared out among the ranks (video i to rank i mod N). A cache made by another
teacher, with other settings or at another size is refused, naming what differs: one cache feeds any number of
students of the same size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from diffsal.data.video_record import VideoRecord
from diffsal.distillation.videos import record_key
from diffsal.errors import InputError
from diffsal.io.atomic import atomic_output, remove_abandoned_temporaries, write_json
from diffsal.io.paths import check_output_folder
from diffsal.predictions.folder import describe_difference
from diffsal.training.distributed import TrainingGroup

CACHE_DOCUMENT = "teacher.json"
CACHE_FORMAT = "diffsal-teacher-cache"
SOURCE_SUFFIX = ".source.json"
CacheProgress = Callable[[str, int, int], None]  # (video, frames done of this rank's share, frames in it)


class Teacher(Protocol):
    def signature(self) -> dict[str, Any]: ...

    def maps(self, record: VideoRecord): ...


def to_levels(saliency: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float map of any size -> uint8 `size` (height, width): bilinear resize, then min-max normalised to 0-255
    (as `diffsal predict` writes its PNG maps, so that a model teacher and its maps give the same cache)."""
    height, width = size
    image = Image.fromarray(np.asarray(saliency, dtype=np.float32), mode="F")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    resized = np.asarray(image, dtype=np.float32)
    low, high = float(resized.min()), float(resized.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InputError("the teacher gave a map with NaN or inf values")
    if high <= low:
        return np.zeros(size, np.uint8)
    return np.round((resized - low) * (255.0 / (high - low))).astype(np.uint8)


def video_source(record: VideoRecord) -> dict[str, Any]:
    """What a video's cached maps were made from: its file (or folder of frames) by full path, frame count, size and
    modification time."""
    path = Path(record.frames)
    stat = path.stat()
    return {"input": str(path.resolve()), "frames": record.num_frames,
            "bytes": stat.st_size if path.is_file() else None, "modified_ns": stat.st_mtime_ns}


class TeacherCache:
    """The cache folder `root` for maps of `size` (height, width)."""

    def __init__(self, root: str | Path, size: tuple[int, int]) -> None:
        self.root = Path(root)
        self.size = (int(size[0]), int(size[1]))

    def path(self, record: VideoRecord) -> Path:
        return self.root / f"{record_key(record)}.npy"

    def source_path(self, record: VideoRecord) -> Path:
        return self.root / f"{record_key(record)}{SOURCE_SUFFIX}"

    def _recorded_source(self, record: VideoRecord) -> dict[str, Any] | None:
        try:
            recorded = json.loads(self.source_path(record).read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return recorded if isinstance(recorded, dict) else None

    def check_entries(self, records: list[VideoRecord]) -> None:
        """InputError when a video's cache file cannot be written (a folder in its place, or a file in place of
        its folder), or the cache holds the maps of another video of the same name (another file)."""
        for record in records:
            for path in (self.path(record), self.source_path(record)):
                check_output_folder(path.parent, files=(path.name,))
            recorded = self._recorded_source(record)
            if recorded is not None and recorded.get("input") != video_source(record)["input"]:
                raise InputError(f"{self.path(record)}: the teacher maps of {recorded.get('input')}, not of "
                                 f"{Path(record.frames).resolve()} (another video of the name {record_key(record)}); "
                                 "give another teacher_cache folder")

    def check_signature(self, signature: dict[str, Any]) -> None:
        """InputError when the folder holds a cache of another teacher, other settings or another size, or is
        something else than a folder."""
        check_output_folder(self.root, files=(CACHE_DOCUMENT,))
        document_path = self.root / CACHE_DOCUMENT
        if not document_path.exists():
            if self.root.is_dir() and any(self.root.iterdir()):
                raise InputError(f"{self.root}: not a teacher cache ({CACHE_DOCUMENT} missing) but not empty; "
                                 "give an empty or new folder")
            return
        try:
            document = json.loads(document_path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InputError(f"{document_path}: not a readable teacher cache document ({error})") from None
        if not isinstance(document, dict) or document.get("format") != CACHE_FORMAT:
            raise InputError(f"{document_path}: not a teacher cache document")
        recorded = {"teacher": document.get("teacher"), "size": document.get("size")}
        wanted = {"teacher": signature, "size": list(self.size)}
        if recorded["size"] != wanted["size"]:
            raise InputError(f"{self.root}: a teacher cache of {recorded['size']} maps; this student needs "
                             f"{wanted['size']} (give another teacher_cache folder)")
        if recorded["teacher"] != signature:
            raise InputError(f"{self.root}: a teacher cache made with other teacher settings "
                             f"({describe_difference(recorded['teacher'], signature)}); give another "
                             "teacher_cache folder or the settings it was made with")

    def is_complete(self, record: VideoRecord) -> bool:
        try:
            maps = np.load(self.path(record), mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return False
        return (maps.dtype == np.uint8 and maps.shape == (record.num_frames, *self.size)
                and self._recorded_source(record) == video_source(record))

    def build(self, teacher: Teacher, records: list[VideoRecord], group: TrainingGroup,
              progress: CacheProgress | None = None) -> list[str]:
        """Compute the maps of every video not yet cached (this rank's share); returns notes for the run log.

        Raises:
            InputError: the folder holds another cache (`check_signature`), a teacher gives the wrong number of
                maps for a video.
        """
        signature = teacher.signature()
        self.check_signature(signature)
        self.check_entries(records)
        group.barrier()
        if group.place.is_main and not (self.root / CACHE_DOCUMENT).exists():
            self.root.mkdir(parents=True, exist_ok=True)
            write_json(self.root / CACHE_DOCUMENT, {"format": CACHE_FORMAT, "teacher": signature,
                                                    "size": list(self.size)})
        group.barrier()
        todo = [record for record in records if not self.is_complete(record)]
        mine = todo[group.place.rank :: group.place.world_size]
        total = sum(record.num_frames for record in mine)
        done = 0
        for record in mine:
            def report(frames: int, key: str = record_key(record), before: int = done) -> None:
                if progress is not None:
                    progress(key, before + frames, total)

            self._build_one(teacher, record, report)
            done += record.num_frames
        group.barrier()
        missing = [record_key(record) for record in records if not self.is_complete(record)]
        if missing:
            raise InputError(f"{self.root}: the teacher maps of {len(missing)} video(s) were not made "
                             f"(first: {missing[0]})")
        return [(f"teacher maps: {len(records) - len(todo)} video(s) from the cache {self.root}, "
                 f"{len(todo)} computed")]

    def _build_one(self, teacher: Teacher, record: VideoRecord, progress: Callable[[int], Any]) -> None:
        path = self.path(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_temporaries(path)
        levels = np.empty((record.num_frames, *self.size), dtype=np.uint8)
        count = 0
        for saliency in teacher.maps(record):
            if count == record.num_frames:
                raise InputError(f"the teacher gave more maps than the {record.num_frames} frames of {record.frames}")
            levels[count] = to_levels(saliency, self.size)
            count += 1
            if count % 16 == 0 or count == record.num_frames:
                progress(count)
        if count != record.num_frames:
            raise InputError(f"the teacher gave {count} maps for the {record.num_frames} frames of {record.frames}")
        self.source_path(record).unlink(missing_ok=True)  # the maps change first: never a new source for old maps
        with atomic_output(path) as temporary, open(temporary, "wb") as handle:
            np.save(handle, levels, allow_pickle=False)
        write_json(self.source_path(record), video_source(record))

    def reader(self, records: list[VideoRecord]) -> CachedMaps:
        return CachedMaps([self.path(record) for record in records])


class CachedMaps:
    """The cached maps of a list of videos as `ClipDataset` targets: (record index, frames) -> float32 `(K, H, W)`.

    Files are memory-mapped on first use in each process (DataLoader workers included), so only the frames a
    clip needs are read.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._open: dict[int, np.ndarray] = {}

    def __call__(self, record_index: int, frames: list[int]) -> np.ndarray:
        maps = self._open.get(record_index)
        if maps is None:
            maps = self._open[record_index] = np.load(self.paths[record_index], mmap_mode="r", allow_pickle=False)
        return maps[frames].astype(np.float32) / 255.0

    def __getstate__(self) -> dict:
        return {"paths": self.paths, "_open": {}}
