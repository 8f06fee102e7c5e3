"""Opening media files with PyAV, turning every failure into one `MediaError` that names the file."""

from __future__ import annotations

from pathlib import Path

import av

from diffsal.errors import InputError, MediaError
from diffsal.io.paths import check_input_path


def check_media_path(path: str | Path) -> Path:
    """Return `path` as a Path after checking that it is a readable, non-empty regular file."""
    try:
        path = check_input_path(path, "media file")
    except InputError as error:
        raise MediaError(str(error)) from None
    if path.is_dir():
        raise MediaError(f"{path}: is a directory, expected a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty")
    return path


def open_container(path: str | Path) -> av.container.InputContainer:
    """Open `path` for reading; raise `MediaError` if it is missing, empty or not a media file."""
    path = check_media_path(path)
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise MediaError(f"{path}: not a readable media file ({_reason(error)})") from error


def video_streams(container: av.container.InputContainer) -> list[av.video.stream.VideoStream]:
    """The container's video streams, without attached pictures (the cover art of audio files,
    which FFmpeg lists as a one-frame video stream)."""
    return [stream for stream in container.streams.video
            if not stream.disposition & av.stream.Disposition.attached_pic]


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.strip().rstrip(".") or type(error).__name__
