"""Datasets: the STAViS audio-visual benchmarks, DHF1K, and the synthetic audio-visual benchmark."""

from diffsal.data.fold_lists import AV_DATABASES, FoldEntry, FoldList, fold_list_path, read_fold_list

__all__ = ["AV_DATABASES", "FoldEntry", "FoldList", "fold_list_path", "read_fold_list"]
