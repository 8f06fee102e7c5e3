"""Frame-exact random and sequential access to the frames of a video file, decoded with PyAV.

The reader indexes the presentation timestamps of every video packet once (demuxing only, no
decoding), so frame ``k`` means the k-th frame in display order even for variable frame rates
and B-frames. Reading seeks to the nearest key frame before the wanted frame and decodes
forward; frames decoded on the way are kept in a small LRU cache, so a sliding window of
clips decodes each frame about once.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from diffsal.errors import MediaError
from diffsal.io._open import open_container
from diffsal.io.frame_source import check_frame_index

# Decoding forward is cheaper than seeking when the wanted frame is this close ahead.
_MAX_FORWARD_DECODE = 48


@dataclass(frozen=True)
class VideoStreamInfo:
    width: int
    height: int
    fps: float
    num_frames: int
    duration_s: float
    codec: str


class VideoReader:
    """Random access to the frames of a video file (mp4, avi, mkv, webm, mov, ...).

    Args:
        path: the video file.
        cache_frames: how many decoded frames to keep (in the codec's own pixel format).

    Raises:
        MediaError: missing, empty or unreadable file; no video stream; no decodable frame.
    """

    def __init__(self, path: str | Path, cache_frames: int = 64) -> None:
        self.path = Path(path)
        self._container = open_container(self.path)
        if not self._container.streams.video:
            self._container.close()
            raise MediaError(f"{self.path}: has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._time_base: Fraction = self._stream.time_base
        self._pts = self._index_presentation_timestamps()
        self._index_of_pts = {pts: index for index, pts in enumerate(self._pts)}
        first = self._stream.start_time if self._stream.start_time is not None else self._pts[0]
        self._start_pts = min(first, self._pts[0])
        self._times_s = [float((pts - self._start_pts) * self._time_base) for pts in self._pts]
        self._cache: OrderedDict[int, av.VideoFrame] = OrderedDict()
        self._cache_frames = max(1, cache_frames)
        self._decoder = None
        self._next_index: int | None = None  # index of the frame the decoder yields next

    # ------------------------------------------------------------------ metadata
    @property
    def num_frames(self) -> int:
        return len(self._pts)

    @property
    def size(self) -> tuple[int, int]:
        return self._stream.codec_context.width, self._stream.codec_context.height

    @property
    def fps(self) -> float:
        """Nominal frame rate; for variable-rate files, the mean rate over the file."""
        rate = self._stream.average_rate or self._stream.guessed_rate
        if rate and rate > 0:
            return float(rate)
        if self.num_frames > 1 and self._times_s[-1] > 0:
            return (self.num_frames - 1) / self._times_s[-1]
        return 0.0

    @property
    def start_s(self) -> float:
        """Presentation time of frame 0 on the container's clock (audio is aligned to it)."""
        return float(self._start_pts * self._time_base)

    @property
    def duration_s(self) -> float:
        """Time from the first frame to the end of the last one."""
        frame_s = self._times_s[-1] - self._times_s[-2] if self.num_frames > 1 else 1.0 / (self.fps or 1.0)
        return self._times_s[-1] + frame_s

    def info(self) -> VideoStreamInfo:
        return VideoStreamInfo(
            width=self.size[0],
            height=self.size[1],
            fps=self.fps,
            num_frames=self.num_frames,
            duration_s=self.duration_s,
            codec=self._stream.codec_context.name,
        )

    def time_of(self, index: int) -> float:
        return self._times_s[check_frame_index(self, index, str(self.path))]

    def index_at_time(self, time_s: float) -> int:
        # A tiny tolerance so that k/fps maps to frame k despite rounding of the timestamps.
        index = bisect.bisect_right(self._times_s, time_s + 1e-6) - 1
        return min(max(index, 0), self.num_frames - 1)

    # ------------------------------------------------------------------ frames
    def frame(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Frame `index` as RGB uint8 `(H, W, 3)`; stretched to `size` = (width, height) if given."""
        video_frame = self._decoded_frame(check_frame_index(self, index, str(self.path)))
        if size is None:
            return video_frame.to_ndarray(format="rgb24")
        width, height = size
        return video_frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()

    def frame_at_time(self, time_s: float, size: tuple[int, int] | None = None) -> np.ndarray:
        return self.frame(self.index_at_time(time_s), size)

    def close(self) -> None:
        self._cache.clear()
        self._decoder = None
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __len__(self) -> int:
        return self.num_frames

    # ------------------------------------------------------------------ internals
    def _index_presentation_timestamps(self) -> list[int]:
        pts_list: list[int] = []
        missing_pts = False
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:  # end-of-stream marker
                    continue
                if packet.pts is None:
                    missing_pts = True
                    break
                pts_list.append(packet.pts)
        except av.FFmpegError as error:
            if not pts_list:
                raise MediaError(f"{self.path}: cannot read video packets ({error})") from error
        if missing_pts:
            pts_list = self._index_by_decoding()
        if not pts_list:
            raise MediaError(f"{self.path}: has no video frames")
        self._seek_to_start()
        return sorted(set(pts_list))

    def _index_by_decoding(self) -> list[int]:
        """Fallback for containers whose packets carry no pts: decode once and read frame times."""
        self._seek_to_start()
        pts_list = []
        try:
            for video_frame in self._container.decode(self._stream):
                pts_list.append(video_frame.pts if video_frame.pts is not None else len(pts_list))
        except av.FFmpegError as error:
            if not pts_list:
                raise MediaError(f"{self.path}: cannot decode video ({error})") from error
        return pts_list

    def _seek_to_start(self) -> None:
        self._container.seek(0)
        self._decoder = None
        self._next_index = None

    def _decoded_frame(self, index: int) -> av.VideoFrame:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        ahead = self._next_index is not None and self._next_index <= index < self._next_index + _MAX_FORWARD_DECODE
        if not ahead:
            self._seek(index)
        return self._decode_until(index)

    def _seek(self, index: int) -> None:
        try:
            self._container.seek(self._pts[index], stream=self._stream, backward=True, any_frame=False)
        except av.FFmpegError as error:
            raise MediaError(f"{self.path}: cannot seek to frame {index} ({error})") from error
        self._decoder = self._container.decode(self._stream)
        self._next_index = None  # unknown until the first frame after the seek arrives

    def _decode_until(self, index: int) -> av.VideoFrame:
        if self._decoder is None:
            self._seek(index)
        try:
            for video_frame in self._decoder:
                frame_index = self._frame_index(video_frame)
                if frame_index is None:
                    continue
                self._remember(frame_index, video_frame)
                self._next_index = frame_index + 1
                if frame_index >= index:
                    break
        except av.FFmpegError as error:
            self._decoder = None
            raise MediaError(f"{self.path}: cannot decode frame {index} ({error})") from error
        found = self._cache.get(index)
        if found is None:
            self._decoder = None
            self._next_index = None
            raise MediaError(f"{self.path}: frame {index} could not be decoded (file truncated or corrupt?)")
        return found

    def _frame_index(self, video_frame: av.VideoFrame) -> int | None:
        if video_frame.pts is None:
            return self._next_index
        index = self._index_of_pts.get(video_frame.pts)
        if index is None:  # a timestamp the demuxer did not report: take the nearest indexed one
            position = bisect.bisect_left(self._pts, video_frame.pts)
            index = min(position, self.num_frames - 1)
        return index

    def _remember(self, index: int, video_frame: av.VideoFrame) -> None:
        self._cache[index] = video_frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
