"""A prediction run over many videos: skip what is complete, go on past failures, check everything at the end.

Each video is predicted into its own folder (`diffsal.predictions.folder`), its map files written by worker
threads while the model computes the next frames (`diffsal.io.overlap`); one that fails is
reported and its partial output deleted, and the run goes on. Under torchrun each rank predicts
its shard; afterwards rank 0 checks that *every* video of the run has a complete output made with
this run's settings and writes ``OUT/predict_summary.json``. The exit code is 0 when all videos
are complete, 1 otherwise, and the same on every rank.

A video fails (and the others go on) when it cannot be read, when the model's output for it is
not finite, or when the dataset names a wav that is missing: the model would hear silence where
the dataset promises sound, which training refuses too. ``audio_optional`` predicts such a video
on silence instead, and its summary says so.
"""

from __future__ import annotations

import platform
import time
import traceback
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from diffsal import __version__
from diffsal.errors import STORAGE_ERRNOS, DiffSalError, InputError, StorageError
from diffsal.inference.clip_plan import plan_clips
from diffsal.inference.predictor import FrameMap, Predictor
from diffsal.inference.progress import RunProgress
from diffsal.inference.render import map_video_feed, overlay_feed, render_videos
from diffsal.inference.sharding import ShardGroup
from diffsal.inference.sources import VideoInput
from diffsal.io.atomic import write_json
from diffsal.io.audio import read_audio
from diffsal.io.overlap import WriteBehind
from diffsal.predictions.folder import (MAP_PATTERN, NPY_PATTERN, OVERLAY_NAME, RUN_SUMMARY_NAME, SUMMARY_NAME,
                                        UNCERTAINTY_DIR, VideoOutput, map_png)
from diffsal.predictions.map_formats import map_format
from diffsal.runtime import TorchrunEnv


@dataclass(frozen=True)
class OutputOptions:
    """What is written per video: the 8-bit maps in `map_format`, and the extras."""

    map_format: str = "png"  # "png", "stavis" (JPEG tree) or "mp4" (one map video): diffsal.predictions.map_formats
    save_npy: bool = False  # float32 .npy map per frame
    overlay: bool = True  # overlay.mp4
    panel: bool = False  # panel.mp4: frame | prediction | ground truth
    uncertainty_video: bool = True  # uncertainty.mp4 (only with samples > 1)
    normalize: str = "minmax"  # PNG values: "minmax" per frame, or "none" (the model's [0, 1] as it is)


@dataclass
class VideoOutcome:
    key: str
    status: str  # "done", "skipped" or "failed"
    message: str = ""
    frames: int = 0
    seconds: float = 0.0
    rank: int = 0  # the torchrun rank that handled it
    summary: dict[str, Any] | None = None  # its summary.json: written ("done") or reused ("skipped"); None: failed


@dataclass
class RunReport:
    outcomes: list[VideoOutcome] = field(default_factory=list)  # this rank's videos
    all_outcomes: list[VideoOutcome] = field(default_factory=list)  # every rank's videos, in rank order
    incomplete: dict[str, str] = field(default_factory=dict)  # final check (rank 0): key -> problem
    exit_code: int = 0


def run_signature(predictor: Predictor, model_sha256: str, stride: int, options: OutputOptions) -> dict[str, Any]:
    """Everything that changes what is written; a complete output with another signature is not reused."""
    config = predictor.config
    signature = {
        "model_sha256": model_sha256,
        "steps": predictor.steps,
        "samples": predictor.samples,
        "eta": predictor.eta,
        "seed": predictor.seed,
        "stride": stride,
        "audio": predictor.audio_mode,
        "clip": [config.num_frames, config.height, config.width],
        **asdict(options),
        "precision": predictor.precision,
    }
    return signature


