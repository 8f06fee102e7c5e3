"""Write an .mp4 (H.264 video + AAC audio) from RGB frames and an optional audio track, or a lossless grey one.

Sound keeps its channel layout when AAC in MP4 carries it: mono, stereo, 2.1, 3.0, 4.0, quad, 5.0
and 5.1 (5.0 and 5.1 with side surrounds are stored as 5.0 / 5.1, the side pair as the surround
pair; channels the source did not name are taken in FFmpeg's default order for their count).
Other layouts (6.1, 7.1, ...) are folded into stereo by FFmpeg's resampler; more than 8 unnamed
channels are averaged into mono.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from diffsal.errors import MediaError
from diffsal.io.atomic import atomic_output
from diffsal.io.audio import AudioTrack, remix

_FULL_RANGE = 2  # AVCOL_RANGE_JPEG: luma 0 is black and the largest value white
MAP_VIDEO_COMMENT = "diffsal saliency maps"  # the container's comment tag: a map video that diffsal wrote
MAP_KEY_FRAME_INTERVAL = 16  # of 10-bit map videos

_AAC_FRAME_SAMPLES = 1024
_AAC_MIN_BIT_RATE = 128_000  # mono and stereo
_AAC_BIT_RATE_PER_CHANNEL = 64_000  # 384 kb/s for 5.1
# Layouts that FFmpeg's AAC encoder and MP4 muxer store and read back as the same layout.
_AAC_LAYOUTS = ("mono", "stereo", "2.1", "3.0", "4.0", "quad", "5.0", "5.1")
# Same channels under another name: the AAC 5.0 / 5.1 configurations carry side or back surrounds.
_AAC_SAME_CHANNELS = {"5.0(side)": "5.0", "5.1(side)": "5.1"}
# FFmpeg's default layout per channel count, for files that do not name their channels.
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_VFR_TIME_BASE = Fraction(1, 90_000)  # the MPEG clock: ticks of 11 microseconds


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    audio: AudioTrack | None = None,
    crf: int = 20,
    preset: str = "veryfast",
    frame_times_s: Sequence[float] | None = None,
) -> int:
    """Encode RGB uint8 `(H, W, 3)` frames as H.264 (yuv420p) and `audio` as AAC into `path`.

    The file appears under its final name only when complete. H.264 with 4:2:0 chroma needs even
    sizes: an odd width or height is padded by repeating the last column or row. The audio is
    placed on the video's clock (`audio.start_s`) and cut to the video's duration; gaps are silent.

    Args:
        fps: the frame rate; with `frame_times_s`, the nominal (mean) rate.
        frame_times_s: presentation time of each frame in seconds, 0 for the first and increasing
            (a variable-rate source's timestamps, e.g. `VideoReader.time_of`). The last frame lasts
            as long as the gap before it. None: frame k at k / fps.

    Returns:
        The number of frames written.
    """
    rate = _frame_rate(fps)
    timeline = _Timeline(rate, frame_times_s)
    first, frame_iterator = _first_and_rest(frames, path)
    first = _even_sized(first)
    height, width = first.shape[:2]
    with atomic_output(path) as temporary, av.open(str(temporary), mode="w", format="mp4") as container:
        video_stream = container.add_stream("libx264", rate=rate)
        video_stream.width, video_stream.height = width, height
        video_stream.pix_fmt = "yuv420p"
        # Without the macroblock-tree rate control: with it, this libx264 encodes the same frames to other bytes
        # from run to run (it reads memory it has not written); the same input must always give the same file.
        video_stream.options = {"crf": str(crf), "preset": preset, "x264-params": "mbtree=0"}
        video_stream.codec_context.time_base = timeline.time_base
        audio_writer = _AudioWriter(container, audio) if audio is not None and audio.has_audio else None
        written = 0
        for frame in _chain(first, frame_iterator):
            frame = _even_sized(frame)
            if frame.shape[:2] != (height, width):
                raise MediaError(f"{path}: frame {written} is {frame.shape[1]}x{frame.shape[0]}, expected {width}x{height}")
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = timeline.pts(written)
            video_frame.time_base = timeline.time_base
            container.mux(timeline.timed(video_stream.encode(video_frame)))
            written += 1
            if audio_writer is not None:
                audio_writer.write_until(timeline.end_s(written))
        timeline.check_count(written)
        container.mux(timeline.timed(video_stream.encode(None)))
        if audio_writer is not None:
            audio_writer.finish(timeline.end_s(written))
    return written


def write_gray_video(path: str | Path, maps: Iterable[np.ndarray], fps: float | Fraction,
                     frame_times_s: Sequence[float] | None = None, preset: str = "veryfast", bits: int = 8) -> int:
    """Encode grey images (saliency maps) losslessly as H.264 into `path`, no sound: uint8 `(H, W)` with
    ``bits=8``, uint16 values 0..1023 with ``bits=10``.

    The values are the luma plane of a stream coded with quantiser 0 (lossless, any size, odd ones included;
    chroma neutral; 4:4:4, or 4:2:0 for 10-bit maps of even size), flagged full range, so
    `diffsal.io.video.read_gray_video` (and `VideoReader.luma`) give back exactly the values written and FFmpeg
    turns them into grey RGB of the same levels (10-bit values shifted to 16 bits). Players that lack H.264's
    High 4:4:4 profile cannot show the 4:4:4 ones; they are made to be scored. The container's comment says
    that diffsal wrote it (`is_written_map_video`). The file appears under its final name only when complete.

    Returns:
        The number of frames written.
    """
    if bits not in (8, 10):
        raise ValueError(f"bits must be 8 or 10, got {bits}")
    dtype = np.dtype(np.uint8) if bits == 8 else np.dtype("<u2")
    rate = _frame_rate(fps)
    timeline = _Timeline(rate, frame_times_s)
    first, map_iterator = _first_and_rest(maps, path)
    height, width = np.shape(first)[:2]
    options = {"qp": "0", "preset": preset}
    if bits == 8:
        pixel_format = "yuv444p"
    else:  # 4:2:0 where the size allows it, coded for fast decoding and with a key frame every
        # MAP_KEY_FRAME_INTERVAL frames: training reads short clips at random places
        pixel_format = "yuv420p10le" if width % 2 == 0 and height % 2 == 0 else "yuv444p10le"
        options.update(tune="fastdecode", g=str(MAP_KEY_FRAME_INTERVAL))
    with atomic_output(path) as temporary, av.open(str(temporary), mode="w", format="mp4") as container:
        container.metadata["comment"] = MAP_VIDEO_COMMENT
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = pixel_format
        stream.options = options
        stream.codec_context.color_range = _FULL_RANGE
        stream.codec_context.time_base = timeline.time_base
        written = 0
        for levels in _chain(first, map_iterator):
            levels = np.asarray(levels)
            if levels.dtype != dtype.type or levels.shape != (height, width) or (bits == 10 and levels.max() > 1023):
                raise MediaError(f"{path}: map {written} is {levels.dtype} {levels.shape}, expected {dtype.name} "
                                 f"({height}, {width})" + (" of values 0..1023" if bits == 10 else ""))
            frame = av.VideoFrame(width, height, pixel_format)
            frame.color_range = _FULL_RANGE
            for index, plane in enumerate(frame.planes):
                values = np.full((plane.height, plane.line_size // dtype.itemsize), 1 << (bits - 1), dtype)
                if index == 0:
                    values[:, :width] = levels
                plane.update(values.tobytes())
            frame.pts = timeline.pts(written)
            frame.time_base = timeline.time_base
            container.mux(timeline.timed(stream.encode(frame)))
            written += 1
        timeline.check_count(written)
        container.mux(timeline.timed(stream.encode(None)))
    return written


def is_written_map_video(path: str | Path) -> bool:
    """True when `path` is a map video that `write_gray_video` wrote (by its container's comment): a file that may
    be replaced by the next one, as opposed to someone else's file of that name."""
    try:
        with av.open(str(path)) as container:
            return container.metadata.get("comment") == MAP_VIDEO_COMMENT
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False


class _Timeline:
    """Timestamps of the frames written: k / fps, or the given times of a variable-rate video."""

    def __init__(self, rate: Fraction, times_s: Sequence[float] | None) -> None:
        self._rate = rate
        self._times_s = None if times_s is None else [float(time) for time in times_s]
        self.time_base = 1 / rate if self._times_s is None else _VFR_TIME_BASE
        if self._times_s is None:
            return
        if not self._times_s or self._times_s[0] != 0:
            raise ValueError("frame_times_s must start at 0 (the first frame)")
        if any(later <= earlier for earlier, later in zip(self._times_s, self._times_s[1:])):
            raise ValueError("frame_times_s must increase")
        ticks = [self._ticks(time) for time in self._times_s] + [self._ticks(self.end_s(len(self._times_s)))]
        self._pts = ticks[:-1]
        self._duration_of_pts = {pts: after - pts for pts, after in zip(ticks, ticks[1:])}

    def pts(self, index: int) -> int:
        if self._times_s is None:
            return index
        if index >= len(self._pts):
            raise ValueError(f"more frames than the {len(self._pts)} frame_times_s")
        return self._pts[index]

    def end_s(self, count: int) -> float:
        """Time at which the first `count` frames have been shown."""
        times = self._times_s
        if times is None:
            return float(count / self._rate)
        if count < len(times):
            return times[count]
        return times[-1] + (times[-1] - times[-2] if len(times) > 1 else float(1 / self._rate))

    def timed(self, packets: list[av.Packet]) -> list[av.Packet]:
        """`packets` with the duration of their frame: for a variable rate the gap to the next frame
        (the encoder gives each 1 / fps), so that the last frame, too, lasts as it should."""
        if self._times_s is not None:
            for packet in packets:
                packet.duration = self._duration_of_pts[packet.pts]
        return packets

    def check_count(self, count: int) -> None:
        if self._times_s is not None and count != len(self._times_s):
            raise ValueError(f"{count} frames for {len(self._times_s)} frame_times_s")

    def _ticks(self, time_s: float) -> int:
        return round(time_s / self.time_base)


class _AudioWriter:
    """Encodes an `AudioTrack` as AAC in step with the video, so the streams are interleaved."""

    def __init__(self, container: av.container.OutputContainer, audio: AudioTrack) -> None:
        self._container = container
        self._audio = _in_aac_layout(audio)
        self._layout = self._audio.layout_name
        self._stream = container.add_stream("aac", rate=audio.sample_rate_hz, layout=self._layout)
        self._stream.bit_rate = max(_AAC_MIN_BIT_RATE, _AAC_BIT_RATE_PER_CHANNEL * self._audio.num_channels)
        self._written = 0  # samples

    def write_until(self, time_s: float) -> None:
        rate = self._audio.sample_rate_hz
        end = int(round(time_s * rate))
        while self._written + _AAC_FRAME_SAMPLES <= end:
            self._encode(_AAC_FRAME_SAMPLES)

    def finish(self, duration_s: float) -> None:
        end = int(round(duration_s * self._audio.sample_rate_hz))
        self.write_until(duration_s)
        if end > self._written:
            self._encode(end - self._written)
        self._container.mux(self._stream.encode(None))

    def _encode(self, count: int) -> None:
        rate = self._audio.sample_rate_hz
        # window() takes a centre time; ask for exactly [written, written + count) samples.
        samples = self._audio.window((self._written + count / 2) / rate, count / rate)
        samples = np.ascontiguousarray(samples[:, :count], dtype=np.float32)
        audio_frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self._layout)
        audio_frame.sample_rate = rate
        audio_frame.pts = self._written
        audio_frame.time_base = Fraction(1, rate)
        self._container.mux(self._stream.encode(audio_frame))
        self._written += count


def _in_aac_layout(audio: AudioTrack) -> AudioTrack:
    """`audio` under a layout AAC carries: the same channels where possible, else folded into stereo."""
    layout = audio.layout_name
    if _unnamed(layout):
        layout = _DEFAULT_LAYOUTS.get(audio.num_channels)
        if layout is None:  # more than 8 channels without names: nothing says how to fold them
            return replace(audio, samples=audio.samples.mean(axis=0, keepdims=True), layout="mono")
    layout = _AAC_SAME_CHANNELS.get(layout, layout)
    named = replace(audio, layout=layout)
    return named if layout in _AAC_LAYOUTS else remix(named, "stereo")


def _unnamed(layout: str) -> bool:
    """True for a layout that only counts its channels ("6 channels": the file did not say which is which)."""
    return all(channel.name == "NONE" for channel in av.AudioLayout(layout).channels)


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _first_and_rest(frames: Iterable[np.ndarray], path: str | Path) -> tuple[np.ndarray, Iterator[np.ndarray]]:
    """The first frame (it fixes the video's size) and an iterator over the others; MediaError without frames."""
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise MediaError(f"{path}: no frames to write")
    return first, iterator


def _frame_rate(fps: float | Fraction) -> Fraction:
    if not fps or fps <= 0:
        raise MediaError(f"frame rate must be positive, got {fps}")
    return fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)


def _even_sized(frame: np.ndarray) -> np.ndarray:
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise MediaError(f"frames must be RGB (H, W, 3), got shape {frame.shape}")
    pad_rows, pad_cols = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_rows or pad_cols:
        frame = np.pad(frame, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")
    return frame
