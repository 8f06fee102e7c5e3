"""`evaluate` end to end on tiny STAViS-layout and DHF1K-layout datasets written by the tests."""

import json
import math

import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy.ndimage import gaussian_filter

from diffsal.data.annotations import read_fixation_map, read_saliency_map, write_fixation_mat, write_saliency_map
from diffsal.errors import DatasetError, InputError
from diffsal.evaluation import (STRICT, CenterPriorPredictions, EvaluationSettings, FolderPredictions, OtherMaps,
                                evaluate, load_benchmark, load_video_fixations, markdown_table, write_results)
from diffsal.metrics import PostProcess, cc, nss

SHAPE = (24, 32)
FRAMES = 4
VIDEOS = ("v1", "v2", "v3")
EMPTY_FRAME = ("v1", 3)  # a frame without fixations


def _frame_truth(video_index, frame):
    rng = np.random.default_rng(100 * video_index + frame)
    fixations = np.zeros(SHAPE, dtype=bool)
    if (VIDEOS[video_index], frame) != EMPTY_FRAME:
        fixations.flat[rng.choice(fixations.size, 3, replace=False)] = True
    saliency = gaussian_filter(fixations.astype(float), 2.5)
    if saliency.max() > 0:
        saliency /= saliency.max()
    return fixations, saliency


def make_stavis(root, database="DBX"):
    """3 videos x 4 frames; v1 is tested by splits 1 and 2, v4 only ever trained on."""
    for video_index, video in enumerate(VIDEOS):
        folder = root / "annotations" / database / video
        (folder / "maps").mkdir(parents=True)
        for frame in range(1, FRAMES + 1):
            fixations, saliency = _frame_truth(video_index, frame)
            write_saliency_map(folder / "maps" / f"eyeMap_{frame:05d}.jpg", saliency)
            write_fixation_mat(folder / f"fixMap_{frame:05d}.mat", fixations)
    lists = root / "fold_lists"
    lists.mkdir()
    tests = {1: ["v1"], 2: ["v2", "v1"], 3: ["v3"]}
    for split, tested in tests.items():
        (lists / f"{database}_list_test_{split}_fps.txt").write_text(
            "\n".join(f"{video} {FRAMES} 25" for video in tested))  # no final newline
        trained = [video for video in (*VIDEOS, "v4") if video not in tested]
        (lists / f"{database}_list_train_{split}_fps.txt").write_text(
            "\n\n".join(f"{video} {FRAMES} 25" for video in trained) + "\n\n")
    return root


