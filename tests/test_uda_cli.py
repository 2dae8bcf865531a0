"""End-to-end domain adaptation through the command line, on the embedded real digits."""

import csv
import json

import pytest
import torch
from torchvision.io import write_png

from advlab.cli import main
from advlab.data import load_domain

FAST = ["--set", "batch_size=16", "--set", "log_every=5", "--set", "checkpoint_every=5", "--set", "precision=fp32"]


def train(out, method="dann", steps=10, *extra):
    argv = ["train", "uda", "--source", "optdigits", "--target", "mnist-5k", "--method", method, "--steps", str(steps), "--out", str(out), *FAST, *extra]
    return main(argv)


@pytest.fixture(scope="module")
def dann_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "dann"
    assert train(run_dir, "dann", 20) == 0
    return run_dir


def test_run_folder_contents(dann_run):
    for name in ("config.yaml", "metrics.jsonl", "train.log", "last.pt", "model.pt", "results.json"):
        assert (dann_run / name).is_file(), name
    assert list((dann_run / "tb").glob("events.out.tfevents.*"))
    records = [json.loads(line) for line in (dann_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [5, 10, 15, 20]
    assert all({"loss_cls", "loss_domain", "lr"} <= set(r) for r in records if "loss" in r)
    final = torch.load(dann_run / "model.pt", weights_only=False)
    assert final["config"]["method"] == "dann"
    assert final["seed"] == 0
    assert final["advlab_version"]
    assert final["step"] == 20


@pytest.mark.parametrize("method", ["source-only", "dan", "target-only"])
def test_each_method_trains(tmp_path, method):
    assert train(tmp_path / method, method, 6) == 0
    results = json.loads((tmp_path / method / "results.json").read_text())
    assert results["method"] == method
    assert results["steps"] == 6
    assert 0.0 <= results["target_test_acc"] <= 1.0


def test_eval_matches_training_result(dann_run, capsys):
    assert main(["eval", str(dann_run)]) == 0
    out = capsys.readouterr().out
    assert "confusion matrix" in out
    saved = json.loads((dann_run / "eval.json").read_text())
    entry = saved["mnist-5k/test"]
    confusion = torch.tensor(entry["confusion_matrix"])
    assert confusion.sum() == 1000
    assert entry["accuracy"] == pytest.approx(float(confusion.trace() / confusion.sum()))
    results = json.loads((dann_run / "results.json").read_text())
    assert entry["accuracy"] == pytest.approx(results["target_test_acc"], abs=1e-6)
    assert saved["optdigits/test"]["role"] == "source"


def _write_images(folder, dataset, count):
    folder.mkdir()
    rows = []
    for index in range(count):
        name = f"img_{count - index:03d}.png"  # reverse order: predict must sort by name
        write_png(dataset.images[index], str(folder / name))
        rows.append((name, int(dataset.labels[index])))
    return rows


def test_predict_score_round_trip(dann_run, tmp_path, capsys):
    dataset = load_domain("mnist-5k", "test")
    rows = _write_images(tmp_path / "images", dataset, 40)
    truth = tmp_path / "gt.csv"
    truth.write_text("image_name,label\n" + "".join(f"{n},{l}\n" for n, l in rows))
    predictions = tmp_path / "pred.csv"

    assert main(["predict", str(dann_run), "--images", str(tmp_path / "images"), "--out", str(predictions)]) == 0
    with open(predictions) as stream:
        predicted = list(csv.reader(stream))
    assert predicted[0] == ["image_name", "label"]
    names = [row[0] for row in predicted[1:]]
    assert names == sorted(n for n, _ in rows)
    assert all(0 <= int(row[1]) <= 9 for row in predicted[1:])

    capsys.readouterr()
    assert main(["score", str(predictions), str(truth)]) == 0
    expected = sum(int(p[1]) == dict(rows)[p[0]] for p in predicted[1:]) / len(rows)
    assert f"accuracy {expected:.4f} " in capsys.readouterr().out


def test_predict_picks_run_by_target(dann_run, tmp_path):
    dataset = load_domain("mnist-5k", "test")
    _write_images(tmp_path / "images", dataset, 3)
    assert main(["predict", str(dann_run.parent), "--images", str(tmp_path / "images"), "--out", str(tmp_path / "p.csv"), "--target", "mnist-5k"]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 4


def test_tsne_writes_both_colourings(dann_run):
    assert main(["tsne", str(dann_run), "--per-domain", "60"]) == 0
    assert (dann_run / "tsne_class.png").stat().st_size > 1000
    assert (dann_run / "tsne_domain.png").stat().st_size > 1000
    saved = __import__("numpy").load(dann_run / "tsne.npz")
    assert saved["embedding"].shape == (120, 2)
    assert saved["is_target"].sum() == 60


def test_report_table_links_runs(dann_run, capsys):
    assert main(["report", str(dann_run.parent)]) == 0
    text = (dann_run.parent / "report.md").read_text()
    accuracy = json.loads((dann_run / "results.json").read_text())["target_test_acc"]
    assert f"| optdigits → mnist-5k | – | [{100 * accuracy:.1f}](dann) |" in text
    assert (dann_run.parent / "report.html").read_text().count("<table>") == 1


def test_resume_continues_from_saved_step(tmp_path, monkeypatch):
    from advlab.training import uda

    assert train(tmp_path / "full", "dann", 20) == 0

    original = uda.UDATrainer.train_step

    def interrupt_after_12(self):
        if self.step == 12:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(uda.UDATrainer, "train_step", interrupt_after_12)
    assert train(tmp_path / "cut", "dann", 20) == 130
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=False)["step"] == 10
    monkeypatch.setattr(uda.UDATrainer, "train_step", original)

    assert main(["train", "uda", "--resume", str(tmp_path / "cut")]) == 0
    full = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    resumed = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in resumed] == [r["step"] for r in full]
    for a, b in zip(full, resumed):
        if "loss" in a:
            assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    full_state = torch.load(tmp_path / "full" / "model.pt", weights_only=False)["model"]
    resumed_state = torch.load(tmp_path / "cut" / "model.pt", weights_only=False)["model"]
    for key in full_state:
        torch.testing.assert_close(resumed_state[key], full_state[key], rtol=1e-4, atol=1e-5)


def test_dry_run_prints_resolved_config(capsys):
    assert main(["train", "uda", "--source", "optdigits", "--target", "mnistm-lite", "--method", "dan", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "# preset: uda-optdigits-mnistm-lite" in out
    assert "method: dan" in out


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "uda", "--source", "optdigits", "--target", "mnist-5k", "--method", "coral"], "unknown method 'coral'"),
        (["train", "uda", "--source", "optdigits", "--target", "mnist-5k", "--set", "steps"], "invalid --set 'steps'"),
        (["train", "uda", "--source", "optdigits", "--target", "mnist-5k", "--set", "lr=fast"], "invalid value 'fast' for lr"),
        (["train", "uda", "--source", "nope", "--target", "mnist-5k", "--steps", "1"], "nope"),
        (["train", "uda", "--method", "dann"], "give --source and --target"),
        (["train", "uda", "--source", "usps", "--target", "mnist-5k", "--steps", "1"], "usps"),
        (["train", "uda", "--source", "optdigits", "--target", "mnist-5k", "--bogus"], "unrecognized arguments: --bogus"),
        (["eval", "/nonexistent/run"], "run folder /nonexistent/run not found"),
        (["train", "uda", "--resume", "/nonexistent/run"], "run folder /nonexistent/run not found"),
    ],
)
def test_bad_input_one_line_status_2(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    assert fragment in _one_error_line(capsys)


def test_out_folder_of_existing_run_is_kept(dann_run, capsys):
    before = {path.name: path.stat().st_mtime_ns for path in dann_run.iterdir()}
    assert train(dann_run, "dann", 2) == 2
    assert "already contains a run" in _one_error_line(capsys)
    assert {path.name: path.stat().st_mtime_ns for path in dann_run.iterdir()} == before


def test_resume_without_checkpoint(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("kind: uda\n")
    assert main(["train", "uda", "--resume", str(tmp_path)]) == 2
    assert "has no last.pt" in _one_error_line(capsys)


def test_predict_empty_folder(dann_run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(dann_run), "--images", str(tmp_path / "empty"), "--out", str(tmp_path / "p.csv")]) == 2
    assert "empty" in _one_error_line(capsys)
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "pred_text, fragment",
    [
        ("name,label\na.png,1\n", "must start with the header"),
        ("image_name,label\na.png,11\n", "label 11 is outside 0-9"),
        ("image_name,label\na.png,x\n", "label 'x' is not an integer"),
        ("image_name,label\nb.png,1\n", "no prediction for 1 ground-truth image"),
    ],
)
def test_score_bad_csv(tmp_path, capsys, pred_text, fragment):
    (tmp_path / "pred.csv").write_text(pred_text)
    (tmp_path / "gt.csv").write_text("image_name,label\na.png,1\n")
    assert main(["score", str(tmp_path / "pred.csv"), str(tmp_path / "gt.csv")]) == 2
    assert fragment in _one_error_line(capsys)


