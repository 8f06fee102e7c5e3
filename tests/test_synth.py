import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffsal.cli import main
from diffsal.data.annotations import read_fixation_map
from diffsal.data.fold_lists import read_fold_list
from diffsal.io.audio import read_audio
from diffsal.synth import SynthConfig, generate_benchmark
from diffsal.synth.audio import dominant_colour, make_schedule
from diffsal.synth.observers import fixation_map, saliency_map

SMALL = dict(width=96, height=64, fps=10.0, seconds=7.0)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_benchmark(root, SynthConfig(num_videos=3, seed=7, **SMALL))
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _meta(root: Path, video: str) -> dict:
    return json.loads((root / "meta" / "Synthetic" / f"{video}.json").read_text())


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    config = SynthConfig(num_videos=2, seed=3, width=64, height=48, fps=10.0, seconds=2.0)
    generate_benchmark(tmp_path / "a", config)
    generate_benchmark(tmp_path / "b", config)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first.keys() == second.keys()
    assert any(name.endswith(".mp4") for name in first) and any(name.endswith(".mat") for name in first)
    assert [name for name in first if first[name] != second[name]] == []
    generate_benchmark(tmp_path / "c", SynthConfig(num_videos=2, seed=4, width=64, height=48, fps=10.0, seconds=2.0))
    third = _files(tmp_path / "c")
    assert first["video_frames/Synthetic/synth0000/img_00001.jpg"] != third["video_frames/Synthetic/synth0000/img_00001.jpg"]


def test_stavis_layout_and_three_cross_validation_splits(bench):
    names = {f"synth{index:04d}" for index in range(3)}
    tested = []
    for split in (1, 2, 3):
        train = read_fold_list(bench / "fold_lists" / f"Synthetic_list_train_{split}_fps.txt")
        test = read_fold_list(bench / "fold_lists" / f"Synthetic_list_test_{split}_fps.txt")
        assert set(train.videos) | set(test.videos) == names
        assert not set(train.videos) & set(test.videos)
        assert all(entry.num_frames == 70 and entry.fps == 10.0 for entry in train.entries + test.entries)
        tested += test.videos
    assert sorted(tested) == sorted(names)  # each video tested once over the three splits
    video = bench / "video_frames" / "Synthetic" / "synth0001"
    assert len(list(video.glob("img_*.jpg"))) == 70
    assert Image.open(video / "img_00070.jpg").size == (96, 64)
    assert len(list((bench / "annotations" / "Synthetic" / "synth0001" / "maps").glob("eyeMap_*.jpg"))) == 70
    assert len(list((bench / "annotations" / "Synthetic" / "synth0001").glob("fixMap_*.mat"))) == 70
    assert (bench / "video_audio" / "Synthetic" / "synth0001" / "synth0001.wav").is_file()
    mp4_audio = read_audio(bench / "videos" / "Synthetic" / "synth0001.mp4")
    assert mp4_audio.has_audio and mp4_audio.duration_s == pytest.approx(7.0, abs=0.1)


def test_audio_alone_tells_the_sounding_object(bench):
    matches, total, sounding_ids = 0, 0, set()
    for index in range(3):
        video = f"synth{index:04d}"
        meta = _meta(bench, video)
        track = read_audio(bench / "video_audio" / "Synthetic" / video / f"{video}.wav")
        palette = [item["palette_index"] for item in meta["objects"]]
        for frame, sounding in enumerate(meta["sounding_object"]):
            window = track.window(frame / meta["fps"], 0.064)[0]
            matches += dominant_colour(window) == palette[sounding]
            total += 1
            sounding_ids.add((video, sounding))
    assert total == 210
    assert len(sounding_ids) >= 5  # the sounding object does switch within videos
    assert matches / total > 0.95


def test_frames_are_identical_whoever_sounds(tmp_path):
    base = SynthConfig(num_videos=2, seed=5, width=64, height=48, fps=10.0, seconds=8.0)
    generate_benchmark(tmp_path / "a", base)
    generate_benchmark(tmp_path / "b", SynthConfig(num_videos=2, seed=5, sound_seed=99, width=64, height=48, fps=10.0, seconds=8.0))
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    frames = [name for name in first if name.startswith("video_frames/")]
    assert len(frames) == 160
    assert all(first[name] == second[name] for name in frames)
    schedules = [_meta(tmp_path / root, "synth0000")["sounding_object"] for root in ("a", "b")]
    assert schedules[0] != schedules[1]
    wav = "video_audio/Synthetic/synth0000/synth0000.wav"
    assert first[wav] != second[wav]


