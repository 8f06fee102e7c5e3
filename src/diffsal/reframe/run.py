"""`reframe`: one video to a cropped video of another aspect ratio that keeps what viewers look at.

Steps: the saliency maps (read from a `diffsal predict` output with ``maps``, or predicted first with a
`Predictor` into ``<OUT stem>.maps/``, a resumable predict run), the shots (`diffsal.reframe.shots`; found in
a thread while the maps are read), the crop plan (`diffsal.reframe.plan`), then the files, each written
atomically:

    OUT.mp4                   the cropped video: H.264, the input's frame times, its sound re-encoded as AAC
    OUT.crop_path.json        the plan (window per frame, shots and their modes), the settings, the timings
    OUT.preview.mp4           the input under its saliency overlay with the window drawn (``preview=True``)
    OUT.maps/                 the predicted maps (only when a model is given)

``OUT.crop_path.json`` is written first with ``"status": "writing"`` and rewritten with ``"complete"`` last, so
a rerun knows the files are its own: a complete reframing with the same settings is kept (nothing is done), one
with other settings is refused without ``overwrite``, an interrupted one is done again (its maps are reused). A
file at OUT that no reframing wrote is never replaced.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diffsal.errors import InputError
from diffsal.io.atomic import write_json
from diffsal.predictions.folder import SUMMARY_NAME
from diffsal.inference.predictor import Predictor
from diffsal.inference.progress import RunProgress
from diffsal.io.audio import original_sound
from diffsal.inference.runner import OutputOptions, PredictionRun
from diffsal.inference.sources import VideoInput
from diffsal.io.paths import check_input_path, check_output_folder
from diffsal.io.video import VideoReader
from diffsal.predictions.lookup import find_prediction
from diffsal.reframe.maps import check_prediction, read_planning_maps
from diffsal.reframe.plan import FORMAT_NAME, MOTION_MODES, CropPlan, path_quality, plan_crops
from diffsal.reframe.render import write_cropped, write_preview
from diffsal.reframe.shots import DEFAULT_MIN_SHOT_FRAMES, shot_boundaries, shots_from_boundaries
from diffsal.reframe.window import crop_size, parse_aspect

# The smallest window side: H.264 codes 16x16 macroblocks, and a narrower picture is not a video anyone can watch.
MIN_WINDOW_SIDE = 16
SHOT_FRAME_WIDTH = 64  # frames are decoded at this width to find the cuts (a 64x36 signature of a 16:9 video)


@dataclass(frozen=True)
class ReframeSettings:
    """What the reframing looks like: target `aspect` ("9:16" or (9, 16)), `zoom` >= 1 (a smaller window),
    `motion` "auto" | "static" | "pan", and whether to write the preview video."""

    aspect: tuple[int, int] | str = "9:16"
    zoom: float = 1.0
    motion: str = "auto"
    preview: bool = False

    def checked(self) -> ReframeSettings:
        aspect = parse_aspect(self.aspect) if isinstance(self.aspect, str) else tuple(int(v) for v in self.aspect)
        if self.motion not in MOTION_MODES:
            raise InputError(f"motion must be one of {', '.join(MOTION_MODES)}, got {self.motion!r}")
        crop_size(64, 64, aspect, self.zoom)  # checks the aspect and the zoom
        return ReframeSettings(aspect, float(self.zoom), self.motion, bool(self.preview))


@dataclass(frozen=True)
class ReframeFiles:
    """The files of one reframing, named after OUT (an .mp4 path)."""

    video: Path
    crop_path: Path = field(init=False)
    preview: Path = field(init=False)
    maps: Path = field(init=False)

    def __post_init__(self) -> None:
        stem = self.video.with_suffix("")
        object.__setattr__(self, "crop_path", Path(f"{stem}.crop_path.json"))
        object.__setattr__(self, "preview", Path(f"{stem}.preview.mp4"))
        object.__setattr__(self, "maps", Path(f"{stem}.maps"))


@dataclass
class ReframeResult:
    files: ReframeFiles
    plan: CropPlan
    status: str  # "done" or "skipped" (already complete with the same settings)
    seconds: dict[str, float]
    quality: dict[str, float]

    def describe(self) -> str:
        """One line: the frames, the window, the shots and how they were framed, the crop path file."""
        plan = self.plan
        modes = ", ".join(f"{mode} {sum(m == mode for m in plan.modes)}" for mode in sorted(set(plan.modes)))
        return (f"{self.files.video}: {plan.num_frames} frames, window {plan.window_size[0]}x{plan.window_size[1]} "
                f"of {plan.frame_size[0]}x{plan.frame_size[1]}, {len(plan.shots)} shot(s) ({modes}); "
                f"path {self.files.crop_path}" + (" (already complete)" if self.status == "skipped" else ""))


def default_out(video: str | Path, settings: ReframeSettings) -> Path:
    """``<video stem>_<W>x<H>.mp4`` in the current folder."""
    aspect = settings.checked().aspect
    return Path(f"{Path(video).stem}_{aspect[0]}x{aspect[1]}.mp4")


def reframe(video: str | Path, out: str | Path, settings: ReframeSettings = ReframeSettings(), *,
            maps: str | Path | None = None, predictor: Predictor | None = None, overwrite: bool = False, progress: bool = False, say=None) -> ReframeResult:
    """Reframe `video` into `out` (an .mp4 path) with the maps of the `maps` folder, or with `predictor`'s;
    `progress` draws bars (on a terminal) for the prediction and the cropped video, `say` gets one line per step.

    Raises:
        InputError: bad input or settings, neither or both of `maps` and `predictor`, an OUT that is not ours or
            was made with other settings (without `overwrite`); checked before any long work.
    """
    say = say or (lambda text: None)
    settings = settings.checked()
    video = check_input_path(video, "video")
    files = ReframeFiles(Path(out))
    if files.video.suffix.lower() != ".mp4":
        raise InputError(f"{files.video}: the reframed video is written as .mp4; give an --out ending in .mp4")
    if any(path.resolve() == video.resolve() for path in (files.video, files.preview)):
        raise InputError(f"{video}: the input video is also where --out would write; choose another --out")
    if (maps is None) == (predictor is None):
        raise InputError("give either the maps of a `diffsal predict` run (--maps) or a model (--model)")
    check_output_folder(files.video.parent, files=(files.video.name, files.crop_path.name, files.preview.name),
                        folders=(files.maps.name,))
    with VideoReader(video) as reader:
        num_frames, frame_size = reader.num_frames, reader.size
    if maps is not None:
        prediction = find_prediction(maps, video)
        check_prediction(prediction, num_frames, frame_size)
        origin = {"maps": str(prediction.resolve()), "prediction": _prediction_signature(prediction)}
    else:
        prediction = None
        origin = {"model": dict(predictor.model_source), "predictor": _predictor_settings(predictor)}
    _check_window(frame_size, settings)
    signature = {"input": video.name, "frames": num_frames, "frame_size": list(frame_size),
                 "aspect": list(settings.aspect), "zoom": settings.zoom, "motion": settings.motion,
                 "preview": settings.preview, **origin}
    previous = _previous(files, signature, overwrite)
    if previous is not None:
        say(f"{files.video}: already complete with these settings")
        return previous

    write_json(files.crop_path, {"format": FORMAT_NAME, "status": "writing", "signature": signature})
    try:
        plan, seconds, quality = _write(video, files, settings, signature, num_frames, frame_size, prediction,
                                        predictor, progress, say)
    except BaseException:
        if not files.video.exists():  # nothing of ours at OUT: no marker either
            files.crop_path.unlink(missing_ok=True)
        raise
    return ReframeResult(files, plan, "done", seconds, quality)


def _check_window(frame_size: tuple[int, int], settings: ReframeSettings) -> None:
    """InputError when the window of `settings` in a `frame_size` frame is below `MIN_WINDOW_SIDE` on a side."""
    width, height = crop_size(*frame_size, settings.aspect, settings.zoom)
    if min(width, height) < MIN_WINDOW_SIDE:
        zoom = f" at zoom {settings.zoom:g}" if settings.zoom != 1 else ""
        raise InputError(f"aspect {settings.aspect[0]}:{settings.aspect[1]}{zoom} gives a {width}x{height} window in "
                         f"this {frame_size[0]}x{frame_size[1]} video; a reframed video needs at least "
                         f"{MIN_WINDOW_SIDE} pixels on each side: choose an aspect ratio closer to the video's"
                         + (" or a smaller zoom" if zoom else ""))


def _write(video: Path, files: ReframeFiles, settings: ReframeSettings, signature: dict[str, Any], num_frames: int,
           frame_size: tuple[int, int], prediction: Path | None, predictor: Predictor | None, progress: bool, say) -> tuple[CropPlan, dict[str, float], dict[str, dict[str, float]]]:
    """The work of `reframe` once the settings are checked and OUT is claimed: maps, shots, plan, files."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if predictor is not None:
        say(f"predicting the saliency maps into {files.maps}")
        prediction = _predict(video, predictor, files.maps, progress)
    seconds["maps"] = _lap(started)
    with ThreadPoolExecutor(max_workers=2) as pool:  # both decode (PNG or video) and release the GIL
        reading = pool.submit(read_planning_maps, prediction, num_frames, frame_size)
        cutting = pool.submit(find_shots, video)
        planning_maps, shots = reading.result(), cutting.result()
    seconds["maps_and_shots"] = _lap(started, seconds)
    plan = plan_crops(planning_maps.astype(np.float32), frame_size, settings.aspect, zoom=settings.zoom,
                      motion=settings.motion, shots=shots)
    seconds["plan"] = _lap(started, seconds)
    sound = original_sound(video)
    say(f"writing {files.video} ({plan.window_size[0]}x{plan.window_size[1]}, {len(plan.shots)} shot(s))")
    bars = RunProgress(1, enabled=progress)
    bars.start_video(files.video.name, num_frames)
    try:
        write_cropped(video, plan, files.video, sound, progress=lambda done: bars.frames(done, num_frames))
        bars.end_video(files.video.name, f"done, {num_frames} frames")
    finally:
        bars.close()
    seconds["crop_and_encode"] = _lap(started, seconds)
    if settings.preview:
        write_preview(video, plan, planning_maps, files.preview, sound)
        seconds["preview"] = _lap(started, seconds)
    quality = {"path": path_quality(plan.path_positions, plan.shots),
               "window": path_quality(plan.positions.astype(np.float64), plan.shots),
               "per_frame_optimum": path_quality(plan.raw_positions, plan.shots)}
    write_json(files.crop_path, {**plan.to_json(), "status": "complete", "signature": signature,
                                 "files": {"video": files.video.name,
                                           "preview": files.preview.name if settings.preview else None},
                                 "seconds": seconds, "quality": quality})
    return plan, seconds, quality


