"""Finding the prediction of one video in a folder that `diffsal predict` wrote: the video's own folder, or any
folder of a run (of video files or of a dataset) that holds it."""

from __future__ import annotations

from pathlib import Path

from diffsal.errors import InputError
from diffsal.predictions.folder import SUMMARY_NAME, VideoOutput
from diffsal.predictions.map_formats import SUBMISSION_FOLDERS

PREDICTION_DEPTH = 3  # OUT/split<N>_results/<db>/<video>: the deepest folder `diffsal predict` writes a video to


def find_prediction(folder: str | Path, video: Path) -> Path:
    """The prediction folder of `video` in `folder`: `folder` itself, ``folder/<stem>``, or the one under `folder`
    (up to `PREDICTION_DEPTH` levels down: ``OUT/<video>``, ``OUT/<db>/<video>``,
    ``OUT/split<N>_results/<db>/<video>``; for the challenge format under ``OUT/.diffsal/``) whose summary's input
    has `video`'s name without its suffix (a dataset's prediction was made from the frame folder of the same name),
    the shallowest level first. Read it with `VideoOutput.of_folder`.

    Raises:
        InputError: no such folder, or two at the same level (of two databases): the message names them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: --maps must be a folder written by `diffsal predict`")
    for candidate in (folder, folder / video.stem):
        if _is_prediction_of(candidate, video):
            return candidate
    for depth in range(1, PREDICTION_DEPTH + 1):
        found = sorted(path.parent for root in (folder, folder / SUBMISSION_FOLDERS)
                       for path in root.glob("/".join(["*"] * depth + [SUMMARY_NAME]))
                       if _is_prediction_of(path.parent, video))
        if len(found) > 1:
            raise InputError(f"{folder}: {len(found)} predictions of {video.name} ({', '.join(map(str, found[:4]))}); "
                             "give the folder of the one to use as --maps")
        if found:
            return found[0]
    raise InputError(f"{folder}: no complete `diffsal predict` output of {video.name} (looked for {SUMMARY_NAME} "
                     f"in {folder} and up to {PREDICTION_DEPTH} folder levels under it)")


def _is_prediction_of(candidate: Path, video: Path) -> bool:
    summary = VideoOutput(candidate.parent, candidate.name).read_summary()
    return summary is not None and Path(str(summary.get("input", ""))).stem == video.stem
