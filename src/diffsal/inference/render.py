"""The videos of one prediction, rendered from the maps already written: overlay, panel, uncertainty.

They are made in a second pass over the frames (decoding is cheap next to the model), reading the
map PNGs back, so the prediction pass streams and memory does not grow with the video's length.
Each video carries the original sound track (native rate and channel layout where AAC carries it,
see `diffsal.io.writer`) and shows each frame at the source's time, so a variable-rate video stays
in sync with its sound. Frames are upright (the source's rotation applied), so the videos need no
rotation of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from diffsal.data.annotations import read_saliency_map
from diffsal.inference.outputs import (MAP_PATTERN, OVERLAY_NAME, PANEL_NAME, UNCERTAINTY_DIR, UNCERTAINTY_VIDEO_NAME,
                                       VideoOutput, read_std_png)
from diffsal.inference.overlay import blend, colorize, panel
from diffsal.inference.sources import VideoInput
from diffsal.io.audio import AudioTrack, read_audio
from diffsal.io.frame_source import FrameSource
from diffsal.io.writer import write_video

_CONSTANT_RATE_TOLERANCE_S = 0.001  # a millisecond clock rounds k / fps by up to half of this


def render_videos(output: VideoOutput, video: VideoInput, source: FrameSource, *, overlay: bool, panel_video: bool,
                  uncertainty_video: bool, std_max: float | None) -> list[str]:
    """Write the asked-for videos into the folder being built; returns their file names.

    Args:
        std_max: the largest std of the video, which maps to the top of the colour scale of
            ``uncertainty.mp4`` (None: no uncertainty video).
    """
    sound = original_sound(video)
    settings = {"fps": source.fps, "audio": sound, "frame_times_s": variable_frame_times(source)}
    written = []
    if overlay:
        write_video(output.built_path(OVERLAY_NAME), _overlay_frames(output, source), **settings)
        written.append(OVERLAY_NAME)
    if panel_video:
        write_video(output.built_path(PANEL_NAME), _panel_frames(output, video, source), **settings)
        written.append(PANEL_NAME)
    if uncertainty_video and std_max is not None:
        write_video(output.built_path(UNCERTAINTY_VIDEO_NAME), _uncertainty_frames(output, source, std_max), **settings)
        written.append(UNCERTAINTY_VIDEO_NAME)
    return written


def variable_frame_times(source: FrameSource) -> list[float] | None:
    """The frame times in seconds of a variable-rate source; None when frame k is at k / fps
    (within `_CONSTANT_RATE_TOLERANCE_S`: timestamps rounded to the file's clock), as most are."""
    times = [source.time_of(index) for index in range(source.num_frames)]
    if source.fps > 0 and all(abs(time - index / source.fps) <= _CONSTANT_RATE_TOLERANCE_S
                              for index, time in enumerate(times)):
        return None
    return times


def original_sound(video: VideoInput) -> AudioTrack | None:
    """The sound track at its own rate and channels (None when the video has none)."""
    if video.audio is None:
        return None
    track = read_audio(video.audio, sample_rate_hz=None, mono=False)
    return track if track.has_audio else None


def _maps(output: VideoOutput, index: int) -> np.ndarray:
    return read_saliency_map(output.built_path(MAP_PATTERN.format(index + 1)))


def _overlay_frames(output: VideoOutput, source: FrameSource) -> Iterator[np.ndarray]:
    for index in range(source.num_frames):
        yield blend(source.frame(index), _maps(output, index))


def _panel_frames(output: VideoOutput, video: VideoInput, source: FrameSource) -> Iterator[np.ndarray]:
    """frame | prediction | ground truth (the last tile only when the dataset has ground truth)."""
    with_truth = video.ground_truth is not None
    for index in range(source.num_frames):
        frame = source.frame(index)
        tiles = [frame, blend(frame, _maps(output, index))]
        if with_truth:
            truth_path = video.ground_truth_path(index)
            truth = read_saliency_map(truth_path) if truth_path is not None else np.zeros(frame.shape[:2], np.float32)
            tiles.append(blend(frame, truth))
        yield panel(tiles)


def _uncertainty_frames(output: VideoOutput, source: FrameSource, std_max: float) -> Iterator[np.ndarray]:
    """mean overlay | std colour-mapped, 0 .. `std_max` of the video."""
    scale = 1.0 / std_max if std_max > 0 else 0.0
    for index in range(source.num_frames):
        frame = source.frame(index)
        std = read_std_png(output.built_path(f"{UNCERTAINTY_DIR}/{MAP_PATTERN.format(index + 1)}"))
        yield panel([blend(frame, _maps(output, index)), colorize(np.clip(std * scale, 0.0, 1.0))])