def write_perfect_predictions(data_root, prediction_root, database="DBX", pattern="{db}/{video}/{frame:05d}.png",
                              split=None):
    """The ground-truth maps, at half resolution, as 8-bit PNGs."""
    for video in VIDEOS:
        for frame in range(1, FRAMES + 1):
            maps = data_root / "annotations" / database / video / "maps"
            saliency = read_saliency_map(maps / f"eyeMap_{frame:05d}.jpg")
            small = np.asarray(Image.fromarray(saliency).resize((SHAPE[1] // 2, SHAPE[0] // 2), Image.BILINEAR))
            path = prediction_root / pattern.format(db=database, video=video, frame=frame, split=split)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_saliency_map(path, np.clip(small, 0, 1))
    return prediction_root


def predict_something_on_the_empty_frame(prediction_root, database="DBX"):
    """A non-black prediction for the frame without fixations (a black one is NaN for every metric)."""
    video, frame = EMPTY_FRAME
    rows, columns = np.mgrid[0:SHAPE[0] // 2, 0:SHAPE[1] // 2]
    write_saliency_map(prediction_root / database / video / f"{frame:05d}.png", (rows + columns) / (rows + columns).max())


@pytest.fixture
def stavis(tmp_path):
    data = make_stavis(tmp_path / "data")
    predictions = write_perfect_predictions(data, tmp_path / "pred")
    return data, predictions


def _run(data, predictions, pattern="default", **settings):
    source = FolderPredictions(predictions, pattern)
    benchmark = load_benchmark(data, per_split=source.uses_split)
    return evaluate(benchmark, source, EvaluationSettings(**{"workers": 1, **settings}))


def test_scores_follow_the_protocol_frame_by_frame(stavis):
    data, predictions = stavis
    result = _run(data, predictions, metrics=("CC", "NSS"))
    postprocess = PostProcess()
    per_video = {}
    for video in VIDEOS:
        folder = data / "annotations" / "DBX" / video
        ccs, nsss = [], []
        for frame in range(1, FRAMES + 1):
            fixations = read_fixation_map(folder / f"fixMap_{frame:05d}.mat")
            if not fixations.any():
                continue
            prediction = np.asarray(Image.open(predictions / "DBX" / video / f"{frame:05d}.png"), float) / 255
            prediction = postprocess(prediction, SHAPE)
            ccs.append(cc(prediction, read_saliency_map(folder / "maps" / f"eyeMap_{frame:05d}.jpg")))
            nsss.append(nss(prediction, fixations))
        per_video[video] = (np.mean(ccs), np.mean(nsss))
    database = result.databases["DBX"]
    # The pattern has no {split}: v1, tested by two splits with the same files, is scored once.
    assert [unit.video for unit in result.units] == ["v1", "v2", "v3"]
    assert database.mean("CC") == pytest.approx(np.mean([scores[0] for scores in per_video.values()]), rel=1e-9)
    assert database.mean("NSS") == pytest.approx(np.mean([scores[1] for scores in per_video.values()]), rel=1e-9)
    assert database.mean("CC") > 0.8


def test_frames_without_fixations_score_sim_and_kld_zero_under_stavis(stavis, tmp_path):
    predict_something_on_the_empty_frame(stavis[1])
    result = _run(*stavis)
    info = result.to_dict()["databases"]["DBX"]
    assert info["frames"] == 12 and info["frames_without_fixations"] == 1 and info["frames_scored"] == 12
    per_metric = info["per_metric"]
    for name in ("SIM", "KLD"):  # similarity.m and KLdiv.m leave the black map as it is: the score is 0
        assert per_metric[name]["frames_scored"] == 12 and per_metric[name]["frames_dropped"] == {}
    for name in ("CC", "NSS", "AUC-J", "AUC-B", "sAUC", "IG"):
        assert per_metric[name]["frames_scored"] == 11
        assert per_metric[name]["dropped_but_scored_by_another_metric"] == 1
    assert per_metric["NSS"]["frames_dropped"] == {"no-fixations": 1}
    assert per_metric["CC"]["frames_dropped"] == {"undefined": 1}  # CC of a black ground-truth map
    unit = result.units[0]
    assert unit.frames_scored == 4 and 0.0 in unit.scores["SIM"] and 0.0 in unit.scores["KLD"]
    assert result.inconsistent_drops == {name: 1 for name in ("CC", "NSS", "AUC-J", "AUC-B", "sAUC", "IG")}
    write_results(result, tmp_path / "out")
    rows = (tmp_path / "out" / "per_video.csv").read_text().splitlines()
    assert rows[0].startswith("dataset,video,split,frames,frames_scored,frames_missing,frames_without_fixations,CC")
    assert rows[0].endswith("IG frames,CC dropped,NSS dropped,SIM dropped,KLD dropped,AUC-J dropped,AUC-B dropped,"
                            "sAUC dropped,IG dropped")
    assert rows[1].startswith("DBX,v1,,4,4,0,1,") and rows[1].endswith(",1,1,0,0,1,1,1,1")


def test_a_black_prediction_has_no_score_under_stavis(stavis):
    """postprocessMap.m divides by the maximum: 0 / 0 everywhere, so every metric drops the frame."""
    result = _run(*stavis)  # the perfect prediction of the frame without fixations is black
    counts = result.to_dict()["databases"]["DBX"]["per_metric"]
    assert all(counts[name]["frames_dropped"] == {"empty-prediction": 1} for name in counts)
    assert result.inconsistent_drops == {}


def test_frames_without_fixations_drop_out_of_every_metric_under_strict(stavis):
    predict_something_on_the_empty_frame(stavis[1])
    stavis_result, strict_result = _run(*stavis), _run(*stavis, protocol=STRICT)
    info = strict_result.to_dict()["databases"]["DBX"]
    assert info["frames_without_fixations"] == 1 and info["frames_scored"] == 11
    assert all(counts["frames_scored"] == 11 and counts["frames_dropped"] == {"no-fixations": 1}
               for counts in info["per_metric"].values())
    assert strict_result.inconsistent_drops == {}
    # The dropped frame scored SIM = 0 under stavis, so strict's SIM is higher; CC is the same.
    assert strict_result.units[0].mean("SIM") > stavis_result.units[0].mean("SIM")
    assert strict_result.units[0].mean("CC") == pytest.approx(stavis_result.units[0].mean("CC"), rel=1e-12)
    assert strict_result.to_dict()["protocol"]["departures_from_stavis"][0] == \
        "frames without fixations dropped from every metric"


def test_split_pattern_scores_each_split_model(tmp_path):
    data = make_stavis(tmp_path / "data")
    pattern = "split{split}/{db}/{video}/{frame:05d}.png"
    for split in (1, 2, 3):
        write_perfect_predictions(data, tmp_path / "pred", pattern=pattern, split=split)
    result = _run(data, tmp_path / "pred", pattern=pattern, metrics=("CC",))
    assert [(unit.video, unit.split) for unit in result.units] == [("v1", 1), ("v1", 2), ("v2", 2), ("v3", 3)]
    assert result.to_dict()["split_coverage"]["DBX"]["tested_more_than_once"] == ["v1"]
    assert result.to_dict()["split_coverage"]["DBX"]["never_tested"] == ["v4"]


def test_missing_predictions_are_reported_or_an_error_when_all_are_required(stavis):
    data, predictions = stavis
    gone = predictions / "DBX" / "v2" / "00002.png"
    gone.unlink()
    result = _run(data, predictions)
    report = result.to_dict()
    assert report["missing_predictions"] == {"count": 1, "files": [str(gone)]}
    assert report["databases"]["DBX"]["frames_missing"] == 1
    assert report["databases"]["DBX"]["frames_scored"] == 11
    with pytest.raises(InputError, match=r"1 prediction frame\(s\) missing: .*v2/00002.png"):
        _run(data, predictions, require_all_frames=True)


def test_metrics_json_records_seed_and_sauc_variant_and_is_deterministic(stavis, tmp_path):
    data, predictions = stavis
    first = _run(data, predictions, seed=5)
    write_results(first, tmp_path / "a")
    report = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert report["seed"] == 5
    assert report["sauc"]["variant"] == "same-video"
    assert report["sauc"]["splits"] == 100
    assert report["postprocess"] == {"clip": True, "min_max": True, "blur_sigma_px": 2.0, "resize": True}
    assert report["protocol"]["name"] == "stavis" and report["protocol"]["departures_from_stavis"] == []
    assert set(report["databases"]["DBX"]["scores"]) == {"CC", "NSS", "SIM", "KLD", "AUC-J", "AUC-B", "sAUC", "IG"}
    again = _run(data, predictions, seed=5, workers=2)
    write_results(again, tmp_path / "b")
    assert (tmp_path / "a" / "metrics.json").read_text() == (tmp_path / "b" / "metrics.json").read_text()
    other_seed = _run(data, predictions, seed=6).databases["DBX"]
    assert other_seed.mean("AUC-B") != first.databases["DBX"].mean("AUC-B")
    assert other_seed.mean("CC") == first.databases["DBX"].mean("CC")


def test_center_prior_is_a_floor(stavis):
    data, predictions = stavis
    perfect = _run(data, predictions).databases["DBX"]
    benchmark = load_benchmark(data, per_split=False)
    prior = evaluate(benchmark, CenterPriorPredictions(), EvaluationSettings(workers=1))
    floor = prior.databases["DBX"]
    assert prior.to_dict()["predictions"]["source"] == "center-prior"
    assert perfect.mean("CC") > floor.mean("CC") + 0.3
    assert perfect.mean("NSS") > floor.mean("NSS")
    assert floor.mean("IG") == pytest.approx(0.0, abs=1e-12)  # the IG baseline is the centre prior itself
    assert "| DBX | 3 | 12 |" in markdown_table(prior)


def test_same_video_other_map_is_the_union_minus_the_frame(stavis):
    data, _ = stavis
    unit = load_benchmark(data).units[1]  # v2
    fixations = load_video_fixations(unit.ground_truth)
    maps = OtherMaps("same-video", {("DBX", "v2"): fixations})
    union = np.any([fixations.fixation_map(frame) for frame in range(1, FRAMES + 1)], axis=0)
    expected = union & ~fixations.fixation_map(2)
    np.testing.assert_array_equal(maps.other_map("DBX", "v2", 2), expected)


def test_other_videos_variant_is_seeded_and_recorded(stavis):
    data, predictions = stavis
    result = _run(data, predictions, sauc_variant="other-videos", other_videos=2, seed=1)
    assert result.to_dict()["sauc"]["variant"] == "other-videos"
    assert result.to_dict()["sauc"]["other_videos"] == 2
    again = _run(data, predictions, sauc_variant="other-videos", other_videos=2, seed=1)
    assert again.databases["DBX"].mean("sAUC") == result.databases["DBX"].mean("sAUC")
    benchmark = load_benchmark(data)
    fixations = {(unit.database, unit.video): load_video_fixations(unit.ground_truth) for unit in benchmark.units}
    other = OtherMaps("other-videos", fixations, other_videos=2, seed=1).other_map("DBX", "v1", 1)
    # one frame each of v2 and v3: 3 fixations each (maybe overlapping), none from v1
    assert 1 <= other.sum() <= 6
    own_union = np.any([fixations[("DBX", "v1")].fixation_map(frame) for frame in range(1, 5)], axis=0)
    v2_v3 = np.any([fixations[("DBX", video)].fixation_map(frame) for video in ("v2", "v3")
                    for frame in range(1, 5)], axis=0)
    assert not (other & ~v2_v3).any()
    assert own_union.any()


def make_dhf1k(root, videos=("0600", "0601", "0602")):
    for index, video in enumerate(videos):
        for kind in ("maps", "fixation"):
            (root / "annotation" / video / kind).mkdir(parents=True)
        for frame in range(1, 4):
            fixations, saliency = _frame_truth(index % 3, frame + 10)
            fixations.flat[index + frame] = True
            write_saliency_map(root / "annotation" / video / "maps" / f"{frame:04d}.png", saliency)
            write_saliency_map(root / "annotation" / video / "fixation" / f"{frame:04d}.png", fixations.astype(float))
    return root


def test_dhf1k_layout_scores_the_validation_videos(tmp_path):
    data = make_dhf1k(tmp_path / "dhf1k")
    predictions = tmp_path / "pred"
    for video in ("0601", "0602"):
        for frame in range(1, 4):
            saliency = read_saliency_map(data / "annotation" / video / "maps" / f"{frame:04d}.png")
            (predictions / "DHF1K" / video).mkdir(parents=True, exist_ok=True)
            np.save(predictions / "DHF1K" / video / f"{frame:05d}.npy", saliency.astype(np.float64) * 7)
    source = FolderPredictions(predictions, "{db}/{video}/{frame:05d}.npy")
    benchmark = load_benchmark(data)
    assert benchmark.layout == "dhf1k"
    assert [unit.video for unit in benchmark.units] == ["0601", "0602"]  # 0600 is a training video
    # Maps x 7: the strict protocol's min-max undoes the scale; stavis clips them to [0, 1] first.
    result = evaluate(benchmark, source, EvaluationSettings(
        workers=2, protocol=STRICT, postprocess=PostProcess(clip=False, blur_sigma_px=0)))
    database = result.databases["DHF1K"]
    assert database.to_dict()["frames_scored"] == 6
    assert database.mean("CC") == pytest.approx(1.0, abs=1e-6)  # JPEG-free PNG ground truth, no blur
    clipped = evaluate(benchmark, source, EvaluationSettings(workers=2, postprocess=PostProcess(blur_sigma_px=0)))
    assert clipped.databases["DHF1K"].mean("CC") < 0.95
    assert database.mean("SIM") == pytest.approx(1.0, abs=1e-6)
    assert load_benchmark(data, split="all").units[0].video == "0600"


def test_nan_in_a_prediction_names_the_file(stavis, tmp_path):
    data, _ = stavis
    predictions = write_perfect_predictions(data, tmp_path / "npy", pattern="{db}/{video}/{frame:05d}.png")
    bad = predictions / "DBX" / "v2" / "00001.npy"
    for path in (predictions / "DBX").rglob("*.png"):
        array = np.asarray(Image.open(path), float)
        np.save(path.with_suffix(".npy"), array)
    values = np.load(bad)
    values[0, 0] = np.nan
    np.save(bad, values)
    with pytest.raises(InputError, match=f"{bad}: prediction contains NaN or inf"):
        _run(data, predictions, pattern="{db}/{video}/{frame:05d}.npy")


def test_corrupt_prediction_names_the_file(stavis):
    data, predictions = stavis
    corrupt = predictions / "DBX" / "v3" / "00004.png"
    corrupt.write_bytes(b"not a png")
    with pytest.raises(InputError, match=f"{corrupt}: corrupt or unreadable prediction image"):
        _run(data, predictions)


def test_shape_mismatch_without_resize_names_the_file(stavis):
    data, predictions = stavis
    with pytest.raises(InputError, match=r"v1/00001.png: shape mismatch: prediction \(12, 16\)"):
        _run(data, predictions, postprocess=PostProcess(resize=False))


def test_missing_ground_truth_names_the_file(stavis):
    data, predictions = stavis
    gone = data / "annotations" / "DBX" / "v3" / "fixMap_00002.mat"
    gone.unlink()
    with pytest.raises(DatasetError, match=f"{gone}: fixation map missing"):
        _run(data, predictions)
    write_fixation_mat(gone, _frame_truth(2, 2)[0])
    (data / "annotations" / "DBX" / "v2" / "maps" / "eyeMap_00004.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="eyeMap_00004.jpg: corrupt or unreadable image"):
        _run(data, predictions, metrics=("CC",), sauc_variant="same-video")


def test_wrong_layouts_are_dataset_errors(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="unknown dataset layout"):
        load_benchmark(tmp_path / "nothing")
    with pytest.raises(InputError, match=r"no such file or folder \(dataset folder\)"):
        load_benchmark(tmp_path / "absent")
    data = make_stavis(tmp_path / "data")
    (data / "fold_lists" / "DBX_list_test_2_fps.txt").unlink()
    with pytest.raises(InputError, match="DBX_list_test_2_fps.txt: fold list not found"):
        load_benchmark(data)
    with pytest.raises(DatasetError, match="database folder not found"):
        load_benchmark(data, databases=["AVAD"], split="1")
    (data / "annotations" / "DBX" / "v3" / "maps").rename(data / "annotations" / "DBX" / "v3" / "eyemaps")
    with pytest.raises(DatasetError, match="v3/maps: annotation folder"):
        load_benchmark(data, split="3")
    with pytest.raises(InputError, match="split for the STAViS layout"):
        load_benchmark(data, split="val")


def test_bad_prediction_patterns(tmp_path):
    with pytest.raises(InputError, match=r"no such file or folder \(prediction folder\)"):
        FolderPredictions(tmp_path / "absent")
    with pytest.raises(InputError, match="unknown field {name}"):
        FolderPredictions(tmp_path, "{name}/{frame}.png")
    with pytest.raises(InputError, match="must contain {frame}"):
        FolderPredictions(tmp_path, "{video}.png")
    assert FolderPredictions(tmp_path, "published").pattern == "{db}/{video}/pred_sal_{frame:06d}.jpg"


def test_nan_means_of_constant_predictions_are_dropped_and_counted(stavis, tmp_path):
    data, _ = stavis
    flat = tmp_path / "flat"
    for video in VIDEOS:
        (flat / "DBX" / video).mkdir(parents=True)
        for frame in range(1, FRAMES + 1):
            write_saliency_map(flat / "DBX" / video / f"{frame:05d}.png", np.full((6, 8), 0.5))
    result = _run(data, flat, metrics=("CC", "NSS", "AUC-J"))
    info = result.to_dict()["databases"]["DBX"]
    assert info["scores"]["CC"] is None and info["scores"]["NSS"] is None
    assert info["nan_frames"]["CC"] == 12 and info["nan_videos"]["NSS"] == 3
    assert not math.isnan(result.databases["DBX"].mean("AUC-J"))


def test_keep_freed_memory_is_safe_to_call():
    from diffsal.runtime.memory import keep_freed_memory

    assert keep_freed_memory() in (True, False)
    assert np.ones((600, 600)).sum() == 360000  # allocation still works afterwards


def test_dhf1k_extracted_layout_without_annotation_folder(tmp_path):
    data = make_dhf1k(tmp_path / "dhf1k")
    extracted = tmp_path / "extracted"
    (data / "annotation").rename(extracted)
    benchmark = load_benchmark(extracted, split="all")
    assert benchmark.layout == "dhf1k"
    assert [unit.video for unit in benchmark.units] == ["0600", "0601", "0602"]
    assert benchmark.units[0].ground_truth.fixation_path(2) == extracted / "0600" / "fixation" / "0002.png"


def test_stavis_other_map_removes_only_the_fixations_stored_as_one(stavis):
    """`shufMap1(eyeMap == 1) = 0`: fixations stored as 2 stay among the negatives under stavis."""
    data, _ = stavis
    unit = load_benchmark(data).units[1]  # v2
    path = unit.ground_truth.fixation_path(2)
    twos = read_fixation_map(path).astype(np.uint8) * 2
    scipy.io.savemat(path, {"eyeMap": twos})
    fixations = load_video_fixations(unit.ground_truth)
    maps = OtherMaps("same-video", {("DBX", "v2"): fixations})
    union = np.any([fixations.fixation_map(frame) for frame in range(1, FRAMES + 1)], axis=0)
    np.testing.assert_array_equal(maps.other_map("DBX", "v2", 2, remove_only_ones=True), union)
    np.testing.assert_array_equal(maps.other_map("DBX", "v2", 2), union & ~fixations.fixation_map(2))
    np.testing.assert_array_equal(maps.other_map("DBX", "v2", 3, remove_only_ones=True),
                                  union & ~fixations.fixation_map(3))  # stored as 1: removed either way
