"""Frame-exact random and sequential access to the frames of a video file, decoded with PyAV.

The reader indexes the presentation timestamps of every video packet once (demuxing only, no
decoding), so frame ``k`` means the k-th frame in display order even for variable frame rates
and B-frames. Reading seeks to the nearest key frame before the wanted frame and decodes
forward; frames decoded on the way are kept in a small LRU cache, so a sliding window of
clips decodes each frame about once.

Frames come out as a player shows them: the display matrix of the stream (phones store portrait
video as landscape pictures plus "rotate by 90 degrees") is applied, so sizes, frames and
everything computed from them are upright. Rotations by multiples of 90 degrees and mirroring are
supported; any other angle is refused with a `MediaError`.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.sidedata.sidedata import Type as SideDataType

from diffsal.errors import MediaError
from diffsal.io._open import open_container, video_streams
from diffsal.io.frame_source import check_frame_index

# Decoding forward is cheaper than seeking when the wanted frame is this close ahead.
_MAX_FORWARD_DECODE = 48


# The upper-left 2x2 of a display matrix, (a, c, b, d) = matrix[0], matrix[3], matrix[1], matrix[4] rounded
# to -1/0/1, of each rotation without mirroring. FFmpeg's matrix maps a coded pixel (x, y) to the shown
# (a x + c y, b x + d y) with y pointing down, so (0, 1, -1, 0) turns the picture a quarter counter-clockwise.
_ROTATIONS = {(1, 0, 0, 1): 0, (0, 1, -1, 0): 90, (-1, 0, 0, -1): 180, (0, -1, 1, 0): 270}
_FIXED_POINT_ONE = 1 << 16  # the 2x2 part of a display matrix is 16.16 fixed point
_ROTATION_TOLERANCE = 0.01  # about half a degree, as cos/sin of the angle


@dataclass(frozen=True)
class Orientation:
    """How a player turns the coded pictures to show them (the stream's display matrix).

    Shown picture = the coded one mirrored left-right if `mirrored`, then rotated `rotation_deg`
    counter-clockwise (0, 90, 180 or 270); together these are all eight orientations.
    """

    rotation_deg: int = 0
    mirrored: bool = False

    @classmethod
    def from_display_matrix(cls, matrix: np.ndarray | None, path: Path) -> Orientation:
        """Read FFmpeg's 3x3 display matrix (9 int32, row-major); None means upright.

        Raises:
            MediaError: the matrix turns the picture by an angle that is not a multiple of 90 degrees.
        """
        if matrix is None:
            return cls()
        corner = np.array([matrix[0], matrix[3], matrix[1], matrix[4]], dtype=np.float64) / _FIXED_POINT_ONE
        scale = np.abs(corner).max()  # a matrix may also scale; only its direction matters here
        if scale == 0:
            raise MediaError(f"{path}: the display matrix is degenerate (all zeros)")
        unit = corner / scale
        signs = np.round(unit).astype(int)
        a, c, b, d = signs
        mirrored = a * d - b * c < 0
        # Undo the mirror (x -> -x: negate a and b) to look the rotation up.
        key = (-a, c, -b, d) if mirrored else (a, c, b, d)
        if key not in _ROTATIONS or not np.allclose(unit, signs, atol=_ROTATION_TOLERANCE):
            angle = np.degrees(np.arctan2(-float(matrix[1]), float(matrix[0])))
            raise MediaError(f"{path}: the display matrix turns the picture by {angle:.1f} degrees; only multiples "
                             f"of 90 degrees are supported (re-encode the video upright)")
        return cls(_ROTATIONS[key], bool(mirrored))

    @property
    def swaps_axes(self) -> bool:
        return self.rotation_deg in (90, 270)

    def displayed_size(self, coded_size: tuple[int, int]) -> tuple[int, int]:
        """(width, height) on screen of a coded (width, height); the map is its own inverse."""
        width, height = coded_size
        return (height, width) if self.swaps_axes else (width, height)

    def apply(self, picture: np.ndarray) -> np.ndarray:
        """Coded `(H, W, C)` -> shown `(H', W', C)`, contiguous (the input itself when upright)."""
        if self.mirrored:
            picture = picture[:, ::-1]
        picture = np.rot90(picture, k=self.rotation_deg // 90, axes=(0, 1))  # counter-clockwise
        return np.ascontiguousarray(picture)

    def describe(self) -> str:
        if self == Orientation():
            return "none"
        turn = f"rotated {self.rotation_deg} degrees counter-clockwise" if self.rotation_deg else ""
        return ", then ".join(part for part in ("mirrored" if self.mirrored else "", turn) if part)


@dataclass(frozen=True)
class VideoStreamInfo:
    """Stream facts; `width` x `height` is the shown size (after `rotation_deg` / `mirrored`)."""

    width: int
    height: int
    fps: float
    num_frames: int
    duration_s: float
    codec: str
    rotation_deg: int = 0
    mirrored: bool = False


class VideoReader:
    """Random access to the frames of a video file (mp4, avi, mkv, webm, mov, ...).

    Args:
        path: the video file.
        cache_frames: how many decoded frames to keep (in the codec's own pixel format).

    Frames, `size` and `info()` are as shown by a player: the stream's rotation is applied
    (see `Orientation`; `orientation` says which). A cover picture attached to an audio file is
    not a video stream.

    Raises:
        MediaError: missing, empty or unreadable file; no video stream (or only cover art); no
            decodable frame; a rotation that is not a multiple of 90 degrees.
    """

    def __init__(self, path: str | Path, cache_frames: int = 64) -> None:
        self.path = Path(path)
        self._container = open_container(self.path)
        streams = video_streams(self._container)
        if not streams:
            only_cover_art = bool(self._container.streams.video)
            self._container.close()
            if only_cover_art:
                raise MediaError(f"{self.path}: has no video stream (only an attached picture: cover art)")
            raise MediaError(f"{self.path}: has no video stream")
        self._stream = streams[0]
        self._stream.thread_type = "AUTO"
        self._time_base: Fraction = self._stream.time_base
        self._cache: OrderedDict[int, av.VideoFrame] = OrderedDict()
        self._cache_frames = max(1, cache_frames)
        self._decoder = None
        self._next_index: int | None = None  # index of the frame the decoder yields next
        try:
            self._pts = self._index_presentation_timestamps()
            self.orientation = self._read_orientation()
        except MediaError:
            self._container.close()
            raise
        self._index_of_pts = {pts: index for index, pts in enumerate(self._pts)}
        first = self._stream.start_time if self._stream.start_time is not None else self._pts[0]
        self._start_pts = min(first, self._pts[0])
        self._times_s = [float((pts - self._start_pts) * self._time_base) for pts in self._pts]

    # ------------------------------------------------------------------ metadata
    @property
    def num_frames(self) -> int:
        return len(self._pts)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames as shown (coded size with width and height swapped for 90/270)."""
        return self.orientation.displayed_size(self.coded_size)

    @property
    def coded_size(self) -> tuple[int, int]:
        """(width, height) of the pictures as stored, before the rotation."""
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
            rotation_deg=self.orientation.rotation_deg,
            mirrored=self.orientation.mirrored,
        )

    def time_of(self, index: int) -> float:
        return self._times_s[check_frame_index(self, index, str(self.path))]

    def index_at_time(self, time_s: float) -> int:
        # A tiny tolerance so that k/fps maps to frame k despite rounding of the timestamps.
        index = bisect.bisect_right(self._times_s, time_s + 1e-6) - 1
        return min(max(index, 0), self.num_frames - 1)

    # ------------------------------------------------------------------ frames
    def frame(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Frame `index` upright as RGB uint8 `(H, W, 3)`; stretched to `size` = (width, height) if given."""
        video_frame = self._decoded_frame(check_frame_index(self, index, str(self.path)))
        if size is None:
            return self.orientation.apply(video_frame.to_ndarray(format="rgb24"))
        # Scale the coded picture to the coded shape of `size`, then turn it (cheaper than the other way).
        width, height = self.orientation.displayed_size(size)
        scaled = video_frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
        return self.orientation.apply(scaled.to_ndarray())

    def luma(self, index: int) -> np.ndarray:
        """Frame `index`'s luma plane upright, as coded: uint8 `(H, W)`, or uint16 for 9 to 16 bits (a 10-bit
        map video gives 10-bit values); `luma_levels` says which values are black and white."""
        video_frame = self._decoded_frame(check_frame_index(self, index, str(self.path)))
        dtype = np.dtype(np.uint8) if video_frame.format.components[0].bits <= 8 else np.dtype("<u2")
        plane = video_frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
        return self.orientation.apply(rows[:, : plane.width, None])[..., 0]

    def luma_map(self, index: int, dtype: np.dtype | type = np.float32) -> np.ndarray:
        """Frame `index` of a map video as `(H, W)` in [0, 1]: its luma plane (`luma`, any bit depth) taken from the
        stream's black and white levels (`luma_levels`) to 0 and 1, the foot and head of a limited-range stream
        clipped; an 8-bit full-range map gives exactly its values / 255, as a PNG of it does."""
        black, white = self.luma_levels
        values = self.luma(index).astype(dtype)
        if black:
            values -= black
            np.clip(values, 0, white - black, out=values)
        values /= white - black
        return values

    def png_frame(self, index: int) -> np.ndarray:
        """Frame `index` upright as ``ffmpeg -i VIDEO %03d.png`` stores it (what the saliency challenges score):
        FFmpeg's PNG format for the stream's pixel format, converted by the same library code. Grey streams
        give `(H, W)`, others RGB `(H, W, 3)` (RGBA with an alpha plane); uint16 above 8 bits, else uint8."""
        video_frame = self._decoded_frame(check_frame_index(self, index, str(self.path)))
        components = video_frame.format.components
        deep = components[0].bits > 8
        if len(components) <= 2:
            target = "gray16le" if deep else "gray"
        elif len(components) == 4:
            target = "rgba64le" if deep else "rgba"
        else:
            target = "rgb48le" if deep else "rgb24"
        picture = video_frame.to_ndarray(format=target)
        if picture.ndim == 2:
            return self.orientation.apply(picture[..., None])[..., 0]
        return self.orientation.apply(picture)

    @property
    def luma_levels(self) -> tuple[int, int]:
        """(black, white) luma values of the stream: the full range of its bit depth for full-range ("JPEG")
        and grey streams, 16-235 scaled to the depth otherwise (64-940 in 10 bits)."""
        context = self._stream.codec_context
        pixel_format = context.format
        bits = pixel_format.components[0].bits
        full = (pixel_format.name.startswith(("yuvj", "gray")) or len(pixel_format.components) < 3
                or context.color_range == 2)  # AVCOL_RANGE_JPEG
        if full:
            return 0, (1 << bits) - 1
        return 16 << (bits - 8), 235 << (bits - 8)

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

    def _read_orientation(self) -> Orientation:
        """The display matrix, which decoders attach to every frame (from the container or the bitstream).

        Called right after indexing, with the demuxer at the start; leaves it there.
        """
        try:
            first = next(iter(self._container.decode(self._stream)), None)
        except av.FFmpegError as error:
            raise MediaError(f"{self.path}: cannot decode video ({error})") from error
        finally:
            self._seek_to_start()
        if first is None:
            raise MediaError(f"{self.path}: no video frame could be decoded")
        side_data = first.side_data.get(SideDataType.DISPLAYMATRIX)
        matrix = np.frombuffer(bytes(side_data), dtype=np.int32) if side_data is not None else None
        return Orientation.from_display_matrix(matrix, self.path)

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


def read_gray_video(path: str | Path) -> Iterator[np.ndarray]:
    """The luma plane of every frame of `path` as uint8 `(H, W)`, in order: exactly the maps that
    `diffsal.io.writer.write_gray_video` wrote (no colour conversion, no range scaling).

    Raises:
        MediaError: a missing, unreadable or undecodable file, or one without a video stream.
    """
    container = open_container(path)
    try:
        streams = video_streams(container)
        if not streams:
            raise MediaError(f"{path}: no video stream")
        stream = streams[0]
        try:
            for frame in container.decode(stream):
                plane = frame.planes[0]
                rows = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)
                yield rows[:, : frame.width].copy()
        except av.FFmpegError as error:
            raise MediaError(f"{path}: cannot decode the video ({error})") from error
    finally:
        container.close()
