"""Where a student's target maps come from: a saved model run on each video, or maps already made.

- `ModelTeacher`: a model folder of any architecture (the improved DiffSal, a converted published model), run by
  the `Predictor` with the recipe's teacher settings.
- `MapsTeacher`: a folder of maps: what `diffsal predict` wrote (any `--format`), found per video as `evaluate`
  and `reframe --maps` find it, or one image per frame from another tool in ``<folder>/<dataset>/<video>/`` or
  ``<folder>/<video>/`` (files sorted by the number in their names).

Both give each frame's map as float32 in [0, 1] at any size, in frame order, and a `signature`: the settings
the maps depend on, recorded with the cache so that a cache made otherwise is refused.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from diffsal.data.video_record import VideoRecord
from diffsal.distillation.recipe import TeacherSection
from diffsal.errors import InputError
from diffsal.evaluation.predictions import read_prediction
from diffsal.inference.predictor import Predictor
from diffsal.io.paths import check_input_path
from diffsal.models.saved_model import CONFIG_NAME, WEIGHTS_NAME
from diffsal.predictions.folder import SUMMARY_NAME, VideoOutput
from diffsal.predictions.lookup import find_prediction

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
ASPECT_TOLERANCE = 0.02  # maps whose width/height differ more from the video's belong to another video


def open_teacher(section: TeacherSection, device: str = "auto") -> ModelTeacher | MapsTeacher:
    """The teacher the recipe names: a model folder or a folder of maps; InputError for anything else."""
    path = check_input_path(section.path, "teacher")
    if not path.is_dir():
        raise InputError(f"{path}: the teacher must be a model folder ({WEIGHTS_NAME} + {CONFIG_NAME}) or a folder "
                         "of maps, not a file")
    if (path / CONFIG_NAME).is_file() or (path / WEIGHTS_NAME).is_file():
        return ModelTeacher(path, section, device)
    return MapsTeacher(path)


class ModelTeacher:
    """A saved model, run on every frame of each video (`Predictor` with the recipe's settings)."""

    def __init__(self, path: Path, section: TeacherSection, device: str) -> None:
        self.path = path
        self.predictor = Predictor.from_pretrained(path, device=device, steps=section.steps, samples=section.samples,
                                                   seed=section.seed, batch_size=section.batch_size,
                                                   precision=section.precision)

    @property
    def model(self):
        return self.predictor.model

    def signature(self) -> dict[str, Any]:
        predictor = self.predictor
        preprocessing = json.loads(json.dumps(dataclasses.asdict(predictor.preprocessing), default=str))
        return {"kind": "model", "architecture": predictor.config.architecture,
                "weights_sha256": predictor.model_source["sha256"], "steps": predictor.steps,
                "samples": predictor.samples, "seed": predictor.seed, "eta": predictor.eta,
                "precision": predictor.precision, "preprocessing": preprocessing}

    def describe(self) -> str:
        return (f"{self.path} ({self.predictor.config.architecture}, {self.predictor.steps} step(s), "
                f"{self.predictor.samples} sample(s), {self.predictor.precision})")

    def check(self, records: list[VideoRecord]) -> None:
        """Nothing to check per video: the model runs on any."""

    def maps(self, record: VideoRecord) -> Iterator[np.ndarray]:
        source = record.open_frames()
        try:
            for frame_map in self.predictor.iter_video(source, record.audio):
                yield frame_map.mean
        finally:
            source.close()


@dataclasses.dataclass(frozen=True)
class _VideoMaps:
    """Where one video's maps are: a `diffsal predict` output (`output`) or numbered images (`images`)."""

    output: VideoOutput | None = None
    images: tuple[Path, ...] = ()

    def count(self) -> int:
        if self.output is not None:
            return int((self.output.read_summary() or {}).get("frames") or 0)
        return len(self.images)

    def read(self, num_frames: int) -> Iterator[np.ndarray]:
        if self.output is not None:
            for levels in self.output.maps(num_frames):
                yield levels.astype(np.float32) / 255.0
            return
        first_shape = None
        for path in self.images:
            saliency = read_prediction(path).astype(np.float32)  # 8 or 16 bits, grey or the first channel
            first_shape = first_shape or saliency.shape
            if saliency.shape != first_shape:
                raise InputError(f"{path}: a map of {saliency.shape[1]}x{saliency.shape[0]}, the first map of its "
                                 f"video is {first_shape[1]}x{first_shape[0]}")
            yield saliency

    def first_size(self) -> tuple[int, int]:
        """(width, height) of the first map."""
        return next(iter(self.read(1))).shape[::-1]


class MapsTeacher:
    """A folder of maps made elsewhere (by `diffsal predict`, or by another tool)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def model(self):
        return None

    def signature(self) -> dict[str, Any]:
        return {"kind": "maps", "folder": str(self.folder.resolve())}

    def describe(self) -> str:
        return f"the maps in {self.folder}"

    def check(self, records: list[VideoRecord]) -> None:
        """InputError naming the first video whose maps are absent, incomplete, of another frame count or of
        another shape than its frames."""
        for record in records:
            maps = self._find(record)
            count = maps.count()
            if count != record.num_frames:
                where = maps.output.path if maps.output is not None else maps.images[0].parent
                raise InputError(f"{where}: {count} maps but {record.frames} has {record.num_frames} frames")
            if maps.output is not None and maps.output.map_format.frame_pattern is not None:
                for index in range(count):
                    if not (maps.output.path / maps.output.map_format.frame_file(index)).is_file():
                        raise InputError(f"{maps.output.path / maps.output.map_format.frame_file(index)}: map of "
                                         f"frame {index + 1} missing")
            source = record.open_frames()
            try:
                video_width, video_height = source.size
            finally:
                source.close()
            map_width, map_height = maps.first_size()
            if abs(map_width / map_height - video_width / video_height) > ASPECT_TOLERANCE * video_width / video_height:
                raise InputError(f"{self._where(maps)}: maps of {map_width}x{map_height} do not fit the "
                                 f"{video_width}x{video_height} frames of {record.frames}")

    def maps(self, record: VideoRecord) -> Iterator[np.ndarray]:
        yield from self._find(record).read(record.num_frames)

    # ------------------------------------------------------------------ lookup
    def _find(self, record: VideoRecord) -> _VideoMaps:
        for candidate in (self.folder / record.dataset / record.video, self.folder / record.video):
            if (candidate / SUMMARY_NAME).is_file():
                return _VideoMaps(output=VideoOutput.of_folder(candidate))
            images = _numbered_images(candidate)
            if images:
                return _VideoMaps(images=images)
        try:
            return _VideoMaps(output=VideoOutput.of_folder(find_prediction(self.folder, Path(record.frames))))
        except InputError:
            raise InputError(f"{self.folder}: neither a model folder ({CONFIG_NAME} + {WEIGHTS_NAME}) nor maps of "
                             f"{record.frames} (looked for a `diffsal predict` output and for images in "
                             f"{record.dataset}/{record.video}/ or {record.video}/)") from None

    @staticmethod
    def _where(maps: _VideoMaps) -> Path:
        return maps.output.path if maps.output is not None else maps.images[0]


def _numbered_images(folder: Path) -> tuple[Path, ...]:
    """The images of `folder` sorted by the last number in their names (none: empty)."""
    if not folder.is_dir():
        return ()
    numbered = []
    for path in folder.iterdir():
        numbers = re.findall(r"\d+", path.stem)
        if path.suffix.lower() in IMAGE_SUFFIXES and numbers and path.is_file():
            numbered.append((int(numbers[-1]), path))
    numbered.sort()
    return tuple(path for _, path in numbered)

