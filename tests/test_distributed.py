"""Two CPU processes under torchrun match one process with the same global batch."""

import json
import os
import subprocess
import sys

import torch

# float32 sums in another order, over 6 SGD steps. SGD, not Adam: Adam's normalised update turns the
# sign of a near-zero gradient into a full lr-sized step, which hides agreement behind noise.
# Photo backgrounds, not plain black ones: on flat backgrounds max-pooling meets exact ties, and a
# last-bit difference in a sum then routes a gradient to another pixel.
TOLERANCE = dict(rtol=1e-3, atol=1e-5)

ARGS = [
    "train", "uda", "--source", "mnistm-lite", "--target", "syndigits", "--method", "dann", "--steps", "6",
    "--set", "batch_size=32", "--set", "dropout=0", "--set", "precision=fp32", "--set", "log_every=2",
    "--set", "checkpoint_every=3", "--set", "optimizer=sgd", "--set", "lr=0.05",
]


def _run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_two_processes_match_one(tmp_path, shared_data_cache):
    env = {**os.environ, "ADVLAB_CACHE": str(shared_data_cache), "OMP_NUM_THREADS": "1"}
    _run([sys.executable, "-m", "advlab", *ARGS, "--out", str(tmp_path / "single")], env)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "advlab", *ARGS, "--out", str(tmp_path / "ddp")], env)

    single = torch.load(tmp_path / "single" / "model.pt", weights_only=False)
    ddp = torch.load(tmp_path / "ddp" / "model.pt", weights_only=False)
    assert ddp["step"] == single["step"] == 6
    for key, value in single["model"].items():
        torch.testing.assert_close(ddp["model"][key], value, **TOLERANCE, msg=lambda m, key=key: f"{key}: {m}")
    # Rank 0 alone writes the run folder.
    assert (tmp_path / "ddp" / "train.log").read_text().count("training dann") == 1


def test_resume_across_process_counts(tmp_path, shared_data_cache):
    env = {**os.environ, "ADVLAB_CACHE": str(shared_data_cache), "OMP_NUM_THREADS": "1"}
    args = [a if a != "6" else "3" for a in ARGS]
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "advlab", *args, "--out", str(tmp_path / "run")], env)
    _run([sys.executable, "-m", "advlab", "train", "uda", "--resume", str(tmp_path / "run"), "--set", "steps=6"], env)
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=False)
    assert state["step"] == 6
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # Logged every 2 steps and at the end of each leg: 2 and 3 under torchrun, then 4 and 6 in one process.
    assert [r["step"] for r in records if "loss" in r] == [2, 3, 4, 6]
