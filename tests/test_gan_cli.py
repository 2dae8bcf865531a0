"""GAN commands end to end: train, generate and eval on the embedded digits and a CelebA-layout folder."""

import json
import os
import socket
import urllib.request

import pytest
import torch
from PIL import Image

from advlab.cli import main
from advlab.metrics import frechet
from test_gan_data import write_celeba, write_course

FAST = ["--set", "width=8", "--set", "batch_size=16", "--set", "noise_dim=16", "--set", "eval_samples=64",
        "--set", "classifier_steps=20", "--set", "log_every=1", "--set", "precision=fp32", "--set", "num_threads=1"]


@pytest.fixture(scope="module")
def acgan_run(tmp_path_factory, shared_data_cache):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADVLAB_CACHE", str(shared_data_cache))
        run_dir = tmp_path_factory.mktemp("runs") / "acgan"
        assert main(["train", "gan", "--loss", "dcgan", "--conditional", "--steps", "3", "--out", str(run_dir), *FAST]) == 0
    return run_dir


def test_run_folder_contents(acgan_run):
    for name in ("config.yaml", "metrics.jsonl", "train.log", "last.pt", "best.pt", "model.pt", "loss_curves.png"):
        assert (acgan_run / name).is_file(), name
    assert list((acgan_run / "tb").glob("events.out.tfevents.*"))
    assert (acgan_run / "samples" / "step-000003.png").is_file()
    records = [json.loads(line) for line in (acgan_run / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records if "critic_loss" in record] == [1, 2, 3]
    evaluation = [record for record in records if "fd" in record]
    assert len(evaluation) == 1
    assert 0.0 <= evaluation[0]["control_accuracy"] <= 1.0
    last = torch.load(acgan_run / "last.pt", weights_only=False)
    assert {"generator", "critic", "ema", "optimizer_generator", "optimizer_critic", "rng", "noise_rng_states"} <= set(last)
    assert last["step"] == 3
    assert last["config"]["conditional"] is True


def test_generate_grid_is_four_by_eight(acgan_run, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["generate", str(acgan_run), "--n", "32", "--out", str(out), "--seed", "3"]) == 0
    with Image.open(out) as image:
        assert image.size == (8 * 34 + 2, 4 * 34 + 2)  # 32x32 images with 2-pixel padding
    again = tmp_path / "again.png"
    assert main(["generate", str(acgan_run), "--n", "32", "--out", str(again), "--seed", "3"]) == 0
    assert out.read_bytes() == again.read_bytes()


def test_generate_per_class_and_interpolation(acgan_run, tmp_path):
    assert main(["generate", str(acgan_run), "--per-class", "6", "--out", str(tmp_path / "rows.png")]) == 0
    with Image.open(tmp_path / "rows.png") as image:
        assert image.size == (6 * 34 + 2, 10 * 34 + 2)
    assert main(["generate", str(acgan_run), "--interpolate", "--out", str(tmp_path / "walk.png")]) == 0
    with Image.open(tmp_path / "walk.png") as image:
        assert image.size == (10 * 34 + 2, 8 * 34 + 2)


def test_pairs_need_a_binary_attribute(acgan_run, tmp_path, capsys):
    assert main(["generate", str(acgan_run), "--pairs", "10", "--attr", "Smiling", "--out", str(tmp_path / "p.png")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "--per-class" in error


def test_eval_without_inception_weights(acgan_run, monkeypatch, tmp_path, shared_data_cache, capsys):
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(frechet.INCEPTION_WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setenv("ADVLAB_CACHE", str(shared_data_cache))
    assert main(["eval", str(acgan_run)]) == 0
    out = capsys.readouterr().out
    notices = [line for line in out.splitlines() if line.startswith("Inception FID/KID skipped")]
    assert len(notices) == 1
    saved = json.loads((acgan_run / "eval.json").read_text())
    assert saved["fd"] >= 0
    assert 0.0 <= saved["control_accuracy"] <= 1.0
    assert "inception_fid" not in saved


def test_face_run_on_celeba_layout(tmp_path, data_cache):
    write_celeba(tmp_path / "celeba", count=12)
    run_dir = tmp_path / "run"
    argv = ["train", "gan", "--data", str(tmp_path / "celeba"), "--loss", "wgan-gp", "--attr", "Smiling", "--steps", "2",
            "--out", str(run_dir), *FAST, "--set", "batch_size=4", "--set", "n_critic=1", "--set", "eval_samples=8",
            "--set", "classifier_steps=5"]
    assert main(argv) == 0
    config = (run_dir / "config.yaml").read_text()
    assert "image_size: 64" in config
    assert "attr: Smiling" in config
    saved = torch.load(run_dir / "model.pt", weights_only=False)
    assert saved["conditioning"] == {"kind": "binary", "num_classes": 0, "attribute": "Smiling"}
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evaluation = [record for record in records if "fd" in record][-1]
    assert {"control_accuracy", "pair_flip_rate", "pair_other_attribute_change", "pair_pixel_l1"} <= set(evaluation)

    pairs = tmp_path / "pairs.png"
    assert main(["generate", str(run_dir), "--pairs", "10", "--attr", "Smiling", "--out", str(pairs)]) == 0
    with Image.open(pairs) as image:
        assert image.size == (10 * 66 + 2, 2 * 66 + 2)


def test_resume_continues_to_more_steps(acgan_run, tmp_path, shared_data_cache, monkeypatch):
    import shutil

    monkeypatch.setenv("ADVLAB_CACHE", str(shared_data_cache))
    copy = tmp_path / "copy"
    shutil.copytree(acgan_run, copy)
    assert main(["train", "gan", "--resume", str(copy), "--steps", "4"]) == 0
    assert torch.load(copy / "last.pt", weights_only=False)["step"] == 4


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    return error


def test_unknown_loss(capsys):
    assert main(["train", "gan", "--loss", "lsgan", "--dry-run"]) == 2
    error = one_line_error(capsys)
    assert "'lsgan'" in error
    assert "wgan-gp" in error


def test_unknown_attribute_lists_known(tmp_path, data_cache, capsys):
    write_course(tmp_path / "course", [(0, 1), (1, 0)])
    assert main(["train", "gan", "--data", str(tmp_path / "course"), "--attr", "Blond", "--dry-run"]) == 2
    error = one_line_error(capsys)
    assert "unknown attribute 'Blond'" in error
    assert "Male, Smiling" in error


def test_missing_data_folder(tmp_path, capsys):
    assert main(["train", "gan", "--data", str(tmp_path / "nowhere"), "--dry-run"]) == 2
    error = one_line_error(capsys)
    assert "nowhere not found" in error


def test_malformed_attribute_csv(tmp_path, data_cache, capsys):
    write_course(tmp_path / "course", [(0, 1), (1, 0)])
    (tmp_path / "course" / "train.csv").write_text("name;Smiling\n0.png;1\n")
    assert main(["train", "gan", "--data", str(tmp_path / "course"), "--attr", "Smiling", "--dry-run"]) == 2
    error = one_line_error(capsys)
    assert "has no image_name column" in error


def test_batch_norm_rejected_under_gradient_penalty(capsys):
    assert main(["train", "gan", "--loss", "wgan-gp", "--set", "critic_norm=batch", "--dry-run"]) == 2
    assert "critic_norm batch cannot be used with loss wgan-gp" in one_line_error(capsys)


def test_dry_run_prints_resolved_config(capsys, data_cache):
    assert main(["train", "gan", "--config", "gan-digits-wgan-gp", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "loss: wgan-gp" in out
    assert "n_critic: 2" in out  # from the preset
    assert "critic_norm: layer" in out  # auto, resolved for wgan-gp
    assert "optimizer: adam" in out
    assert "adam_beta2: 0.9" in out


def test_report_section_links_figures_and_runs(acgan_run, tmp_path):
    from advlab.viz.gan_figures import render_gan_report_section

    report_dir = tmp_path / "report"
    report_dir.mkdir()
    markdown, html_fragment = render_gan_report_section([acgan_run], report_dir)
    for suffix in ("grid", "classes", "curves"):
        assert (report_dir / "gan" / f"{acgan_run.name}-{suffix}.png").is_file(), suffix
    with Image.open(report_dir / "gan" / f"{acgan_run.name}-classes.png") as image:
        assert image.size == (10 * 34 + 2, 10 * 34 + 2)  # ten rows (classes 0..9) of ten
    with Image.open(report_dir / "gan" / f"{acgan_run.name}-grid.png") as image:
        assert image.size == (8 * 34 + 2, 4 * 34 + 2)
    run_link = os.path.relpath(acgan_run.resolve(), report_dir.resolve())
    records = [json.loads(line) for line in (acgan_run / "metrics.jsonl").read_text().splitlines()]
    final_fd = [record["fd"] for record in records if "fd" in record][-1]
    assert f"[{final_fd:.4g}]({run_link}/metrics.jsonl)" in markdown
    assert f"[{acgan_run.name}]({run_link})" in markdown
    assert f"](gan/{acgan_run.name}-classes.png)" in markdown
    assert "<table>" in html_fragment
    assert "control_accuracy" in markdown


def test_torchrun_two_processes(tmp_path, data_cache):
    import subprocess
    import sys

    run_dir = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "advlab", "train", "gan", "--conditional", "--loss", "wgan-gp", "--steps", "2", "--out", str(run_dir), *FAST]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records if "critic_loss" in record] == [1, 2]  # rank 0 alone writes
    assert len([record for record in records if "fd" in record]) == 1
    checkpoint = torch.load(run_dir / "last.pt", weights_only=False)
    assert len(checkpoint["noise_rng_states"]) == 2
    assert not torch.equal(checkpoint["noise_rng_states"][0], checkpoint["noise_rng_states"][1])
