"""The clip dataset shared by every benchmark: records + sampled target frames -> training items.

An item is a dict that torch's default collate can batch:

- ``frames`` float32 `(3, T, H, W)`, made by the model's frame transform (``preprocessing.frames``,
  through `ClipReader`); the clip's centre frame is slot ``T // 2``.
- ``audio`` float32 of the model's audio shape (``preprocessing.audio.shape``): what its audio transform
  makes of the sound track around the centre frame's time (+ `audio_offset_s`); silence where there is no
  sound. For DiffSal (`WaveformWindow`) the raw 16 kHz mono waveform, `(round(audio_window_s * 16000),)`;
  the model owns the log-mel front end. A video-only model (``preprocessing.audio`` None) gets an empty
  `(0,)` tensor and no sound track is read.
- ``has_audio`` bool: False when the video has no sound track (DHF1K, a silent user video) or the model
  is video-only.
- ``target`` float32 `(K, H, W)` continuous maps in [0, 1] of the K = `frames_out` target frames, placed
  like the frames: the clip's central K slots, frames ``frame - K // 2`` onwards (K = 1: the centre frame),
  clamped to the video like the clip's padded slots (`diffsal.data.sampling.target_frames`).
- ``fixations`` float32 `(K, H, W)` of 0/1, every fixated pixel kept.
- ``dataset`` str, ``video`` str, ``frame`` int (0-based centre frame), ``num_frames`` int,
  ``fps`` float, ``original_size`` int64 `(2,)` = (height, width) of the source frames.

``target`` and ``fixations`` are present only when the dataset was built with annotations. A dataset
built with `target_maps` (a teacher's maps, for distillation) has ``target`` from it and no ``fixations``.

Per-video state is compact (a `VideoRecord` of paths and numbers). Frame readers and decoded
sound tracks are opened lazily in the process that reads (DataLoader workers included) and
kept in a small LRU, so a worker never inherits an open decoder and memory does not grow with
the number of videos.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from diffsal.data.ground_truth import GroundTruth
from diffsal.data.sampling import (
    DEFAULT_TRAIN_STRIDE,
    ClipSampler,
    Sampling,
    target_frames,
)
from diffsal.data.targets import resize_fixations, resize_saliency
from diffsal.data.video_record import VideoRecord
from diffsal.errors import DatasetError
from diffsal.io.audio import AudioTrack, read_audio
from diffsal.io.clip import ClipReader, ResizeMode
from diffsal.io.video import VideoReader
from diffsal.models.preprocessing import Preprocessing, diffsal_preprocessing

DEFAULT_AUDIO_WINDOW_S = 1.52  # the span of DiffSal's 9 log-mel examples


def default_preprocessing() -> Preprocessing:
    """DiffSal's preprocessing at the paper's size (224x384, 1.52 s of 16 kHz audio)."""
    return diffsal_preprocessing((224, 384), DEFAULT_AUDIO_WINDOW_S)


class ClipDataset(Dataset):
    """Clips of a list of videos.

    Args:
        records: the videos (`diffsal.data.index.records`).
        sampler: which frames become clip targets (`ClipSampler`); default: one made of `sampling`,
            `stride`, `random_offset` and `seed`.
        transform: applied to every item before it is returned (None: the item as made).
        sampling: "sparse" (one clip per `stride` frames, for training) or "dense" (every frame).
        stride: K of sparse sampling.
        random_offset: draw the first sparse target of each video anew per epoch (`set_epoch`);
            otherwise it is fixed at ``stride // 2``.
        seed: seed of the random offsets.
        clip_length: T; resize_mode: see `ClipReader`.
        frames_out: K, the target maps per clip (the model's `frames_out`).
        preprocessing: the model's (``config.preprocessing()``): the frame transform (its size is that of the
            frames and targets) and the audio transform (None: video-only). Default: DiffSal's at 224x384
            with a 1.52 s window (`default_preprocessing`).
        audio_offset_s: shift of the audio window's centre, in seconds.
        annotations: load ``target`` and ``fixations``.
        target_maps: instead of annotations, where ``target`` comes from: called with (record index, 0-based
            frame indices), it returns float32 `(K, H, W)` maps in [0, 1] at the clip's frame size.
        cached_videos: open frame readers kept per process.
        audio_cache_mb: decoded sound tracks kept per process, in MiB (at least one track).
        skipped: messages about videos left out (`skip_bad`), kept for reporting.
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        sampler: ClipSampler | None = None,
        transform: Callable[[dict], dict] | None = None,
        *,
        sampling: Sampling = "dense",
        stride: int = DEFAULT_TRAIN_STRIDE,
        random_offset: bool = False,
        seed: int = 0,
        clip_length: int = 16,
        frames_out: int = 1,
        preprocessing: Preprocessing | None = None,
        resize_mode: ResizeMode = "stretch",
        audio_offset_s: float = 0.0,
        annotations: bool = True,
        target_maps: Callable[[int, list[int]], np.ndarray] | None = None,
        cached_videos: int = 4,
        audio_cache_mb: float = 64.0,
        skipped: Sequence[str] = (),
    ) -> None:
        if clip_length < 1:
            raise ValueError(f"clip_length must be >= 1, got {clip_length}")
        if not 1 <= frames_out <= clip_length:
            raise ValueError(f"frames_out must be in [1, clip_length={clip_length}], got {frames_out}")
        self.records = list(records)
        self.sampler = sampler if sampler is not None else ClipSampler(sampling, stride, random_offset, seed)
        self.transform = transform
        self.clip_length = clip_length
        self.frames_out = frames_out
        self.preprocessing = preprocessing if preprocessing is not None else default_preprocessing()
        self.size = tuple(self.preprocessing.frames.size)
        self.resize_mode = resize_mode
        if self.preprocessing.frames.resize_steps and resize_mode != "stretch":
            raise ValueError(f"resize mode {resize_mode!r} needs frames scaled while decoding; this model's frames "
                             "are resized from the full frame (resize_steps), which only stretches")
        self.audio_offset_s = float(audio_offset_s)
        if annotations and target_maps is not None:
            raise ValueError("give annotations or target_maps, not both")
        self.annotations = annotations
        self.target_maps = target_maps
        self.cached_videos = max(1, cached_videos)
        self.audio_cache_bytes = int(audio_cache_mb * 2**20)
        self.skipped = list(skipped)
        self.epoch = 0
        self._samples = self._sample()
        self._reset_caches()

    # ------------------------------------------------------------------ sampling
    sampling = property(lambda self: self.sampler.sampling, doc="The sampler's `ClipSampler.sampling`.")
    stride = property(lambda self: self.sampler.stride, doc="The sampler's `ClipSampler.stride`.")
    random_offset = property(lambda self: self.sampler.random_offset, doc="The sampler's `ClipSampler.random_offset`.")
    seed = property(lambda self: self.sampler.seed, doc="The sampler's `ClipSampler.seed`.")

    def set_epoch(self, epoch: int) -> None:
        """Re-draw the sparse offsets for `epoch` (only with ``random_offset=True``)."""
        self.epoch = int(epoch)
        if self.sampler.per_epoch:
            self._samples = self._sample()

    def _sample(self) -> np.ndarray:
        """int64 `(num_clips, 2)`: (record index, target frame) pairs."""
        return self.sampler.samples([record.num_frames for record in self.records], self.epoch)

    @property
    def videos(self) -> list[str]:
        return [record.video for record in self.records]

    def __len__(self) -> int:
        return len(self._samples)

    # ------------------------------------------------------------------ items
    def __getitem__(self, index: int) -> dict:
        record_index, frame = (int(value) for value in self._samples[index])
        record = self.records[record_index]
        reader = self._clip_reader(record_index)
        try:
            clip = reader.clip(frame)
            time_s = reader.source.time_of(frame)
        except IndexError as error:
            raise DatasetError(f"{record.frames}: frame {frame + 1} is beyond the end of the frames ({error})") from error
        fps = float(reader.source.fps)
        audio, has_audio = self._audio(record_index, frame, time_s + self.audio_offset_s, fps)
        width, height = reader.source.size
        item = {
            "frames": clip.frames,
            "audio": audio,
            "has_audio": has_audio,
            "dataset": record.dataset,
            "video": record.video,
            "frame": frame,
            "num_frames": record.num_frames,
            "fps": float(record.fps),
            "original_size": torch.tensor([height, width], dtype=torch.int64),
        }
        if self.target_maps is not None:
            maps = self.target_maps(record_index, target_frames(frame, record.num_frames, self.frames_out))
            item["target"] = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))
        if self.annotations:
            targets = target_frames(frame, record.num_frames, self.frames_out)
            truth = self._ground_truth(record_index)
            item["target"] = torch.from_numpy(np.stack([
                resize_saliency(truth.saliency(index), reader.geometry) for index in targets]))
            item["fixations"] = torch.from_numpy(np.stack([
                resize_fixations(truth.fixations(index), reader.geometry) for index in targets]))
        return item if self.transform is None else self.transform(item)

    # ------------------------------------------------------------------ per-process caches
    def _reset_caches(self) -> None:
        self._pid = os.getpid()
        self._readers: OrderedDict[int, ClipReader] = OrderedDict()
        self._tracks: OrderedDict[int, AudioTrack] = OrderedDict()
        self._truths: OrderedDict[int, GroundTruth] = OrderedDict()

    def _check_process(self) -> None:
        if self._pid != os.getpid():  # forked into a worker: never share decoders with the parent
            self._reset_caches()

    def _clip_reader(self, record_index: int) -> ClipReader:
        self._check_process()
        reader = self._readers.get(record_index)
        if reader is not None:
            self._readers.move_to_end(record_index)
            return reader
        source = self.records[record_index].open_frames()
        reader = ClipReader(source, self.clip_length, self.preprocessing.frames, self.resize_mode)
        self._readers[record_index] = reader
        while len(self._readers) > self.cached_videos:
            _, evicted = self._readers.popitem(last=False)
            if isinstance(evicted.source, VideoReader):
                evicted.source.close()
        return reader

    def _ground_truth(self, record_index: int) -> GroundTruth:
        self._check_process()
        truth = self._truths.get(record_index)
        if truth is not None:
            self._truths.move_to_end(record_index)
            return truth
        truth = self._truths[record_index] = GroundTruth(self.records[record_index])
        while len(self._truths) > self.cached_videos:
            self._truths.popitem(last=False)[1].close()
        return truth

    def _audio(self, record_index: int, frame: int, centre_s: float, fps: float) -> tuple[torch.Tensor, bool]:
        """The model's audio input for the clip centred on `frame` (its window centred on `centre_s`; the frames
        run at `fps`) and whether the video has sound."""
        transform = self.preprocessing.audio
        if transform is None:  # a video-only model: no sound track is read
            return torch.zeros(0, dtype=torch.float32), False
        record = self.records[record_index]
        track = self._track(record_index) if record.audio is not None else None
        audio = transform(track, frame, centre_s, fps)
        return audio, bool(track is not None and track.has_audio)

    def _track(self, record_index: int) -> AudioTrack:
        """The record's sound track, mono, at the audio transform's rate (None: native), from the LRU."""
        self._check_process()
        track = self._tracks.get(record_index)
        if track is None:
            track = read_audio(self.records[record_index].audio, self.preprocessing.audio.sample_rate_hz, mono=True)
            self._tracks[record_index] = track
            while len(self._tracks) > 1 and sum(t.samples.nbytes for t in self._tracks.values()) > self.audio_cache_bytes:
                self._tracks.popitem(last=False)
        else:
            self._tracks.move_to_end(record_index)
        return track

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_readers"] = OrderedDict()
        state["_tracks"] = OrderedDict()
        state["_truths"] = OrderedDict()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()


def report_skipped(name: str, skipped: Sequence[str]) -> None:
    """Warn once about the videos a dataset left out (``skip_bad=True``)."""
    if skipped:
        listing = "\n  ".join(skipped)
        warnings.warn(f"{name}: skipped {len(skipped)} video(s):\n  {listing}", stacklevel=3)
