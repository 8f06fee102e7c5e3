"""`diffsal distill`: teacher maps cached once, a student trained on them in the one training loop, its report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distill_recipe import FPS, distill_overrides, sound, write_videos
from media import make_video

from diffsal.cli import main
from diffsal.distillation.recipe import load_distill_config
from diffsal.distillation.run import distill
from diffsal.distillation.teacher_cache import to_levels
from diffsal.models import DiffSal, DiffSalConfig
from diffsal.models.loading import load_model
from diffsal.training.objective import kl_cc_loss

FRAMES = 20
MICRO = {"num_frames": 4, "height": 32, "width": 64}


def micro_config(**changes) -> DiffSalConfig:
    data = DiffSalConfig.preset("tiny").to_dict()
    data.update(MICRO, **changes)
    return DiffSalConfig.from_dict(data)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    return write_videos(tmp_path_factory.mktemp("videos"), 3, FRAMES)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return DiffSal(micro_config()).save_pretrained(tmp_path_factory.mktemp("teacher") / "best")


def run_cli(*argv) -> int:
    return main([str(argument) for argument in argv])


# ---------------------------------------------------------------------- the loss and the one-step student
def test_kl_cc_loss_is_zero_for_the_teachers_own_maps_and_grows_with_the_difference():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 8, 12, generator=generator)
    assert float(kl_cc_loss(target, target)) == pytest.approx(0.0, abs=1e-5)
    near = kl_cc_loss(target + 0.05 * torch.rand(2, 3, 8, 12, generator=generator), target)
    far = kl_cc_loss(torch.rand(2, 3, 8, 12, generator=generator), target)
    assert 0 < float(near) < float(far)
    predicted = torch.rand(1, 1, 8, 12, requires_grad=True)
    kl_cc_loss(predicted, torch.zeros(1, 1, 8, 12)).backward()  # an empty teacher map stays finite
    assert torch.isfinite(predicted.grad).all()


def test_one_step_maps_are_what_one_sampling_step_returns():
    torch.manual_seed(0)
    model = DiffSal(micro_config(frames_out=2)).eval()
    frames = torch.randn(2, 3, 4, 32, 64)
    audio = torch.randn(2, model.config.audio.num_samples)
    noise = torch.randn(2, 2, 32, 64)
    with torch.no_grad():
        sampled = model.sample(frames, audio, steps=1, noise=noise).mean
        direct = model.one_step_maps(frames, audio, noise)
    torch.testing.assert_close(direct, sampled)


def test_to_levels_min_max_normalises_at_the_students_size():
    saliency = np.full((64, 96), 0.1, np.float32)
    saliency[10:20, 30:40] = 0.25
    levels = to_levels(saliency, (32, 48))
    assert levels.shape == (32, 48) and levels.dtype == np.uint8 and levels.max() == 255 and levels.min() == 0
    assert not to_levels(np.zeros((8, 8), np.float32), (4, 4)).any()


def test_the_fast_preset_predicts_every_frame_of_its_clip_in_one_step():
    config = DiffSalConfig.preset("fast")
    assert config.frames_out == config.num_frames == 16
    assert config.diffusion.sampling_steps == 1 and config.use_audio


# ---------------------------------------------------------------------- end to end
def test_distill_caches_trains_reports_and_the_student_predicts(teacher, videos, tmp_path, capfd):
    assert run_cli("distill", *distill_overrides(tmp_path / "run", teacher, videos)) == 0
    out = capfd.readouterr().out
    assert "student vs teacher on held-out videos" in out
    run = tmp_path / "run"
    report = json.loads((run / "distill_report.json").read_text())
    agreement = report["agreement"]
    assert agreement["videos"] == 1 and agreement["maps"] > 0
    assert -1 <= agreement["cc"] <= 1 and agreement["kld"] >= 0 and 0 <= agreement["sim"] <= 1
    assert agreement["frames_per_s"] > 0
    cache = run / "teacher_cache"
    document = json.loads((cache / "teacher.json").read_text())
    assert document["size"] == [32, 64] and document["teacher"]["kind"] == "model"
    assert document["teacher"]["steps"] == 4 and document["teacher"]["seed"] == 0
    maps = np.load(cache / "videos" / "clip0.npy")
    assert maps.shape == (FRAMES, 32, 64) and maps.dtype == np.uint8 and maps.max() == 255
    student = load_model(report["student"])
    assert student.config.frames_out == 4 and student.config.diffusion.sampling_steps == 1  # a one-step regressor
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert sorted(record["step"] for record in log if record["kind"] == "train") == [1, 2, 3]
    assert run_cli("predict", videos / "clip1.mp4", "--model", report["student"], "--out", tmp_path / "pred",
                   "--no-overlay") == 0
    assert len(list((tmp_path / "pred" / "clip1").glob("*.png"))) == FRAMES


def test_a_cache_feeds_another_student_and_refuses_other_teacher_settings(teacher, videos, tmp_path, capfd):
    cache = tmp_path / "shared"
    assert run_cli("distill", *distill_overrides(tmp_path / "a", teacher, videos), "--teacher-cache", cache) == 0
    before = {path: path.stat().st_mtime_ns for path in cache.rglob("*.npy")}
    assert run_cli("distill", *distill_overrides(tmp_path / "b", teacher, videos, **{"train.seed": 3}),
                   "--teacher-cache", cache) == 0
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*.npy")} == before  # nothing recomputed
    captured = capfd.readouterr()
    assert "3 video(s) from the cache" in captured.out + captured.err
    assert run_cli("distill", *distill_overrides(tmp_path / "c", teacher, videos, **{"teacher.steps": 2}),
                   "--teacher-cache", cache) == 2
    error = capfd.readouterr().err
    assert "other teacher settings" in error and "steps 4 -> 2" in error
    assert not (tmp_path / "c").exists()


def test_a_shared_cache_refuses_another_video_of_the_same_name_and_remakes_a_changed_one(teacher, videos, tmp_path,
                                                                                       capfd):
    cache = tmp_path / "shared"
    assert run_cli("distill", *distill_overrides(tmp_path / "a", teacher, videos), "--teacher-cache", cache) == 0
    (tmp_path / "other" / "videos").mkdir(parents=True)
    others = write_videos(tmp_path / "other" / "videos", 3, FRAMES + 2)  # clip0.mp4 ... again: other videos
    capfd.readouterr()
    assert run_cli("distill", *distill_overrides(tmp_path / "b", teacher, others), "--teacher-cache", cache) == 2
    error = capfd.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "another video of the name videos/clip0" in error[0] and str(others) in error[0]
    (tmp_path / "changed").mkdir()
    changed = write_videos(tmp_path / "changed", 3, FRAMES)
    before = np.load(cache / "videos" / "clip1.npy")
    shared = tmp_path / "shared_changed"
    assert run_cli("distill", *distill_overrides(tmp_path / "c", teacher, changed), "--teacher-cache", shared) == 0
    make_video(changed / "clip1.mp4", FRAMES, FPS, (64, 96), sound(FRAMES), 44_100)  # the same file, new content
    capfd.readouterr()
    assert run_cli("distill", *distill_overrides(tmp_path / "d", teacher, changed), "--teacher-cache", shared) == 0
    captured = capfd.readouterr()
    made = captured.out + captured.err  # progress lines of the videos whose maps were made
    assert "teacher maps: videos/clip1 (" in made and "videos/clip0 (" not in made and "videos/clip2 (" not in made
    assert not np.array_equal(np.load(shared / "videos" / "clip1.npy"), before)


def test_the_teacher_as_a_folder_of_its_predicted_maps(teacher, videos, tmp_path):
    """Maps that `diffsal predict` wrote give the cache the model itself gives (up to 8-bit rounding)."""
    assert run_cli("predict", videos, "--model", teacher, "--out", tmp_path / "maps", "--no-overlay") == 0
    assert run_cli("distill", *distill_overrides(tmp_path / "from_maps", tmp_path / "maps", videos)) == 0
    assert run_cli("distill", *distill_overrides(tmp_path / "from_model", teacher, videos)) == 0
    for index in range(3):
        from_maps = np.load(tmp_path / "from_maps" / "teacher_cache" / "videos" / f"clip{index}.npy").astype(float)
        from_model = np.load(tmp_path / "from_model" / "teacher_cache" / "videos" / f"clip{index}.npy").astype(float)
        assert np.corrcoef(from_maps.ravel(), from_model.ravel())[0, 1] > 0.99


def test_the_teacher_as_a_challenge_submission_that_diffsal_predict_wrote(teacher, videos, tmp_path):
    """The challenge format keeps its output folders in OUT/.diffsal/ beside the map videos: found all the same."""
    assert run_cli("predict", videos, "--model", teacher, "--out", tmp_path / "maps", "--no-overlay",
                   "--format", "challenge") == 0
    assert run_cli("distill", *distill_overrides(tmp_path / "from_maps", tmp_path / "maps", videos)) == 0
    assert run_cli("predict", videos, "--model", teacher, "--out", tmp_path / "png", "--no-overlay") == 0
    assert run_cli("distill", *distill_overrides(tmp_path / "from_png", tmp_path / "png", videos)) == 0
    for index in range(3):
        from_maps = np.load(tmp_path / "from_maps" / "teacher_cache" / "videos" / f"clip{index}.npy")
        from_png = np.load(tmp_path / "from_png" / "teacher_cache" / "videos" / f"clip{index}.npy")
        assert np.array_equal(from_maps, from_png)  # the same 8-bit maps, losslessly in a video


def test_the_teacher_as_images_per_frame_from_another_tool(videos, tmp_path, capfd):
    maps = tmp_path / "other_tool"
    for index in range(3):
        folder = maps / f"clip{index}"
        folder.mkdir(parents=True)
        for frame in range(FRAMES):
            image = np.zeros((64, 96), np.uint8)
            image[20:40, 10 + frame : 30 + frame] = 200
            Image.fromarray(image).save(folder / f"map_{frame + 1:04d}.png")
    assert run_cli("distill", *distill_overrides(tmp_path / "run", maps, videos)) == 0
    cached = np.load(tmp_path / "run" / "teacher_cache" / "videos" / "clip0.npy")
    assert cached.shape == (FRAMES, 32, 64)
    assert cached[5, 10:20].argmax(axis=1).min() > 0 and cached[5].max() == 255
    for path in maps.rglob("*.png"):  # the same maps in 16 bits give the same cache
        Image.fromarray((np.asarray(Image.open(path)).astype(np.uint16) * 257)).save(path)
    assert run_cli("distill", *distill_overrides(tmp_path / "run16", maps, videos)) == 0
    assert np.array_equal(np.load(tmp_path / "run16" / "teacher_cache" / "videos" / "clip0.npy"), cached)
    resized = maps / "clip2" / "map_0007.png"  # one map of another size: another video's
    Image.open(resized).resize((48, 64)).save(resized)
    assert run_cli("distill", *distill_overrides(tmp_path / "bad", maps, videos)) == 2
    assert f"{resized}: a map of 48x64, the first map of its video is 96x64" in capfd.readouterr().err


def test_a_dataset_tree_is_read_without_opening_any_fixation_or_map_file(teacher, tmp_path):
    """Only frames and sound: every file the process opens during the whole distillation is recorded."""
    from diffsal.synth import SynthConfig, generate_benchmark

    root = tmp_path / "synthetic"
    generate_benchmark(root, SynthConfig(num_videos=3, seed=2, width=96, height=64, seconds=0.8, num_observers=2))
    opened: list[str] = []
    recording = [True]

    def hook(event, arguments):
        if recording[0] and event == "open" and isinstance(arguments[0], (str, Path)):
            opened.append(str(arguments[0]))

    sys.addaudithook(hook)
    try:
        config = load_distill_config(None, distill_overrides(tmp_path / "run", teacher, root,
                                                     **{"videos.split": "all", "videos.part": "train"}))
        result = distill(config, device="cpu")
    finally:
        recording[0] = False
    assert result.agreement.maps > 0
    annotations = str(root / "annotations")
    assert any(path.startswith(str(root / "video_frames")) for path in opened)  # the recording works
    assert [path for path in opened if path.startswith(annotations)] == []


def test_the_published_teachers_encoders_are_copied_bit_for_bit_and_stay_so(tmp_path, videos, capfd):
    from diffsal.models.published.model import PublishedDiffSal

    torch.manual_seed(0)
    teacher = PublishedDiffSal.from_preset("tiny-av").save_pretrained(tmp_path / "published")
    config = PublishedDiffSal.read_config(teacher)[0]
    student = {"num_frames": config.num_frames, "frames_out": config.num_frames, "height": config.height,
               "width": config.width, "video": {"channels": list(config.video.channels),
                                                "depths": list(config.video.depths),
                                                "num_heads": list(config.video.num_heads)},
               "audio": {"trunk_channels": list(config.audio.trunk_channels)}}
    assert run_cli("distill", *distill_overrides(tmp_path / "run", teacher, videos, **{
        "student.overrides": json.dumps(student), "teacher.batch_size": 2, "train.max_steps": 2,
        "train.eval_every": 2})) == 0
    captured = capfd.readouterr()
    log = captured.out + captured.err
    assert "video encoder: copied whole and frozen" in log and "audio trunk: copied whole and frozen" in log
    taught = load_file(teacher / "model.safetensors")
    learnt = load_file(Path(json.loads((tmp_path / "run" / "distill_report.json").read_text())["student"])
                       / "model.safetensors")
    shared = [key for key in taught if key.startswith(("video_encoder.", "audio_encoder.trunk."))]
    assert len(shared) > 20
    for key in shared:
        assert torch.equal(taught[key], learnt[key]), key
    assert run_cli("predict", videos / "clip0.mp4", "--model", tmp_path / "run" / "checkpoints" / "best",
                   "--out", tmp_path / "pred", "--no-overlay") == 0


@pytest.mark.parametrize("recipe", sorted((Path(__file__).resolve().parents[1] / "configs").glob("distill_*.yaml")),
                         ids=lambda path: path.stem)
def test_the_distillation_recipes_load(recipe):
    config = load_distill_config(recipe)
    assert config.teacher.path and config.videos.paths and config.loss in ("kl_cc", "diffusion")


@pytest.mark.slow
def test_a_released_checkpoint_converted_by_convert_published_teaches_the_paper_student(tmp_path, capfd):
    """The real path: a checkpoint in the released layout (seeded weights of the released size) through
    `convert-published`; the `paper` student gets its MViTv2-S and VGGish trunk bit for bit, trains, saves,
    reloads and predicts (about 4 minutes on 2 cores: the teacher costs seconds per frame)."""
    from published_checkpoints import random_released_state, write_released_checkpoint

    checkpoint = write_released_checkpoint(tmp_path / "best.pth", "av", optimizer=False,
                                           state=random_released_state("av", seed=3))
    assert run_cli("convert-published", checkpoint, "--out", tmp_path / "teacher") == 0
    (tmp_path / "videos").mkdir()
    videos = write_videos(tmp_path / "videos", 2, 16)
    assert run_cli("distill", *distill_overrides(tmp_path / "run", tmp_path / "teacher", videos, **{
        "student.model": "paper", "student.overrides": "{}", "teacher.steps": 1, "teacher.batch_size": 1,
        "videos.held_out_fraction": 0.5, "train.batch_size": 1, "train.max_steps": 1, "train.eval_every": 1})) == 0
    log = "".join(capfd.readouterr())
    assert "video encoder: copied whole and frozen" in log and "audio trunk: copied whole and frozen" in log
    taught = load_file(tmp_path / "teacher" / "model.safetensors")
    student_folder = tmp_path / "run" / "checkpoints" / "best"
    learnt = load_file(student_folder / "model.safetensors")
    shared = [key for key in taught if key.startswith(("video_encoder.", "audio_encoder.trunk."))]
    assert len(shared) > 200
    for key in shared:
        assert torch.equal(taught[key], learnt[key]), key
    report = json.loads((tmp_path / "run" / "distill_report.json").read_text())
    assert np.isfinite(report["agreement"]["cc"])
    assert run_cli("predict", videos / "clip0.mp4", "--model", student_folder, "--out", tmp_path / "pred",
                   "--no-overlay") == 0
    assert len(list((tmp_path / "pred" / "clip0").glob("*.png"))) == 16