def find_shots(video: Path) -> list[tuple[int, int]]:
    """The shots of `video` (start, end exclusive), from frames decoded at `SHOT_FRAME_WIDTH` pixels across; a
    shot lasts at least half a second."""
    with VideoReader(video) as reader:
        fps = float(reader.fps)
        width, height = reader.size
        size = (SHOT_FRAME_WIDTH, max(2, round(height * SHOT_FRAME_WIDTH / width)))
        frames = (reader.frame(index, size) for index in range(reader.num_frames))
        min_shot = max(2, round(0.5 * fps)) if fps > 0 else DEFAULT_MIN_SHOT_FRAMES
        boundaries = shot_boundaries(frames, min_shot_frames=min_shot)
        return shots_from_boundaries(boundaries, reader.num_frames)


def _predict(video: Path, predictor: Predictor, maps_root: Path, progress: bool) -> Path:
    """Predict `video`'s maps into `maps_root` (resumable: a complete prediction is kept); its folder."""
    run = PredictionRun(predictor, [VideoInput(video.stem, video, video)], maps_root,
                        options=OutputOptions(overlay=False, uncertainty_video=False), progress=progress)
    report = run.run()
    if report.exit_code != 0:
        problem = next(iter(report.incomplete.values()), "failed")
        raise InputError(f"{video}: predicting the saliency maps failed: {problem}")
    return maps_root / video.stem


