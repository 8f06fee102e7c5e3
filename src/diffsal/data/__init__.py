"""Datasets: the STAViS audio-visual benchmarks, DHF1K, and the synthetic audio-visual benchmark."""

from diffsal.data.av_dataset import AVSaliencyDataset
from diffsal.data.clip_dataset import DEFAULT_AUDIO_WINDOW_S, ClipDataset
from diffsal.data.dhf1k import DHF1KDataset
from diffsal.data.fold_lists import AV_DATABASES, FoldEntry, FoldList, fold_list_path, read_fold_list
from diffsal.data.index import Index, index_dataset
from diffsal.data.layout import StavisLayout
from diffsal.data.video_record import VideoRecord
from diffsal.data.sampling import ClipSampler, clip_centres, validation_videos

__all__ = [
    "AV_DATABASES",
    "DEFAULT_AUDIO_WINDOW_S",
    "AVSaliencyDataset",
    "ClipDataset",
    "ClipSampler",
    "Index",
    "DHF1KDataset",
    "FoldEntry",
    "FoldList",
    "StavisLayout",
    "VideoRecord",
    "clip_centres",
    "fold_list_path",
    "index_dataset",
    "read_fold_list",
    "validation_videos",
]
