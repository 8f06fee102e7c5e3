"""The output folder of one video, built so that a failure never leaves it looking complete.

Layout of ``OUT/<key>/`` (``<key>`` is ``<video>`` or ``<DB>/<video>``; with ``--format stavis`` on a STAViS
dataset the MATLAB evaluation's ``split<N>_results/<db folder>/<video>``)::

    00001.png ...            8-bit map of every frame, 1-based, at the frame's own size (--format png, default;
                             pred_sal_000001.jpg ... with --format stavis, saliency.mp4 with --format mp4:
                             `diffsal.predictions.map_formats`; with --format challenge the map video is
                             OUT/<key>.mp4 and this folder OUT/.diffsal/<key>/)
    00001.npy ...            float32 map (optional, --save-npy)
    uncertainty/00001.png    16-bit per-pixel std over the samples, value / 65535 = std (--samples > 1)
    overlay.mp4              the map blended on the frames, with the original sound
    panel.mp4                frame | prediction | ground truth (optional, --panel)
    uncertainty.mp4          mean overlay | std, with the sound (--samples > 1)
    summary.json             written last

Everything is written into a hidden sibling folder ``.<name>.partial-<pid>-<random>`` that is
renamed to ``<name>`` only after `summary.json` is in it, so ``OUT/<key>`` exists only when
complete; a crashed run leaves only the hidden folder, which the next run deletes. (A long name is
shortened there, with a hash of the whole name, to stay within the 255-byte file-name limit.)

`summary.json` records the input it was made from: an output is never taken for another video's
(a rerun in which ``clip.avi`` would now be written to the folder that ``clip.mp4`` filled).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from diffsal.errors import InputError
from diffsal.predictions.map_formats import PNG, PNG_COMPRESS_LEVEL, SUBMISSION_FOLDERS, MapFormat, map_format
from diffsal.io.overlay import to_uint8
from diffsal.io.atomic import temporary_stem, write_json
from diffsal.io.video import read_gray_video
from diffsal.io.writer import is_written_map_video

SUMMARY_NAME = "summary.json"
SUMMARY_FORMAT = "diffsal-prediction"
SUMMARY_VERSION = 1
MAP_PATTERN = PNG.frame_pattern  # 1-based, the default naming of `diffsal evaluate` (also of the uncertainty PNGs)
NPY_PATTERN = "{:05d}.npy"
UNCERTAINTY_DIR = "uncertainty"
OVERLAY_NAME = "overlay.mp4"
PANEL_NAME = "panel.mp4"
UNCERTAINTY_VIDEO_NAME = "uncertainty.mp4"
RUN_SUMMARY_NAME = "predict_summary.json"
NORMALIZATIONS = ("minmax", "none")
# Settings added to the run signature after the first release: an older summary was made with these values.
SIGNATURE_DEFAULTS = {"map_format": PNG.name, "precision": "fp32"}


def map_png(saliency: np.ndarray, normalize: str) -> np.ndarray:
    """The uint8 image of a `(H, W)` map in [0, 1]: min-max stretched per frame ("minmax") or as it is.

    A constant map stays as it is under "minmax" (there is no range to stretch).
    """
    if normalize == "minmax":
        low, high = float(saliency.min()), float(saliency.max())
        if high - low > 1e-12:
            saliency = (saliency - low) / (high - low)
    return to_uint8(saliency)


def std_png(std: np.ndarray) -> np.ndarray:
    """uint16 image of a std map: value / 65535 = std (the std of values in [0, 1] is below 1)."""
    return np.round(np.clip(std, 0.0, 1.0) * 65535.0).astype(np.uint16)


def read_std_png(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.float32) / 65535.0


def earlier_keys(root: str | Path) -> dict[str, str]:
    """{input file name: key} of the complete outputs directly under OUT (``OUT/<key>/summary.json``, and
    ``OUT/.diffsal/<key>/`` of the challenge format)."""
    keys = {}
    root = Path(root)
    for parent in (root, root / SUBMISSION_FOLDERS):
        if parent.is_dir():
            for folder in parent.iterdir():
                summary = VideoOutput(parent, folder.name).read_summary() if folder.is_dir() else None
                if summary is not None and summary.get("input"):
                    keys[Path(str(summary["input"])).name] = folder.name
    return keys


def _hidden_stem(name: str) -> str:
    """The part of `name` in the hidden folders of its output: `name`, or when too long for a file name
    with a suffix, its start and a hash of the whole (so two long names never share hidden folders)."""
    short = temporary_stem(name)
    return name if short == name else f"{short}~{hashlib.sha256(name.encode()).hexdigest()[:12]}"


class VideoOutput:
    """The output folder ``root / key`` of one video: its state, and the building of a new one.

    Args:
        root: OUT.
        key: the video's folder relative to OUT.
        map_format: the files the maps are stored in (`diffsal.predictions.map_formats`).
    """

    def __init__(self, root: str | Path, key: str, map_format: MapFormat = PNG) -> None:
        self.root = Path(root)
        self.key = key
        self.map_format = map_format
        self.path = self.root / SUBMISSION_FOLDERS / key if map_format.submission else self.root / key
        # The challenge format's map video lies beside the output folders, named as the video.
        self.submission_file = self.root / f"{key}.mp4" if map_format.submission else None
        self.building: Path | None = None
        self._hidden = _hidden_stem(self.path.name)

    @classmethod
    def of_folder(cls, folder: str | Path) -> VideoOutput:
        """The complete output whose folder is `folder` (``OUT/<key>``; ``OUT/.diffsal/<key>`` for the challenge
        format), in the map format its summary records.

        Raises:
            InputError: `folder` holds no complete output of `diffsal predict`, or one in a map format this version
                does not know.
        """
        folder = Path(folder)
        summary = cls(folder.parent, folder.name).read_summary()
        if summary is None:
            raise InputError(f"{folder / SUMMARY_NAME}: not a complete `diffsal predict` output")
        files = summary.get("files") if isinstance(summary.get("files"), dict) else {}
        recorded = map_format(str(files.get("map_format", PNG.name)))
        parts = folder.parts
        if not recorded.submission:
            return cls(folder.parent, folder.name, recorded)
        if SUBMISSION_FOLDERS not in parts[:-1]:
            raise InputError(f"{folder}: an output of the {recorded.name} format lies in OUT/{SUBMISSION_FOLDERS}/")
        index = len(parts) - 1 - parts[::-1].index(SUBMISSION_FOLDERS)
        return cls(Path(*parts[:index]), "/".join(parts[index + 1:]), recorded)

    # ------------------------------------------------------------------ state of a previous run
    def foreign_files(self) -> list[Path]:
        """What stands where this output goes and was not written by diffsal: a folder without our complete
        summary, or a challenge-format map video that `write_gray_video` did not write. Never replaced."""
        foreign = []
        if self.path.exists() and self.read_summary() is None:
            foreign.append(self.path)
        if self.submission_file is not None and self.submission_file.exists() \
                and not is_written_map_video(self.submission_file):
            foreign.append(self.submission_file)
        return foreign

    def in_other_placement(self) -> Path | None:
        """The complete output of this key in the other place a format puts it (``OUT/<key>`` for the challenge
        format, ``OUT/.diffsal/<key>`` for the others), or None: one OUT holds one format."""
        other = self.root / self.key if self.map_format.submission else self.root / SUBMISSION_FOLDERS / self.key
        return other if VideoOutput(other.parent, other.name).read_summary() is not None else None

    def read_summary(self) -> dict[str, Any] | None:
        """The summary of a complete output, or None when there is none (or it is not ours)."""
        path = self.path / SUMMARY_NAME
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(document, dict) or document.get("format") != SUMMARY_FORMAT:
            return None
        if document.get("status") != "complete":
            return None
        return document

    def problem(self, signature: dict[str, Any], source: Path | None = None) -> str | None:
        """Why the folder is not a complete output of `source` made with `signature`, or None when it is.

        `source` (the video file or frame folder) is compared by name: the output of ``clip.mp4`` is
        not that of ``clip.avi``, wherever the input folder is now.
        """
        if not self.path.is_dir():
            return "not predicted"
        summary = self.read_summary()
        if summary is None:
            return f"{self.path / SUMMARY_NAME} missing or not a complete prediction summary"
        made_from = Path(str(summary.get("input", ""))).name
        if source is not None and made_from != source.name:
            return f"holds the prediction of another input ({made_from}, not {source.name})"
        recorded, wanted = with_signature_defaults(summary.get("signature")), with_signature_defaults(signature)
        if recorded != wanted:
            return f"predicted with other settings ({describe_difference(recorded, wanted)})"
        frames = summary.get("frames")
        if self.map_format.frame_pattern is None:
            names = [self.map_format.video_name] if frames else []
        else:
            names = [self.map_format.frame_file(index) for index in range(int(frames or 0))]
        paths = [self.path / name for name in names]
        if self.submission_file is not None and frames:
            paths = [self.submission_file]
        missing = [path for path in paths if not path.is_file()]
        if not frames or missing:
            return f"{len(missing)} of {frames} map(s) missing (first: {missing[0]})" if missing else "no frames"
        for name in summary.get("files", {}).get("videos", []):
            if not (self.path / name).is_file():
                return f"{self.path / name} missing"
        return None

    # ------------------------------------------------------------------ building a new one
    def begin(self) -> Path:
        """Make a fresh hidden folder to build in (deleting what crashed runs left for this video)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(f".{glob.escape(self._hidden)}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.building = self.path.parent / f".{self._hidden}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.building.mkdir()
        return self.building

    def write_map(self, index: int, levels: np.ndarray) -> None:
        """The 8-bit map file of 0-based frame `index` (`levels`: uint8 `(H, W)`, as `map_png` makes them)."""
        self.map_format.write_frame(self._in_building(self.map_format.frame_file(index)), levels)

    def built_maps(self, num_frames: int) -> Iterator[np.ndarray]:
        """The uint8 maps of the folder being built, in frame order (read back to render the second-pass videos)."""
        return self._maps_in(self._in_building("."), num_frames)

    def maps(self, num_frames: int) -> Iterator[np.ndarray]:
        """The uint8 maps of the complete output, in frame order."""
        return self._maps_in(self.path, num_frames)

    def _maps_in(self, folder: Path, num_frames: int) -> Iterator[np.ndarray]:
        if self.map_format.frame_pattern is None:
            complete = self.submission_file is not None and folder == self.path
            yield from read_gray_video(self.submission_file if complete else folder / self.map_format.video_name)
            return
        for index in range(num_frames):
            with Image.open(folder / self.map_format.frame_file(index)) as image:
                yield np.asarray(image if image.mode == "L" else image.convert("L"))

    def write_npy(self, index: int, saliency: np.ndarray) -> None:
        np.save(self._in_building(NPY_PATTERN.format(index + 1)), saliency.astype(np.float32, copy=False))

    def write_std(self, index: int, std: np.ndarray) -> None:
        folder = self._in_building(UNCERTAINTY_DIR)
        folder.mkdir(exist_ok=True)
        Image.fromarray(std_png(std)).save(folder / MAP_PATTERN.format(index + 1), compress_level=PNG_COMPRESS_LEVEL)

    def built_path(self, name: str) -> Path:
        """A file of the folder being built (e.g. the map PNGs, read back to render videos)."""
        return self._in_building(name)

    def finish(self, summary: dict[str, Any]) -> Path:
        """Write `summary.json` last, then put the folder in place of any previous output."""
        document = {"format": SUMMARY_FORMAT, "version": SUMMARY_VERSION, **summary, "status": "complete"}
        write_json(self._in_building(SUMMARY_NAME), document)
        if self.submission_file is not None:  # the map video goes first: the folder then marks it complete
            self.submission_file.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._in_building(self.map_format.video_name), self.submission_file)
        building, self.building = self.building, None
        if self.path.exists():
            # The old output stops looking complete before it is removed (its summary goes first).
            (self.path / SUMMARY_NAME).unlink(missing_ok=True)
            retired = self.path.parent / f".{self._hidden}.partial-old-{uuid.uuid4().hex[:8]}"
            os.replace(self.path, retired)
            shutil.rmtree(retired, ignore_errors=True)
        os.replace(building, self.path)
        return self.path

    def abort(self) -> None:
        """Delete the folder being built (after a failure)."""
        if self.building is not None:
            shutil.rmtree(self.building, ignore_errors=True)
            self.building = None

    def _in_building(self, name: str) -> Path:
        if self.building is None:
            raise RuntimeError("VideoOutput.begin() must be called before writing")
        return self.building / name


def with_signature_defaults(signature: Any) -> Any:
    """A run signature with the settings it lacks at their defaults (one written before a setting existed)."""
    return {**SIGNATURE_DEFAULTS, **signature} if isinstance(signature, dict) else signature


def describe_difference(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "no settings recorded"
    changed = [f"{key} {old.get(key)!r} -> {new.get(key)!r}"
               for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    return ", ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
