"""`advlab demo` end to end at two steps per run, and the report's multi-seed cells."""

import json
import re

import yaml

from advlab.cli import main
from advlab.report import write_report


def test_demo_fills_all_twelve_cells(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--steps", "2", "--tsne-per-domain", "20"]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.md'}" in printed

    report = (out / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "→" in line and "Source" not in line]
    assert [row.split("|")[1].strip() for row in rows] == ["optdigits → mnistm-lite", "mnistm-lite → syndigits", "syndigits → optdigits"]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")[1:]]
        assert len(cells) == 4
        assert all(re.fullmatch(r"\[\d+\.\d\]\(uda/.+\)", cell) for cell in cells), row
    assert "tsne_domain.png" in report
    assert (out / "uda" / "syndigits-optdigits" / "dann-s0" / "tsne_class.png").exists()
    assert "gan" in (out / "report.html").read_text().lower()
    timing = json.loads((out / "demo_timing.json").read_text())
    assert timing["total_seconds"] > 0

    # A second call finds every run finished and only rewrites the report.
    assert main(["demo", "--out", str(out), "--steps", "2", "--tsne-per-domain", "20"]) == 0
    assert "skip" in capsys.readouterr().err


def test_demo_rejects_folder_with_other_settings(tmp_path, capsys):
    run_dir = tmp_path / "uda" / "optdigits-mnistm-lite" / "source-only-s0"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("kind: uda\nsteps: 999\n")
    assert main(["demo", "--out", str(tmp_path), "--steps", "2", "--no-gan"]) == 2
    assert "contains a run made with other settings" in capsys.readouterr().err


def _fake_run(folder, method, seed, accuracy):
    folder.mkdir(parents=True)
    config = {"kind": "uda", "source": "a", "target": "b", "method": method, "seed": seed}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    results = {**config, "target_test_acc": accuracy, "source_test_acc": 0.9}
    (folder / "results.json").write_text(json.dumps(results))


def test_report_cell_mean_and_spread(tmp_path):
    _fake_run(tmp_path / "dann-s0", "dann", 0, 0.50)
    _fake_run(tmp_path / "dann-s1", "dann", 1, 0.60)
    _fake_run(tmp_path / "source-only-s0", "source-only", 0, 0.25)
    md_path, _ = write_report(tmp_path)
    row = next(line for line in md_path.read_text().splitlines() if line.startswith("| a → b"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "[25.0](source-only-s0)"
    # mean 55.0, sample standard deviation of (50, 60) = 7.07
    assert cells[2] == "55.0 ± 7.1 ([s0](dann-s0) [s1](dann-s1))"
    assert cells[3] == "–"