def test_observers_look_at_the_sounding_object_after_a_reaction_delay(bench):
    on_sounding, after_switch_on_new, after_switch_total, steady_total = 0, 0, 0, 0
    for index in range(3):
        video = f"synth{index:04d}"
        meta = _meta(bench, video)
        fps = meta["fps"]
        sounding = np.array(meta["sounding_object"])
        looked = np.array(meta["looked_at"])  # (frames, observers)
        switches_s = [segment["start_s"] for segment in meta["schedule"]]
        for frame in range(len(sounding)):
            time_s = frame / fps
            since_s = time_s - max(start for start in switches_s if start <= time_s)
            if since_s >= 0.4:  # observers have reacted
                on_sounding += (looked[frame] == sounding[frame]).sum()
                steady_total += looked.shape[1]
            if time_s > 1 and since_s < 0.14:  # a switch less than the shortest reaction time ago
                after_switch_on_new += (looked[frame] == sounding[frame]).sum()
                after_switch_total += looked.shape[1]
        # The fixMap files agree with the simulated gaze: fixations near the sounding object.
        frame = 60
        fixations = read_fixation_map(bench / "annotations" / "Synthetic" / video / f"fixMap_{frame + 1:05d}.mat")
        ys, xs = np.nonzero(fixations)
        centre = np.array(meta["object_centres_px"][frame][sounding[frame]])
        radius = meta["objects"][sounding[frame]]["radius_px"]
        near = np.hypot(xs - centre[0], ys - centre[1]) <= 2 * radius
        assert near.mean() > 0.5
    assert 0.7 < on_sounding / steady_total < 0.95
    assert after_switch_total and after_switch_on_new / after_switch_total < 0.3


def test_sounding_object_is_chosen_uniformly():
    rng = np.random.default_rng(0)
    counts = np.zeros(4)
    for _ in range(500):
        schedule = make_schedule(rng, 4, 8.0)
        counts += np.bincount(schedule.sounding, minlength=4)
    shares = counts / counts.sum()
    assert np.all(np.abs(shares - 0.25) < 0.03)


def test_continuous_map_is_the_blurred_fixation_map():
    points = np.array([[10, 20], [10, 20], [40, 5]])
    saliency = saliency_map(fixation_map(points, (64, 48)), sigma_px=64 / 30)
    assert saliency.dtype == np.uint8 and saliency.shape == (48, 64)
    assert saliency[20, 10] == 255 and saliency[5, 40] == 255  # each fixated pixel counts once
    assert saliency[20, 30] == 0 and saliency[20, 12] < saliency[20, 11] < 255


def test_cli_writes_a_benchmark_and_rejects_bad_sizes(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["synth", str(out), "--videos", "2", "--seconds", "1", "--size", "64x48", "--fps", "12", "--quiet"]) == 0
    assert "wrote 2 videos of 12 frames" in capsys.readouterr().out
    assert read_fold_list(out / "fold_lists" / "Synthetic_list_train_3_fps.txt").entries[0].fps == 12.0
    assert main(["synth", str(tmp_path / "x"), "--size", "64by48"]) == 2
    assert "--size must be WxH" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "x"), "--videos", "1"]) == 2
    assert main(["synth", str(tmp_path / "x"), "--objects", "1,9"]) == 2


@pytest.mark.slow
def test_acceptance_size_benchmark_is_complete(tmp_path):
    """The acceptance size (its generation time is measured by benchmarks/data_bench.py, not here)."""
    generate_benchmark(tmp_path, SynthConfig(num_videos=4, seed=0, width=192, height=112, fps=25.0, seconds=8.0))
    folders = sorted((tmp_path / "video_frames" / "Synthetic").iterdir())
    assert len(folders) == 4
    assert all(len(list(folder.glob("img_*.jpg"))) == 200 for folder in folders)
