"""The ground truth of one annotated video, frame by frame, whatever its layout: image files per frame (STAViS
eyeMaps and fixMaps, DHF1K PNGs) or one map video and one fixation list (the challenge layout)."""

from __future__ import annotations

import numpy as np

from diffsal.data.annotations import read_fixation_map, read_fixation_values, read_saliency_map
from diffsal.data.challenge import fixation_map, read_fixations
from diffsal.data.video_record import VideoRecord
from diffsal.errors import DatasetError
from diffsal.io.video import VideoReader


MAP_FRAMES_CACHED = 2  # a clip's maps are read in order: keeping many decoded FullHD frames only costs memory


class GroundTruth:
    """The continuous map and the fixations of each frame (0-based) of `record`; close it after use.

    A map video is decoded exactly (its luma plane, any bit depth) and read on demand, frames in order
    decoding once; its values are brought to [0, 1] from the stream's black and white levels.
    """

    def __init__(self, record: VideoRecord) -> None:
        if record.maps is None or record.fixations is None:
            raise ValueError(f"{record.dataset}/{record.video} has no annotations")
        self.record = record
        self._reader: VideoReader | None = None
        self._points: list[np.ndarray] | None = None

    def saliency(self, index: int) -> np.ndarray:
        """float32 `(H, W)` in [0, 1]."""
        if not self.record.maps_in_video:
            return read_saliency_map(self.record.map_path(index))
        reader = self._map_reader()
        if index >= reader.num_frames:
            raise DatasetError(f"{reader.path}: has {reader.num_frames} map frames, frame {index + 1} was asked for")
        return reader.luma_map(index)

    def fixations(self, index: int) -> np.ndarray:
        """bool `(H, W)`: the fixated pixels (of the map's size)."""
        if not self.record.maps_in_video:
            return read_fixation_map(self.record.fixation_path(index))
        points = self.fixation_points()
        if index >= len(points):
            raise DatasetError(f"{self.record.fixations}: has {len(points)} frames of fixations, frame {index + 1} "
                               "was asked for")
        return fixation_map(points[index], self._map_reader().size)

    def fixation_values(self, index: int) -> np.ndarray:
        """`(H, W)`: the fixation map's values as stored (`read_fixation_values`: fixated pixels are the non-zero
        ones, which an image or MAT file may store as other values than 1); a fixation list gives 1 there."""
        if not self.record.maps_in_video:
            return read_fixation_values(self.record.fixation_path(index))
        return self.fixations(index).astype(np.uint8)

    def fixation_points(self) -> list[np.ndarray]:
        """The fixation list of a map-video record: per frame int64 `(N, 2)` (row, col), checked to lie on the map."""
        if self._points is None:
            self._points = read_fixations(self.record.fixations, self._map_reader().size)
        return self._points

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _map_reader(self) -> VideoReader:
        if self._reader is None:
            self._reader = VideoReader(self.record.maps, cache_frames=MAP_FRAMES_CACHED)
        return self._reader
