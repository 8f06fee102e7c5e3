"""What is inside a media file: container, video stream, audio stream."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from diffsal.io._open import open_container
from diffsal.io.video import VideoReader


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str
    sample_rate_hz: int
    channels: int
    duration_s: float | None
    layout: str  # FFmpeg's name: "mono", "stereo", "5.1", ... ("6 channels" when the file names none)


@dataclass(frozen=True)
class MediaInfo:
    """`width` x `height` is the size as shown: `rotation_deg` (counter-clockwise) and `mirrored`
    are the display rotation of the file, which reading applies."""

    path: str
    container: str
    duration_s: float
    fps: float
    num_frames: int
    width: int
    height: int
    video_codec: str
    audio: AudioStreamInfo | None
    rotation_deg: int = 0
    mirrored: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def probe(path: str | Path) -> MediaInfo:
    """Inspect `path`. The frame count is exact (every packet is indexed), not the header's guess.

    Raises:
        MediaError: the file is missing, empty, not media, or has no video stream (a cover picture
            of an audio file is none).
    """
    with VideoReader(path) as video:
        stream_info = video.info()
    container = open_container(path)
    try:
        audio = None
        if container.streams.audio:
            stream = container.streams.audio[0]
            duration = float(stream.duration * stream.time_base) if stream.duration else None
            audio = AudioStreamInfo(
                codec=stream.codec_context.name,
                sample_rate_hz=stream.codec_context.sample_rate,
                channels=stream.codec_context.channels,
                duration_s=duration,
                layout=stream.codec_context.layout.name,
            )
        return MediaInfo(
            path=str(path),
            container=container.format.name,
            duration_s=stream_info.duration_s,
            fps=stream_info.fps,
            num_frames=stream_info.num_frames,
            width=stream_info.width,
            height=stream_info.height,
            video_codec=stream_info.codec,
            audio=audio,
            rotation_deg=stream_info.rotation_deg,
            mirrored=stream_info.mirrored,
        )
    finally:
        container.close()
