"""Which clips a video is predicted with, and which frames each clip's K maps give.

A model with ``frames_out = K`` predicts the maps of its clip's central K slots: a clip centred on frame
c gives frames ``c - K // 2 .. c - K // 2 + K - 1``. A video is covered by clips every K frames (every
``stride * K`` frames with `stride` > 1, plus one that reaches the last frame; the frames in between are
interpolated). At the end of the video the centre is held at the last frame, so every clip centre is a
real frame, and a frame that two clips cover is given by the first only: each frame is predicted once.
K = 1 is the paper's design: one clip per predicted frame, centred on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from diffsal.errors import InputError


@dataclass(frozen=True)
class ClipBlock:
    """One clip of the plan: its centre frame, the first frame of its K maps, and the frames it gives.

    Map k of the clip is frame ``first + k``; `frames` are those of them inside the video that no earlier
    clip gave, in increasing order.
    """

    centre: int
    first: int
    frames: tuple[int, ...]


def plan_clips(num_frames: int, frames_out: int = 1, stride: int = 1) -> list[ClipBlock]:
    """The clips that predict a video of `num_frames` frames with a K = `frames_out` model.

    Raises:
        InputError: `stride` < 1 or `frames_out` < 1.
    """
    if stride < 1:
        raise InputError(f"stride must be >= 1, got {stride}")
    if frames_out < 1:
        raise InputError(f"frames_out must be >= 1, got {frames_out}")
    if num_frames < 1:
        return []
    starts = list(range(0, num_frames, stride * frames_out))
    if starts[-1] + frames_out < num_frames:
        starts.append(num_frames - frames_out)  # a clip that reaches the last frame
    blocks, given = [], -1  # given: the last frame an earlier clip gave
    for start in starts:
        centre = min(start + frames_out // 2, num_frames - 1)
        first = centre - frames_out // 2
        frames = tuple(range(max(first, given + 1), min(first + frames_out, num_frames)))
        if frames:
            blocks.append(ClipBlock(centre, first, frames))
            given = frames[-1]
    return blocks


def prediction_indices(num_frames: int, stride: int, frames_out: int = 1) -> list[int]:
    """Frames the model predicts (the others are interpolated): all of them with `stride` 1; with `stride` s,
    K frames every s * K frames, and always the last."""
    return [frame for block in plan_clips(num_frames, frames_out, stride) for frame in block.frames]