def _prediction_signature(prediction: Path) -> Any:
    return json.loads((prediction / SUMMARY_NAME).read_text()).get("signature")


def _predictor_settings(predictor: Predictor) -> dict[str, Any]:
    return {"steps": predictor.steps, "samples": predictor.samples, "seed": predictor.seed,
            "precision": predictor.precision, "audio": predictor.audio_mode}


def _previous(files: ReframeFiles, signature: dict[str, Any], overwrite: bool) -> ReframeResult | None:
    """The result of a complete reframing of OUT with `signature` (nothing to do), or None (to be done);
    InputError when OUT is not ours or was made with other settings and `overwrite` is not given."""
    document = None
    if files.crop_path.exists():
        try:
            document = json.loads(files.crop_path.read_text())
        except (OSError, ValueError):
            document = None
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise InputError(f"{files.crop_path} exists and was not written by diffsal reframe; move it away or "
                             "choose another --out")
    elif files.video.exists():
        raise InputError(f"{files.video} exists and was not written by diffsal reframe; move it away or choose "
                         "another --out")
    if document is None or document.get("status") != "complete":
        return None  # nothing, or an interrupted reframing of ours: done (again)
    wanted = [files.video] + ([files.preview] if signature["preview"] else [])
    if document.get("signature") == signature:
        if not all(path.is_file() for path in wanted):
            return None  # ours, a file since deleted: done again
        try:
            plan = CropPlan.from_json(document)
        except InputError:
            return None  # ours, damaged since: done again
        seconds, quality = document.get("seconds"), document.get("quality")
        return ReframeResult(files, plan, "skipped", seconds if isinstance(seconds, dict) else {},
                             quality if isinstance(quality, dict) else {})
    if not overwrite:
        old = document.get("signature") if isinstance(document.get("signature"), dict) else {}
        changed = sorted(key for key in set(old) | set(signature) if old.get(key) != signature.get(key))
        raise InputError(f"{files.video} was reframed with other settings ({', '.join(changed)}); "
                         "pass --overwrite to redo it or choose another --out")
    return None


def _lap(started: float, done: dict[str, float] | None = None) -> float:
    """Seconds since `started` minus those of the stages already timed."""
    return round(time.perf_counter() - started - sum((done or {}).values()), 4)
