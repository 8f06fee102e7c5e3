"""Model-owned preprocessing (diffsal.models.preprocessing) and how the datasets and the predictor apply it."""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from media import pattern_frame
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

from diffsal.data import ClipDataset, VideoRecord
from diffsal.errors import InputError
from diffsal.inference import Predictor
from diffsal.io import ClipReader, FrameFolder, read_audio
from diffsal.models import DiffSal, DiffSalConfig, DiffusionConfig, SaliencySample
from diffsal.models.preprocessing import (
    KINETICS_MEAN,
    KINETICS_STD,
    AudioTransform,
    FrameTransform,
    Preprocessing,
    WaveformWindow,
    diffsal_preprocessing,
)

FPS = 10.0
NUM_FRAMES = 12
FRAME_SIZE = (96, 72)  # (width, height) of the decoded frames
NATIVE_RATE_HZ = 22_050
PATTERN = "{:04d}.png"
PUBLISHED_STEPS = ((80, 60, "bicubic"), (64, 32, "bilinear"))  # the published recipe, scaled down


def _old_normalise(frames: np.ndarray) -> torch.Tensor:
    """ClipReader's normalisation before the transforms existed (Kinetics mean/std on [0, 1] values)."""
    values = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div_(255.0)
    mean = torch.tensor(KINETICS_MEAN, dtype=torch.float32).view(3, 1, 1, 1)
    std = torch.tensor(KINETICS_STD, dtype=torch.float32).view(3, 1, 1, 1)
    return (values - mean) / std


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> tuple[Path, Path]:
    """A folder of PNG pattern frames and a mono 16-bit WAV at 22.05 kHz (a ramp: sample value = its time)."""
    root = tmp_path_factory.mktemp("preprocessing")
    frames = root / "frames"
    frames.mkdir()
    for index in range(NUM_FRAMES):
        Image.fromarray(pattern_frame(index, *FRAME_SIZE)).save(frames / PATTERN.format(index + 1))
    duration_s = NUM_FRAMES / FPS
    ramp = np.linspace(0.0, 0.9, int(duration_s * NATIVE_RATE_HZ), dtype=np.float64)
    wav = root / "sound.wav"
    with wave.open(str(wav), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(NATIVE_RATE_HZ)
        writer.writeframes((ramp * 32767).astype("<i2").tobytes())
    return frames, wav


@dataclass
class NativeRateGrid:
    """A non-waveform audio input of fixed shape (1, 9, 4, 4) from the native-rate track; its silence is -1 (not
    zeros). It records what it saw."""

    sample_rate_hz: int | None = None
    shape: tuple[int, ...] = (1, 9, 4, 4)
    seen: list[tuple[int | None, int, float, float]] = field(default_factory=list)

    def __call__(self, track, centre_frame: int, centre_time_s: float, fps: float) -> torch.Tensor:
        self.seen.append((track.sample_rate_hz if track is not None else None, centre_frame, centre_time_s, fps))
        if track is None or not track.has_audio:
            return torch.full(self.shape, -1.0)
        window = track.window(centre_time_s, 0.2)[0]
        return torch.full(self.shape, float(window.mean()))


# ---------------------------------------------------------------------- frame transforms
def test_diffsal_transform_is_bit_identical_to_the_old_normalisation():
    frames = np.random.default_rng(0).integers(0, 256, size=(5, 24, 40, 3), dtype=np.uint8)
    transform = diffsal_preprocessing((24, 40)).frames
    assert transform.pixel_scale == 1 / 255 and transform.mean == KINETICS_MEAN and transform.std == KINETICS_STD
    normalised = transform.normalise(frames)
    assert normalised.dtype == torch.float32 and normalised.shape == (3, 5, 24, 40)
    assert torch.equal(normalised, _old_normalise(frames))
    assert transform.decode_size((640, 360)) == (40, 24)  # the frame source scales straight to the model size
    first = frames[0]
    assert transform.resize(first) is first  # already at size


def test_pixel_scale_one_normalises_0_255_values():
    frames = np.random.default_rng(1).integers(0, 256, size=(2, 8, 8, 3), dtype=np.uint8)
    mean, std = (110.0, 100.0, 90.0), (60.0, 55.0, 50.0)
    transform = FrameTransform((8, 8), pixel_scale=1.0, mean=mean, std=std)
    expected = (torch.from_numpy(frames).permute(3, 0, 1, 2).float()
                - torch.tensor(mean).view(3, 1, 1, 1)) / torch.tensor(std).view(3, 1, 1, 1)
    assert torch.equal(transform.normalise(frames), expected)
    half = FrameTransform((8, 8), pixel_scale=0.5, mean=(0.0,) * 3, std=(1.0,) * 3).normalise(frames)
    assert torch.equal(half, torch.from_numpy(frames).permute(3, 0, 1, 2).float() * 0.5)


def test_pil_steps_are_the_pil_resizes_of_the_full_frame():
    frame = pattern_frame(3, 200, 150)
    transform = FrameTransform((32, 64), resize_steps=PUBLISHED_STEPS, pixel_scale=1.0)
    assert transform.decode_size((200, 150)) is None  # full resolution, then the PIL steps
    by_hand = Image.fromarray(frame).resize((80, 60), Image.Resampling.BICUBIC)
    by_hand = by_hand.resize((64, 32), Image.Resampling.BILINEAR)
    resized = transform.resize(frame)
    assert resized.dtype == np.uint8 and resized.shape == (32, 64, 3)
    np.testing.assert_array_equal(resized, np.asarray(by_hand))


def test_bad_frame_transforms_are_refused():
    with pytest.raises(ValueError, match="resize filter"):
        FrameTransform((32, 64), resize_steps=((64, 32, "cubic"),))
    with pytest.raises(ValueError, match="last resize step"):
        FrameTransform((32, 64), resize_steps=((80, 60, "bicubic"),))
    with pytest.raises(ValueError, match="pixel_scale"):
        FrameTransform((32, 64), pixel_scale=0.0)
    with pytest.raises(ValueError, match="std"):
        FrameTransform((32, 64), std=(1.0, 0.0, 1.0))


def test_clip_reader_applies_the_transform(media):
    frames, _ = media
    source = FrameFolder(frames, FPS, PATTERN)
    decoder_side = ClipReader(source, 4, diffsal_preprocessing((32, 64)).frames).clip(5)
    by_hand = np.stack([source.frame(index, size=(64, 32)) for index in decoder_side.indices])
    assert torch.equal(decoder_side.frames, _old_normalise(by_hand))
    mean, std = (120.0, 115.0, 100.0), (58.0, 57.0, 57.0)
    published = FrameTransform((32, 64), resize_steps=PUBLISHED_STEPS, pixel_scale=1.0, mean=mean, std=std)
    clip = ClipReader(source, 4, published).clip(5)
    assert clip.frames.shape == (3, 4, 32, 64) and clip.geometry.content == (0, 0, 64, 32)
    steps = [Image.fromarray(source.frame(index)).resize((80, 60), Image.Resampling.BICUBIC)
             .resize((64, 32), Image.Resampling.BILINEAR) for index in clip.indices]
    assert torch.equal(clip.frames, published.normalise(np.stack([np.asarray(image) for image in steps])))


def test_letterbox_is_refused_with_resize_steps(media):
    frames, _ = media
    source = FrameFolder(frames, FPS, PATTERN)
    published = FrameTransform((32, 64), resize_steps=PUBLISHED_STEPS)
    with pytest.raises(ValueError, match="letterbox"):
        ClipReader(source, 4, published, resize_mode="letterbox")
    record = VideoRecord("Mine", "v", FPS, NUM_FRAMES, str(frames), PATTERN)
    with pytest.raises(ValueError, match="letterbox"):
        ClipDataset([record], clip_length=4, preprocessing=Preprocessing(published), resize_mode="letterbox",
                    annotations=False)
    ClipReader(source, 4, diffsal_preprocessing((32, 64)).frames, resize_mode="letterbox").clip(0)  # decoder-side: fine


# ---------------------------------------------------------------------- model configs
def test_the_model_config_gives_diffsal_preprocessing():
    config = DiffSalConfig.preset("tiny")
    preprocessing = config.preprocessing()
    assert preprocessing == diffsal_preprocessing((config.height, config.width), config.audio_window_s)
    assert preprocessing.frames.size == (64, 112) and preprocessing.frames.resize_steps == ()
    assert isinstance(preprocessing.audio, AudioTransform)
    assert preprocessing.audio.sample_rate_hz == 16_000 and preprocessing.audio.shape == (config.audio.num_samples,)
    video_only = DiffSalConfig.from_dict({**config.to_dict(), "use_audio": False})
    assert video_only.preprocessing().audio is None
    assert DiffSal(video_only).preprocessing == video_only.preprocessing()


def test_waveform_window_cuts_the_16khz_window(media):
    _, wav = media
    track = read_audio(wav, 16_000, mono=True)
    window = WaveformWindow(0.5)
    audio = window(track, 6, 0.6, FPS)
    assert audio.dtype == torch.float32 and audio.shape == window.shape == (8000,)
    np.testing.assert_array_equal(audio.numpy(), track.window(0.6, 0.5)[0])
    assert torch.equal(window(None, 0, 0.0, FPS), torch.zeros(8000))
    with pytest.raises(ValueError, match="22050 Hz"):
        window(read_audio(wav, None, mono=True), 6, 0.6, FPS)


# ---------------------------------------------------------------------- datasets
def _dataset(media, audio, offset_s: float = 0.0) -> ClipDataset:
    frames, wav = media
    record = VideoRecord("Mine", "v", FPS, NUM_FRAMES, str(frames), PATTERN, audio=str(wav))
    preprocessing = Preprocessing(FrameTransform((32, 64), resize_steps=PUBLISHED_STEPS, pixel_scale=1.0), audio)
    return ClipDataset([record], clip_length=4, preprocessing=preprocessing, audio_offset_s=offset_s, annotations=False)


def test_a_native_rate_grid_audio_flows_through_the_dataset_and_collate(media):
    grid = NativeRateGrid()
    dataset = _dataset(media, grid, offset_s=0.05)
    item = dataset[6]
    assert item["frames"].shape == (3, 4, 32, 64)
    assert item["audio"].shape == (1, 9, 4, 4) and item["has_audio"] is True
    rate, frame, time_s, fps = grid.seen[-1]
    assert rate == NATIVE_RATE_HZ and frame == 6 and fps == FPS
    assert time_s == pytest.approx(6 / FPS + 0.05)  # the dataset's audio offset is included
    # The ramp's mean over the window is its value at the window's centre (0.65 s of 1.2 s, up to 0.9).
    assert float(item["audio"][0, 0, 0, 0]) == pytest.approx(0.9 * 0.65 / 1.2, abs=2e-3)
    batch = next(iter(DataLoader(dataset, batch_size=3, shuffle=False)))
    assert batch["audio"].shape == (3, 1, 9, 4, 4) and batch["has_audio"].tolist() == [True] * 3


def test_a_video_without_sound_gets_the_transform_silence(media):
    frames, _ = media
    grid = NativeRateGrid()
    record = VideoRecord("Mine", "v", FPS, NUM_FRAMES, str(frames), PATTERN)  # no sound track
    preprocessing = Preprocessing(FrameTransform((32, 64), resize_steps=PUBLISHED_STEPS), grid)
    item = ClipDataset([record], clip_length=4, preprocessing=preprocessing, annotations=False)[2]
    assert torch.equal(item["audio"], torch.full((1, 9, 4, 4), -1.0)) and item["has_audio"] is False
    assert grid.seen[-1][0] is None


def test_a_video_only_model_reads_no_sound(media):
    dataset = _dataset(media, None)
    item = dataset[3]
    assert item["audio"].shape == (0,) and item["has_audio"] is False
    assert not dataset._tracks  # no sound track was decoded


# ---------------------------------------------------------------------- predictor
@dataclass
class StubConfig:
    """The attributes the predictor uses, as any model family's config has them."""

    audio_transform: AudioTransform | None
    num_frames: int = 4
    height: int = 32
    width: int = 64
    frames_out: int = 1
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    @property
    def use_audio(self) -> bool:
        return self.audio_transform is not None

    def preprocessing(self) -> Preprocessing:
        frames = FrameTransform((self.height, self.width), resize_steps=PUBLISHED_STEPS, pixel_scale=1.0)
        return Preprocessing(frames, self.audio_transform)


class StubModel(nn.Module):
    """Maps filled with the mean of each clip's audio input; remembers the inputs it was given."""

    def __init__(self, config: StubConfig) -> None:
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(torch.zeros(1))
        self.inputs: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def sample(self, frames, audio, *, steps, n_samples, eta, generator, noise) -> SaliencySample:
        self.inputs.append((frames, audio))
        level = audio.flatten(1).mean(1) if audio is not None else torch.zeros(frames.shape[0])
        mean = level.view(-1, 1, 1, 1).expand(-1, self.config.frames_out, self.config.height, self.config.width)
        return SaliencySample(mean.contiguous(), None)


def test_the_predictor_feeds_the_native_rate_track_through_the_model_transform(media):
    frames, wav = media
    grid = NativeRateGrid()
    model = StubModel(StubConfig(grid))
    predictor = Predictor(model, device="cpu", steps=1, batch_size=4)
    maps = predictor.predict_video(FrameFolder(frames, FPS, PATTERN), audio=wav)
    assert maps.mean.shape == (NUM_FRAMES, FRAME_SIZE[1], FRAME_SIZE[0])
    assert {seen[0] for seen in grid.seen} == {NATIVE_RATE_HZ}
    assert [seen[1] for seen in grid.seen] == list(range(NUM_FRAMES))
    assert [seen[2] for seen in grid.seen] == pytest.approx([index / FPS for index in range(NUM_FRAMES)])
    assert len(model.inputs) == 3 and all(audio.shape == (4, 1, 9, 4, 4) for _, audio in model.inputs)
    assert maps.mean[-1].mean() > maps.mean[1].mean() > 0  # the ramp rises
    # The frames are the model's own (PIL steps from the full frame, 0-255 values).
    clip = ClipReader(FrameFolder(frames, FPS, PATTERN), 4, model.config.preprocessing().frames).clip(0)
    assert torch.equal(model.inputs[0][0][0], clip.frames)
    # A track at any rate is accepted when the transform reads the native rate.
    track = read_audio(wav, 8_000, mono=True)
    predictor.predict_video(FrameFolder(frames, FPS, PATTERN), audio=track)
    assert grid.seen[-1][0] == 8_000


def test_the_predictor_feeds_the_transform_silence_without_sound(media):
    frames, wav = media
    for use_audio, audio in ((True, None), (False, wav)):  # a frame source without sound; --no-audio
        model = StubModel(StubConfig(NativeRateGrid()))
        Predictor(model, device="cpu", steps=1, batch_size=2, use_audio=use_audio).predict_video(FrameFolder(frames, FPS, PATTERN),
                                                                                     audio=audio)
        assert all(clip_audio.shape[1:] == (1, 9, 4, 4) and bool((clip_audio == -1.0).all())
                   for _, clip_audio in model.inputs)
        assert {seen[0] for seen in model.config.audio_transform.seen} == {None}


def test_predict_clip_takes_a_fixed_shape_audio_input(media):
    model = StubModel(StubConfig(NativeRateGrid()))
    predictor = Predictor(model, device="cpu", steps=1, batch_size=2)
    frames = torch.randn(3, 4, 32, 64)
    one = predictor.predict_clip(frames, torch.full((1, 9, 4, 4), 0.25))
    assert model.inputs[-1][1].shape == (1, 1, 9, 4, 4) and one.mean.shape == (1, 1, 32, 64)
    assert torch.allclose(one.mean, torch.full_like(one.mean, 0.25))
    predictor.predict_clip(frames.expand(2, -1, -1, -1, -1), torch.rand(2, 1, 9, 4, 4))
    assert model.inputs[-1][1].shape == (2, 1, 9, 4, 4)
    predictor.predict_clip(frames)  # no audio: silence of the transform's shape
    assert torch.equal(model.inputs[-1][1], torch.zeros(1, 1, 9, 4, 4))


def test_a_fixed_rate_transform_refuses_a_track_at_another_rate(media):
    frames, wav = media
    model = StubModel(StubConfig(WaveformWindow(0.5)))
    predictor = Predictor(model, device="cpu", steps=1, batch_size=2)
    with pytest.raises(InputError, match="22050 Hz; the model needs 16000 Hz"):
        predictor.predict_video(FrameFolder(frames, FPS, PATTERN), audio=read_audio(wav, None, mono=True))
    predictor.predict_video(FrameFolder(frames, FPS, PATTERN), audio=wav)  # read at 16 kHz
    assert model.inputs[-1][1].shape[1:] == (8000,)
