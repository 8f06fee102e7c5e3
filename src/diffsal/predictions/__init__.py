"""The prediction folder: the on-disk layout that `diffsal predict` writes and `evaluate`, `reframe`, the demo and
the studies read.

- `folder`: one video's output (``OUT/<key>/``: maps, extras, ``summary.json``, complete or absent), the run
  summary, the settings signature that tells whether an output can be reused;
- `map_formats`: how the maps are stored (PNG, the STAViS JPEG tree, one lossless ``saliency.mp4``);
- `lookup`: the prediction of one video in a folder of any of those layouts.
"""

from diffsal.predictions.folder import RUN_SUMMARY_NAME, SUMMARY_NAME, VideoOutput
from diffsal.predictions.lookup import find_prediction
from diffsal.predictions.map_formats import MAP_FORMATS, MapFormat, map_format

__all__ = ["MAP_FORMATS", "RUN_SUMMARY_NAME", "SUMMARY_NAME", "MapFormat", "VideoOutput", "find_prediction",
           "map_format"]
