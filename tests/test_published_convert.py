"""`diffsal convert-published` / `from_published` on synthetic checkpoints in the released layout."""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from published_checkpoints import (
    manifest,
    marker,
    released_state,
    write_released_checkpoint,
)

from diffsal.cli import main
from diffsal.models.loading import load_model
from diffsal.models.published.convert import _rename, from_published
from diffsal.models.weights import WeightsError


@pytest.fixture(scope="module", params=["av", "visual"])
def converted(request, tmp_path_factory):
    kind = request.param
    path = write_released_checkpoint(tmp_path_factory.mktemp(kind) / "best.pth", kind)
    model, report = from_published(path)
    path.unlink()  # hundreds of MB, read once
    return kind, model, report


def test_every_used_tensor_is_consumed_and_exactly_the_others_dropped(converted):
    kind, _model, report = converted
    assert report.kind == kind
    entries = manifest(kind)
    kept = {entry["key"].removeprefix("module.") for entry in entries if entry["role"] in ("used", "buffer")}
    unused = {entry["key"].removeprefix("module.") for entry in entries if entry["role"] in ("no_effect", "not_run")}
    assert set(report.converted) == kept
    assert {key for keys in report.dropped.values() for key in keys} == unused
    assert set(report.other_entries) == {"epoch", "step", "optim_dict"}
    used_values = sum(entry["numel"] for entry in entries if entry["role"] in ("used", "buffer"))
    assert report.converted_values == used_values


def test_every_tensor_of_the_model_is_filled_from_its_own_released_tensor(converted):
    kind, model, report = converted
    state = model.state_dict()
    index_of = {entry["key"].removeprefix("module."): index for index, entry in enumerate(manifest(kind))}
    targets = {}
    for key in report.converted:
        new_key = _rename(key)
        targets[new_key] = key
        tensor = state[new_key]
        expected = marker(index_of[key]) if tensor.dtype.is_floating_point else index_of[key]
        if new_key.endswith("noise_encoder.patchify.weight"):
            assert tensor.shape[-2:] == (4, 4)
            assert torch.all(tensor[..., :3, :3] == expected)
            assert torch.all(tensor[..., 3, :] == 0) and torch.all(tensor[..., :, 3] == 0)
        else:
            assert torch.all(tensor == expected), new_key
    assert set(targets) == set(state), set(state) ^ set(targets)


def test_released_sizes(converted):
    kind, model, _report = converted
    values = sum(tensor.numel() for tensor in model.state_dict().values())
    # 76.45 M (audio-visual) / 52.08 M (visual) values used at inference, less the 4x4 padding and the q
    # kernels' unused temporal slices
    assert values == pytest.approx(76.45e6 if kind == "av" else 52.08e6, rel=0.02)
    assert model.architecture == ("published-av" if kind == "av" else "published-visual")


