"""The videos of one prediction: overlay, panel, uncertainty.

The overlay is encoded while the maps are predicted (`overlay_feed`: a background thread with its own
reader of the frames, fed each map in frame order), so on a GPU it costs no time of its own; so is the map video
of ``--format mp4`` (`map_video_feed`). The optional panel and uncertainty videos are made in a second pass over
the frames, reading the maps back. Either way
memory does not grow with the video's length.
Each video carries the original sound track (native rate and channel layout where AAC carries it,
see `diffsal.io.writer`) and shows each frame at the source's time, so a variable-rate video stays
in sync with its sound. Frames are upright (the source's rotation applied), so the videos need no
rotation of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from diffsal.data.annotations import read_saliency_map
from diffsal.predictions.folder import (MAP_PATTERN, OVERLAY_NAME, PANEL_NAME, UNCERTAINTY_DIR, UNCERTAINTY_VIDEO_NAME,
                                       VideoOutput, read_std_png)
from diffsal.io.overlay import blend, colorize, panel
from diffsal.io.overlap import Feed
from diffsal.inference.sources import VideoInput
from diffsal.io.audio import original_sound
from diffsal.io.frame_source import FrameSource, variable_frame_times
from diffsal.io.writer import write_gray_video, write_video



def overlay_feed(output: VideoOutput, video: VideoInput, source: FrameSource) -> Feed:
    """Encodes overlay.mp4 into the folder being built, in a background thread, from the uint8 maps `put` into
    it in frame order (the PNGs' levels); `close` finishes the file, `abort` leaves none."""

    def encode(levels: Iterator[np.ndarray]) -> None:
        frames = video.open_frames()  # its own reader: decoding happens in this thread
        try:
            overlaid = (blend(frames.frame(index), level) for index, level in enumerate(levels))
            write_video(output.built_path(OVERLAY_NAME), overlaid, **_video_settings(video, source))
        finally:
            close = getattr(frames, "close", None)
            if callable(close):
                close()

    return Feed(encode)


def map_video_feed(output: VideoOutput, source: FrameSource) -> Feed:
    """Encodes the map video of a one-video map format (``saliency.mp4``) in a background thread, from the uint8
    maps `put` into it in frame order, with the frame times of `source` (at its mean rate for a submission)."""
    name = output.map_format.video_name
    times = None if output.map_format.submission else variable_frame_times(source)

    def encode(levels: Iterator[np.ndarray]) -> None:
        write_gray_video(output.built_path(name), levels, source.fps, frame_times_s=times)

    return Feed(encode)


def render_videos(output: VideoOutput, video: VideoInput, source: FrameSource, *, panel_video: bool,
                  uncertainty_video: bool, std_max: float | None) -> list[str]:
    """Write the asked-for second-pass videos into the folder being built; returns their file names.

    Args:
        std_max: the largest std of the video, which maps to the top of the colour scale of
            ``uncertainty.mp4`` (None: no uncertainty video).
    """
    if not panel_video and not (uncertainty_video and std_max is not None):
        return []
    settings = _video_settings(video, source)
    written = []
    if panel_video:
        write_video(output.built_path(PANEL_NAME), _panel_frames(output, video, source), **settings)
        written.append(PANEL_NAME)
    if uncertainty_video and std_max is not None:
        write_video(output.built_path(UNCERTAINTY_VIDEO_NAME), _uncertainty_frames(output, source, std_max), **settings)
        written.append(UNCERTAINTY_VIDEO_NAME)
    return written


def _video_settings(video: VideoInput, source: FrameSource) -> dict:
    """`write_video`'s frame rate, sound and frame times for the videos of `source`."""
    return {"fps": source.fps, "audio": original_sound(video.audio), "frame_times_s": variable_frame_times(source)}


def _panel_frames(output: VideoOutput, video: VideoInput, source: FrameSource) -> Iterator[np.ndarray]:
    """frame | prediction | ground truth (the last tile only when the dataset has ground truth)."""
    with_truth = video.ground_truth is not None
    for index, levels in enumerate(output.built_maps(source.num_frames)):
        frame = source.frame(index)
        tiles = [frame, blend(frame, levels)]
        if with_truth:
            truth_path = video.ground_truth_path(index)
            truth = read_saliency_map(truth_path) if truth_path is not None else np.zeros(frame.shape[:2], np.float32)
            tiles.append(blend(frame, truth))
        yield panel(tiles)


def _uncertainty_frames(output: VideoOutput, source: FrameSource, std_max: float) -> Iterator[np.ndarray]:
    """mean overlay | std colour-mapped, 0 .. `std_max` of the video."""
    scale = 1.0 / std_max if std_max > 0 else 0.0
    for index, levels in enumerate(output.built_maps(source.num_frames)):
        frame = source.frame(index)
        std = read_std_png(output.built_path(f"{UNCERTAINTY_DIR}/{MAP_PATTERN.format(index + 1)}"))
        yield panel([blend(frame, levels), colorize(np.clip(std * scale, 0.0, 1.0))])
