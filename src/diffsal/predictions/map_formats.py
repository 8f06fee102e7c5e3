"""The file formats `predict` writes maps in, and `evaluate` reads: PNG, the STAViS JPEG tree, one video.

- ``png`` (default): ``<key>/00001.png ...``, 8-bit, lossless.
- ``stavis``: ``<key>/pred_sal_000001.jpg ...``, 8-bit JPEG, the naming of the published DiffSal code; for a
  STAViS dataset the key is the MATLAB evaluation's ``split<N>_results/<db folder>/<video>``
  (`diffsal.data.layout.stavis_result_key`), so that its ``eval_<db>.m`` scripts score the folder as it is.
  JPEG at quality 100: a value moves by at most a level or two, which changes the scores in the fourth decimal.
- ``mp4``: ``<key>/saliency.mp4``, one grey video per input with the input's frame count and frame times;
  lossless (`diffsal.io.writer.write_gray_video`).
- ``challenge``: ``<key>.mp4`` directly in OUT, the submission of the AIM 2024 / NTIRE 2026 saliency challenges
  (one video per input, named as the input, the input's frame count and size): the same lossless grey video at
  a constant frame rate (the challenge's FFmpeg extraction would duplicate frames of a variable-rate one). The
  rest of each video's output (``summary.json``, overlay) goes in ``OUT/.diffsal/<key>/``, so that OUT holds
  nothing else the challenge's scoring would try to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from diffsal.data.layout import STAVIS_PREDICTION_PATTERN
from diffsal.errors import InputError

# zlib level of the map PNGs: on a 1280x720 map level 1 took 13.5 ms and 250 KiB, PIL's default (6) 56 ms and
# 183 KiB; the values are the same (PNG is lossless) and writing them is most of the work outside the model.
PNG_COMPRESS_LEVEL = 1
JPEG_QUALITY = 100


@dataclass(frozen=True)
class MapFormat:
    """How the 8-bit maps of one video are stored in its output folder.

    Attributes:
        name: "png", "stavis" or "mp4".
        frame_pattern: the per-frame file name (1-based frame number), or None for one video file.
        video_name: the file that holds every map, or None for per-frame files.
        description: what `summary.json` says about the files.
        submission: the map video is ``OUT/<key>.mp4`` and the output folder ``OUT/.diffsal/<key>/``
            (`SUBMISSION_FOLDERS`), written at a constant frame rate.
    """

    name: str
    frame_pattern: str | None
    video_name: str | None
    description: str
    submission: bool = False

    def frame_file(self, index: int) -> str:
        """The file name of 0-based frame `index` (per-frame formats)."""
        if self.frame_pattern is None:
            raise ValueError(f"the {self.name} format has no per-frame files")
        return self.frame_pattern.format(index + 1)

    def write_frame(self, path: Path, levels: np.ndarray) -> None:
        image = Image.fromarray(levels)
        if self.name == "stavis":
            image.save(path, format="JPEG", quality=JPEG_QUALITY)
        else:
            image.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)


MAP_FORMATS = {
    "png": MapFormat("png", "{:05d}.png", None, "{:05d}.png (1-based frame numbers, 8-bit PNG)"),
    "stavis": MapFormat("stavis", STAVIS_PREDICTION_PATTERN, None,
                        f"{STAVIS_PREDICTION_PATTERN} (1-based frame numbers, 8-bit JPEG, quality {JPEG_QUALITY})"),
    "mp4": MapFormat("mp4", None, "saliency.mp4",
                     "saliency.mp4 (one grey frame per input frame, lossless H.264 4:4:4: the luma plane is the map)"),
    "challenge": MapFormat("challenge", None, "saliency.mp4",
                           "OUT/<key>.mp4 (a challenge submission: one grey frame per input frame at a constant "
                           "rate, lossless H.264 4:4:4, full range)", submission=True),
}
SUBMISSION_FOLDERS = ".diffsal"  # under OUT: the output folders of the challenge format
PNG = MAP_FORMATS["png"]


def map_format(name: str) -> MapFormat:
    """The format called `name`; InputError naming the choices otherwise."""
    if name not in MAP_FORMATS:
        raise InputError(f"map format must be one of {', '.join(MAP_FORMATS)}, got {name!r}")
    return MAP_FORMATS[name]