def test_score_missing_file(tmp_path, capsys):
    (tmp_path / "gt.csv").write_text("image_name,label\na.png,1\n")
    assert main(["score", str(tmp_path / "missing.csv"), str(tmp_path / "gt.csv")]) == 2
    assert "missing.csv not found" in _one_error_line(capsys)


def test_rejected_run_creates_no_folder(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", "uda", "--source", "nope", "--target", "mnist-5k", "--steps", "1", "--out", str(out)]) == 2
    assert "nope" in _one_error_line(capsys)
    assert not out.exists()


def test_gan_command_on_uda_run(dann_run, tmp_path, capsys):
    assert main(["generate", str(dann_run), "--n", "4", "--out", str(tmp_path / "x.png")]) == 2
    assert "needs a 'gan' one" in _one_error_line(capsys)


def test_resume_finished_run_changes_nothing(dann_run, capsys):
    before = (dann_run / "metrics.jsonl").read_text()
    assert main(["train", "uda", "--resume", str(dann_run)]) == 0
    assert "already finished its 20 steps" in capsys.readouterr().out
    assert (dann_run / "metrics.jsonl").read_text() == before


def test_score_empty_csv(tmp_path, capsys):
    (tmp_path / "pred.csv").write_text("")
    (tmp_path / "gt.csv").write_text("image_name,label\na.png,1\n")
    assert main(["score", str(tmp_path / "pred.csv"), str(tmp_path / "gt.csv")]) == 2
    assert "is empty" in _one_error_line(capsys)


def test_run_files_get_default_mode(dann_run):
    import os

    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.yaml", "model.pt", "last.pt", "results.json"):
        assert (dann_run / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
