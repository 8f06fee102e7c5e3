"""Audio/video input and output with PyAV: frame-exact video reading, clips, audio windows, mp4 writing."""

from diffsal.io.audio import MODEL_SAMPLE_RATE_HZ, AudioTrack, read_audio
from diffsal.io.clip import Clip, ClipReader, FrameGeometry, clip_indices
from diffsal.io.frame_folder import FrameFolder
from diffsal.io.frame_source import FrameSource
from diffsal.io.probe import MediaInfo, probe
from diffsal.io.video import VideoReader
from diffsal.io.writer import write_video

__all__ = [
    "MODEL_SAMPLE_RATE_HZ",
    "AudioTrack",
    "Clip",
    "ClipReader",
    "FrameFolder",
    "FrameGeometry",
    "FrameSource",
    "MediaInfo",
    "VideoReader",
    "clip_indices",
    "probe",
    "read_audio",
    "write_video",
]