class PredictionRun:
    """Predicts `videos` into `out_root` (this rank's shard of them).

    Args:
        predictor: the model and sampling settings.
        videos: every video of the run (all ranks pass the same list).
        out_root: OUT.
        stride: predict every stride-th frame and interpolate.
        options: the extra outputs.
        overwrite: redo videos that are already complete.
        audio_optional: predict a dataset video whose wav is missing on silence instead of failing it.
        place: this process's place in a torchrun launch (it predicts its shard of the videos).
        progress: draw progress (failures are printed regardless).
        debug: print tracebacks of failed videos.
    """

    def __init__(self, predictor: Predictor, videos: list[VideoInput], out_root: str | Path, *, stride: int = 1,
                 options: OutputOptions = OutputOptions(), overwrite: bool = False, audio_optional: bool = False,
                 place: TorchrunEnv = TorchrunEnv(), progress: bool = True, debug: bool = False) -> None:
        self.predictor = predictor
        self.videos = videos
        self.out_root = Path(out_root)
        self.model_info = predictor.model_source  # recorded in the summaries
        self.stride = stride
        self.options = options
        self.overwrite = overwrite
        self.audio_optional = audio_optional
        self.place = place
        self.progress_enabled = progress
        self.debug = debug
        plan_clips(1, stride=stride)  # validates stride
        self.map_format = map_format(options.map_format)
        self.signature = run_signature(predictor, self.model_info["sha256"], stride, options)

    def run(self) -> RunReport:
        report = RunReport()
        started = time.perf_counter()
        with ShardGroup(self.place) as group:
            mine = self.place.take(self.videos)
            progress = RunProgress(len(mine), self.place.prefix(), self.progress_enabled, live=self.place.is_main)
            try:
                for video in mine:
                    report.outcomes.append(self._predict_one(video, progress))
            finally:
                progress.close()
            all_outcomes = [outcome for outcomes in group.gather(report.outcomes) for outcome in outcomes]
            report.all_outcomes = all_outcomes
            if self.place.is_main:
                failures = {o.key: f"failed: {o.message}" for o in all_outcomes if o.status == "failed"}
                report.incomplete = {key: failures.get(key, problem) for key, problem in self.check_complete().items()}
                if any(o.status != "failed" for o in all_outcomes) or not (self.out_root / RUN_SUMMARY_NAME).exists():
                    # A run whose every video was refused or failed leaves the summary of the run before it, which
                    # says what the folder holds.
                    self._write_run_summary(all_outcomes, report.incomplete, time.perf_counter() - started)
            report.incomplete = group.broadcast(report.incomplete)
        report.exit_code = 1 if report.incomplete or any(o.status == "failed" for o in all_outcomes) else 0
        return report

    def check_complete(self) -> dict[str, str]:
        """Videos of the run without a complete output made with this run's settings: key -> why."""
        problems = {}
        for video in self.videos:
            problem = VideoOutput(self.out_root, video.key, self.map_format).problem(self.signature, video.frames)
            if problem is not None:
                problems[video.key] = problem
        return problems

    # ------------------------------------------------------------------ one video
    def _predict_one(self, video: VideoInput, progress: RunProgress) -> VideoOutcome:
        output = VideoOutput(self.out_root, video.key, self.map_format)
        started = time.perf_counter()
        skip = self._previous_output(output, video)
        if skip is not None:
            outcome = VideoOutcome(video.key, *skip, rank=self.place.rank)
            if outcome.status == "skipped":
                outcome.summary = output.read_summary()
            progress.end_video(video.key, outcome.message if outcome.status == "skipped" else f"FAILED: {outcome.message}")
            return outcome
        try:
            summary = self._predict_into(output, video, progress)
        except Exception as error:  # noqa: BLE001 - one bad video must not stop the run; it is reported
            if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
                output.abort()  # the disk, not the video: every other video would fail the same way
                raise StorageError(f"{self.out_root}: cannot write the outputs of {video.key} ({error.strerror}); "
                                   "complete videos are kept, a rerun continues with the rest") from error
            output.abort()
            if self.debug:
                traceback.print_exc()
            message = str(error) if isinstance(error, DiffSalError) else f"{type(error).__name__}: {error}"
            progress.end_video(video.key, f"FAILED: {message}")
            return VideoOutcome(video.key, "failed", message, seconds=time.perf_counter() - started, rank=self.place.rank)
        except BaseException:
            output.abort()
            raise
        seconds = time.perf_counter() - started
        frames = summary["frames"]
        progress.end_video(video.key, f"done, {frames} frames in {seconds:.1f} s")
        return VideoOutcome(video.key, "done", "", frames, seconds, self.place.rank, summary)

    def _previous_output(self, output: VideoOutput, video: VideoInput) -> tuple[str, str] | None:
        """(status, message) when the video is not to be predicted again, else None."""
        foreign = output.foreign_files()
        if foreign:  # not ours: never replaced, not even with --overwrite
            return ("failed", f"{foreign[0]} exists but is not a diffsal prediction; move it away or choose "
                              "another --out")
        other = output.in_other_placement()
        if other is not None:
            return ("failed", f"{other}: predicted in another map format, whose files lie elsewhere in OUT (one OUT "
                              f"holds one format); choose another --out")
        if not output.path.exists():
            return None
        if self.overwrite:
            return None
        problem = output.problem(self.signature, video.frames)
        if problem is None:
            return ("skipped", "already complete")
        if problem.startswith(("predicted with other settings", "holds the prediction of another input")):
            return ("failed", f"{output.path}: {problem}; pass --overwrite or choose another --out")
        return None  # a damaged output of ours: predict it again

    def _predict_into(self, output: VideoOutput, video: VideoInput, progress: RunProgress) -> dict[str, Any]:
        """Predict one video into `output`; its summary (as written to summary.json)."""
        predictor, options = self.predictor, self.options
        source = video.open_frames()
        try:
            track, audio_note = self._model_audio(video)
            progress.start_video(video.key, source.num_frames)
            output.begin()
            std_sum = 0.0
            std_max = 0.0
            predicted = 0
            started = time.perf_counter()
            # The files of a frame are written, its overlay frame (and map video frame) encoded, while the model
            # computes the next.
            one_video = self.map_format.video_name is not None
            with WriteBehind() as writer, \
                    (overlay_feed(output, video, source) if options.overlay else nullcontext()) as overlay, \
                    (map_video_feed(output, source) if one_video else nullcontext()) as map_video:
                for frame_map in predictor.iter_video(source, track, stride=self.stride, progress=progress.frames):
                    levels = map_png(frame_map.mean, options.normalize)
                    writer.submit(self._write_frame, output, frame_map, None if one_video else levels)
                    for feed in (overlay, map_video):
                        if feed is not None:
                            feed.put(levels)
                    if frame_map.std is not None:
                        std_sum += float(frame_map.std.mean())
                        std_max = max(std_max, float(frame_map.std.max()))
                    predicted += frame_map.predicted
            predict_s = time.perf_counter() - started
            frames = source.num_frames
            started = time.perf_counter()
            videos = [OVERLAY_NAME] if options.overlay else []
            videos += render_videos(output, video, source, panel_video=options.panel,
                                    uncertainty_video=options.uncertainty_video,
                                    std_max=std_max if predictor.samples > 1 else None)
            render_s = time.perf_counter() - started
            summary = self._summary(video, source, frames, predicted, audio_note, predict_s, render_s, videos,
                                    std_sum / frames if predictor.samples > 1 else None, std_max)
            output.finish(summary)
            return summary
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()

    def _write_frame(self, output: VideoOutput, frame_map: FrameMap, levels: np.ndarray | None) -> None:
        """The per-frame files of one map (`levels` None: the maps go into one video, not per-frame files)."""
        if levels is not None:
            output.write_map(frame_map.index, levels)
        if self.options.save_npy:
            output.write_npy(frame_map.index, frame_map.mean)
        if frame_map.std is not None:
            output.write_std(frame_map.index, frame_map.std)

    def _model_audio(self, video: VideoInput):
        """The track the model hears, read as its audio transform asks (None: silence or a video-only model), and
        a note for the summary."""
        mode = self.predictor.audio_mode
        if mode == "none":
            return None, "none: video-only model"
        if mode == "silence":
            return None, "silence: --no-audio (a zero waveform, as in training for videos without sound)"
        if video.missing_audio is not None:
            if not self.audio_optional:
                raise InputError(f"{video.missing_audio}: wav missing, so the model would hear silence; pass "
                                 "--no-audio (silence for every video) or --audio-optional (silence where the wav "
                                 "is missing) to predict it anyway")
            return None, f"silence: {video.missing_audio} missing (--audio-optional; a zero waveform)"
        if video.audio is None:
            return None, "silence: the video has no sound track (a zero waveform, as in training)"
        track = read_audio(video.audio, self.predictor.preprocessing.audio.sample_rate_hz, mono=True)
        if not track.has_audio:
            return None, "silence: the video has no sound track (a zero waveform, as in training)"
        return track, f"sound track of {video.audio}"

    def _summary(self, video: VideoInput, source, frames: int, predicted: int, audio_note: str, predict_s: float,
                 render_s: float, videos: list[str], std_mean: float | None, std_max: float) -> dict[str, Any]:
        predictor = self.predictor
        width, height = source.size
        summary: dict[str, Any] = {
            "video": video.key,
            "input": str(video.frames),
            "frames": frames,
            "fps": float(source.fps),
            "size": {"width": width, "height": height},
            "model": {"path": self.model_info["path"], "weights_sha256": self.model_info["sha256"],
                      "clip_frames": predictor.config.num_frames,
                      "clip_size": [predictor.config.height, predictor.config.width],
                      "frames_out": predictor.config.frames_out,
                      "use_audio": predictor.config.use_audio},
            "precision": predictor.precision,
            "steps": predictor.steps,
            "samples": predictor.samples,
            "eta": predictor.eta,
            "seed": predictor.seed,
            "stride": self.stride,
            "predicted_frames": predicted,
            "interpolated_frames": frames - predicted,
            "interpolation": self._interpolation_note(),
            "audio": audio_note,
            "batch_size": predictor.batch_size,
            "device": str(predictor.device),
            "rank": self.place.rank,
            "time": {"predict_s": round(predict_s, 4), "s_per_frame": round(predict_s / frames, 5),
                     "frames_per_s": round(frames / predict_s, 3) if predict_s > 0 else None,
                     "render_s": round(render_s, 4)},
            "files": {"maps": f"{self.map_format.description}: "
                              f"{'min-max per frame' if self.options.normalize == 'minmax' else 'the model output x 255'}",
                      "map_format": self.map_format.name,
                      "videos": videos},
            "signature": self.signature,
            "diffsal_version": __version__,
            "completed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if self.options.save_npy:
            summary["files"]["npy"] = f"{NPY_PATTERN} (float32 model output in [0, 1])"
        if std_mean is not None:
            summary["files"]["uncertainty"] = f"{UNCERTAINTY_DIR}/{MAP_PATTERN} (16-bit, value / 65535 = per-pixel std)"
            summary["uncertainty"] = {"mean_std": round(std_mean, 6), "max_std": round(std_max, 6)}
        return summary

    def _interpolation_note(self) -> str:
        frames_out = self.predictor.config.frames_out
        if self.stride == 1:
            return "none: every frame predicted" + (f" ({frames_out} per clip)" if frames_out > 1 else "")
        predicted = (f"every {self.stride}th frame (and the last)" if frames_out == 1 else
                     f"{frames_out} frames every {self.stride * frames_out} (and the last)")
        return f"{predicted} predicted; the maps in between are linear interpolations of their two predicted neighbours"

    def _write_run_summary(self, outcomes: list[VideoOutcome], incomplete: dict[str, str], seconds: float) -> None:
        counts = {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")}
        frames = sum(o.frames for o in outcomes)
        document = {
            "format": "diffsal-prediction-run",
            "model": self.model_info,
            "signature": self.signature,
            "world_size": self.place.world_size,
            "videos": len(self.videos),
            **counts,
            "complete": len(self.videos) - len(incomplete),
            "incomplete": incomplete,
            "failures": {o.key: o.message for o in outcomes if o.status == "failed"},
            "predicted_by_rank": {o.key: o.rank for o in outcomes if o.status == "done"},
            "predicted_frames_this_run": frames,
            "wall_s": round(seconds, 3),
            "host": platform.node(),
            "summary_per_video": f"<video>/{SUMMARY_NAME}",
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(self.out_root / RUN_SUMMARY_NAME, document)