def test_cli_writes_a_model_folder_that_loads(tmp_path, capsys):
    checkpoint = write_released_checkpoint(tmp_path / "best.pth", "visual", optimizer=False)
    assert main(["convert-published", str(checkpoint), "--out", str(tmp_path / "model")]) == 0
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    assert document["architecture"] == "published-visual"
    model = load_model(tmp_path / "model")
    reference, _ = from_published(checkpoint)
    for key, tensor in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor), key
    # A second conversion into the same folder never replaces it silently.
    assert main(["convert-published", str(checkpoint), "--out", str(tmp_path / "model")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert-published", str(checkpoint), "--out", str(tmp_path / "model"), "--overwrite"]) == 0


def test_default_output_folder_is_next_to_the_checkpoint(tmp_path):
    checkpoint = write_released_checkpoint(tmp_path / "best.pth", "visual", optimizer=False)
    assert main(["convert-published", str(checkpoint)]) == 0
    assert (tmp_path / "best_diffsal" / "model.safetensors").is_file()


def test_wrong_kind_is_refused(tmp_path):
    checkpoint = write_released_checkpoint(tmp_path / "best.pth", "visual", optimizer=False)
    with pytest.raises(WeightsError, match="holds the visual model"):
        from_published(checkpoint, kind="av")


# ------------------------------------------------------------------------------------------ bad files
def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = write_released_checkpoint(tmp_path / "good.pth", "visual", optimizer=False)
    files = {}
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x00\x01not a checkpoint" * 100)
    files["corrupt"] = (corrupt, "not a readable released DiffSal checkpoint")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["truncated"] = (truncated, "not a readable released DiffSal checkpoint")

    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    crafted = tmp_path / "crafted.pth"
    buffer = io.BytesIO()
    torch.save({"state_dict": {}}, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive, zipfile.ZipFile(crafted, "w") as out:
        for item in archive.infolist():
            data = archive.read(item)
            if item.filename.endswith("data.pkl"):
                data = pickle.dumps({"state_dict": Payload()}, protocol=2)
            out.writestr(item, data)
    files["crafted pickle"] = (crafted, "refers to Python objects other than tensors")
    foreign = tmp_path / "foreign.pth"
    torch.save({"model": {"weight": torch.zeros(2)}}, foreign)
    files["foreign dict"] = (foreign, "expected a dict with 'state_dict'")
    other_net = tmp_path / "other_net.pth"
    torch.save({"state_dict": {"module.backbone.conv1.weight": torch.zeros(2)}}, other_net)
    files["other network"] = (other_net, "no decoder_net.* tensors")
    state = released_state("visual")
    state["module.decoder_net.extra_layer.weight"] = torch.zeros(3)
    unknown = write_released_checkpoint(tmp_path / "unknown.pth", "visual", optimizer=False, state=state)
    files["unknown key"] = (unknown, "decoder_net.extra_layer.weight")
    state = released_state("visual")
    del state["module.decoder_net.logits.linear_pred.bias"]
    missing = write_released_checkpoint(tmp_path / "missing.pth", "visual", optimizer=False, state=state)
    files["missing key"] = (missing, "missing saliency_unet.head.bias")
    state = released_state("visual")
    state["module.decoder_net.logits.linear_pred.weight"] = torch.zeros(1, 95, 1, 1)
    misshaped = write_released_checkpoint(tmp_path / "misshaped.pth", "visual", optimizer=False, state=state)
    files["wrong shape"] = (misshaped, "saliency_unet.head.weight")
    state = released_state("visual")
    state["module.decoder_net.logits.linear_pred.bias"][0] = float("nan")
    nan = write_released_checkpoint(tmp_path / "nan.pth", "visual", optimizer=False, state=state)
    files["NaN weights"] = (nan, "hold NaN or inf values (saliency_unet.head.bias)")
    not_tensors = tmp_path / "not_tensors.pth"
    torch.save({"state_dict": {"module.decoder_net.x": [1, 2]}}, not_tensors)
    files["non-tensor entries"] = (not_tensors, "not named tensors")
    return files


def test_bad_files_give_one_line_and_exit_2(tmp_path, capfd):
    for name, (path, fragment) in _bad_files(tmp_path).items():
        capfd.readouterr()
        exit_code = main(["convert-published", str(path), "--out", str(tmp_path / f"out_{path.stem}")])
        captured = capfd.readouterr()
        lines = [line for line in captured.err.splitlines() if line.strip()]
        assert exit_code == 2, (name, captured.err)
        assert len(lines) == 1 and "Traceback" not in captured.err, (name, captured.err)
        assert fragment in lines[0], (name, lines[0])
        assert "executed" not in captured.out, name
        assert not (tmp_path / f"out_{path.stem}").exists(), name


def test_missing_checkpoint_and_bad_output(tmp_path, capfd):
    assert main(["convert-published", str(tmp_path / "absent.pth")]) == 2
    assert "no such file" in capfd.readouterr().err
    checkpoint = write_released_checkpoint(tmp_path / "best.pth", "visual", optimizer=False)
    (tmp_path / "file").write_text("x")
    assert main(["convert-published", str(checkpoint), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capfd.readouterr().err
