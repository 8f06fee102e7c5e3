"""Test media: synthetic frames whose content is known exactly (each frame encodes its own index),
tones, and files written directly with PyAV (independently of diffsal.io.writer).

Used by the tests (frame-exactness) and the benchmarks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

_CODE_BITS = 12  # frames 0..4095 have distinct codes


def pattern_frame(index: int, width: int, height: int) -> np.ndarray:
    """RGB uint8 `(height, width, 3)` frame: a static gradient plus a band of black/white blocks
    spelling `index` in binary, so consecutive frames differ strongly even after lossy coding."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[..., 0] = rows.astype(np.uint8)
    frame[..., 1] = cols.astype(np.uint8)
    frame[..., 2] = ((rows + cols) / 2).astype(np.uint8)
    band_top, band_bottom = height // 4, max(height // 4 + 1, 3 * height // 4)
    block_edges = np.linspace(0, width, _CODE_BITS + 1).astype(int)
    for bit in range(_CODE_BITS):
        value = 255 if (index >> bit) & 1 else 0
        frame[band_top:band_bottom, block_edges[bit] : block_edges[bit + 1]] = value
    return frame


def decode_pattern_index(frame: np.ndarray) -> int:
    """Read back the index written by `pattern_frame` from a (possibly lossy, resized) RGB frame."""
    height, width = frame.shape[:2]
    band = frame[height // 4 : max(height // 4 + 1, 3 * height // 4)].astype(np.float32).mean(axis=(0, 2))
    block_edges = np.linspace(0, width, _CODE_BITS + 1).astype(int)
    index = 0
    for bit in range(_CODE_BITS):
        lo, hi = block_edges[bit], block_edges[bit + 1]
        margin = (hi - lo) // 4
        if band[lo + margin : hi - margin].mean() > 127:
            index |= 1 << bit
    return index


def tone(duration_s: float, sample_rate_hz: int, frequency_hz: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone, float32 `(num_samples,)`."""
    time_s = np.arange(int(round(duration_s * sample_rate_hz))) / sample_rate_hz
    return (amplitude * np.sin(2 * np.pi * frequency_hz * time_s)).astype(np.float32)


VIDEO_CODECS = {"mp4": "libx264", "mkv": "libx264", "mov": "libx264", "avi": "mpeg4", "webm": "libvpx-vp9"}
# PCM in AVI: lossy codecs there (mp3) carry an encoder delay that AVI cannot signal.
AUDIO_CODECS = {"mp4": "aac", "mkv": "aac", "mov": "aac", "avi": "pcm_s16le", "webm": "libopus"}


def make_video(
    path: Path,
    num_frames: int = 30,
    fps: int = 25,
    size: tuple[int, int] = (160, 96),
    audio: np.ndarray | None = None,
    audio_rate_hz: int = 44_100,
    frame_times_ms: list[int] | None = None,
    rotation_deg: int = 0,
    hflip: bool = False,
    vflip: bool = False,
    audio_layout: str | None = None,
) -> Path:
    """Write pattern frames (frame k encodes k) and optional audio `(channels, samples)`.

    `frame_times_ms` gives explicit presentation times (variable frame rate, mkv/mp4 only).
    `rotation_deg` (counter-clockwise) / `hflip` / `vflip` store a display matrix, as phones do: the
    coded pictures stay `size`, a player turns them (mp4/mkv/mov). `audio_layout` names the
    channels ("5.1", ...); by default mono or stereo.
    """
    extension = path.suffix.lstrip(".")
    width, height = size
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(VIDEO_CODECS[extension], rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if extension == "webm":
            video.options = {"deadline": "realtime", "cpu-used": "8"}
        if frame_times_ms is not None:
            video.codec_context.time_base = Fraction(1, 1000)
        if rotation_deg or hflip or vflip:
            video.set_display_rotation(rotation_deg, hflip=hflip, vflip=vflip)
        audio_stream = None
        if audio is not None:
            layout = audio_layout or _default_layout(audio)
            if extension == "webm" and audio_rate_hz != 48_000:
                raise ValueError("Opus in WebM needs 48 kHz audio")
            audio_stream = container.add_stream(AUDIO_CODECS[extension], rate=audio_rate_hz, layout=layout)
        for index in range(num_frames):
            frame = av.VideoFrame.from_ndarray(pattern_frame(index, width, height), format="rgb24")
            if frame_times_ms is not None:
                frame.pts, frame.time_base = frame_times_ms[index], Fraction(1, 1000)
            else:
                frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio_stream is not None:
            _encode_audio(container, audio_stream, audio)
    return path


def make_cover_art_audio(path: Path, duration_s: float = 1.0, rate_hz: int = 44_100) -> Path:
    """An .m4a (AAC) or .mp3 file with a stereo tone and a JPEG cover picture: a one-frame video
    stream with the attached_pic disposition, as taggers write it."""
    mp3 = path.suffix == ".mp3"
    audio_codec, container_format = ("libmp3lame", "mp3") if mp3 else ("aac", "mp4")  # PyAV's m4a muxer refuses JPEG
    with av.open(str(path), mode="w", format=container_format) as container:
        audio_stream = container.add_stream(audio_codec, rate=rate_hz, layout="stereo")
        cover = container.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(pattern_frame(0, 64, 64), format="rgb24").reformat(format="yuvj420p")
        picture.pts = 0
        for packet in [*cover.encode(picture), *cover.encode(None)]:
            container.mux(packet)
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(duration_s * rate_hz)) / rate_hz)
        _encode_audio(container, audio_stream, np.stack([tone, tone]).astype(np.float32))
    return path


def _default_layout(audio: np.ndarray) -> str:
    return "mono" if audio.shape[0] == 1 else "stereo"


def _encode_audio(container, stream, audio: np.ndarray) -> None:
    rate = stream.codec_context.sample_rate
    layout = stream.codec_context.layout.name
    chunk = {"libopus": 960, "libmp3lame": 1152}.get(stream.codec_context.name, 1024)
    sample_format = "s16" if stream.codec_context.name == "pcm_s16le" else "fltp"
    for start in range(0, audio.shape[1], chunk):
        piece = np.ascontiguousarray(audio[:, start : start + chunk], dtype=np.float32)
        if piece.shape[1] < chunk and stream.codec_context.name == "libopus":
            piece = np.pad(piece, ((0, 0), (0, chunk - piece.shape[1])))
        if sample_format == "s16":  # packed: (1, samples * channels), interleaved
            piece = (np.clip(piece, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(piece, format=sample_format, layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def click_track(duration_s: float, rate_hz: int, click_s: float, channels: int = 2) -> np.ndarray:
    """Quiet noise with one sharp click at `click_s`, float32 `(channels, samples)`."""
    rng = np.random.default_rng(0)
    samples = (0.001 * rng.standard_normal((channels, int(duration_s * rate_hz)))).astype(np.float32)
    samples[:, int(round(click_s * rate_hz))] = 0.9
    return samples


def frame_matches(decoded: np.ndarray, index: int, width: int, height: int, tolerance: float = 12.0) -> bool:
    """Decoded frame is the pattern of `index` within codec tolerance (mean absolute error)."""
    expected = pattern_frame(index, width, height).astype(np.float32)
    return float(np.abs(decoded.astype(np.float32) - expected).mean()) < tolerance
