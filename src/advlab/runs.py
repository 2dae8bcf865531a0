"""Run folders: resolved config, metrics (JSONL), log, TensorBoard events and atomic checkpoints.

A run folder contains everything needed to trace a reported number back to the run that made it:

    config.yaml      resolved configuration (after presets, flags and --set)
    metrics.jsonl    one JSON object per logged step or evaluation
    train.log        the log lines printed during training
    events.*         TensorBoard events (under tb/)
    last.pt          latest checkpoint for --resume (models, optimisers, step, RNG states)
    model.pt         final weights with config, seed and package version
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from advlab import __version__
from advlab.errors import UserError

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
LOG_FILE = "train.log"
LAST_CHECKPOINT = "last.pt"
FINAL_MODEL = "model.pt"


def _default_file_mode() -> int:
    """Mode that open() would give a new file (0o666 less the umask); mkstemp's files start at 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _default_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through a temporary file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(obj, temporary)
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, _default_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def next_run_dir(root: Path, description: str) -> Path:
    """Return `root/NNNNN-description` with the next free number (as StyleGAN2-ADA numbers its runs)."""
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for entry in root.iterdir() if (m := re.match(r"^(\d{5})-", entry.name))]
    number = max(numbers, default=-1) + 1
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", description).strip("-")
    return root / f"{number:05d}-{safe}"


def prepare_new_run_dir(out: str | Path | None, description: str, default_root: str | Path = "runs") -> Path:
    """Create the folder for a new run; refuse one that already contains a run, so nothing saved is lost."""
    if out is None:
        run_dir = next_run_dir(Path(default_root), description)
    else:
        run_dir = Path(out)
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"--out {run_dir} is a file: give a folder path")
        if (run_dir / CONFIG_FILE).exists() or (run_dir / LAST_CHECKPOINT).exists():
            raise UserError(
                f"{run_dir} already contains a run: continue it with --resume {run_dir}, or pick another --out folder"
            )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create run folder {run_dir}: {error.strerror}") from None
    return run_dir


def require_run_dir(path: str | Path) -> Path:
    """Check that `path` is a run folder written by advlab and return it."""
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise UserError(f"run folder {run_dir} not found: give the folder that 'advlab train' wrote")
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} has no {CONFIG_FILE}, so it is not an advlab run folder")
    return run_dir


def require_resumable_run(path: str | Path, given_flags: dict[str, object]) -> Path:
    """Check a --resume request: no flags that the saved config fixes, and a run folder with last.pt."""
    conflicting = [flag for flag, value in given_flags.items() if value is not None]
    if conflicting:
        raise UserError(
            f"--resume continues a run with its saved config, so {', '.join(conflicting)} cannot be given with it (use --set to change options)"
        )
    run_dir = require_run_dir(path)
    if not (run_dir / LAST_CHECKPOINT).exists():
        raise UserError(f"{run_dir} has no {LAST_CHECKPOINT} to resume from: start the run again without --resume")
    return run_dir


def read_run_config(run_dir: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((run_dir / CONFIG_FILE).read_text())
    except yaml.YAMLError:
        raise UserError(f"{run_dir / CONFIG_FILE} is not valid YAML: the run folder is damaged") from None
    if not isinstance(data, dict):
        raise UserError(f"{run_dir / CONFIG_FILE} is not a mapping: the run folder is damaged")
    return data


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by advlab onto the CPU, with a clear error for a missing or damaged file."""
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found: the run has not saved one yet")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a truncated or foreign file
        raise UserError(f"checkpoint {path} cannot be read ({type(error).__name__}): it is damaged or not an advlab file") from None


def checkpoint_metadata(config_dict: dict[str, Any]) -> dict[str, Any]:
    """Fields stored in every checkpoint so that each file records how it was made."""
    return {
        "advlab_version": __version__,
        "torch_version": torch.__version__,
        "config": config_dict,
        "seed": config_dict.get("seed"),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


class MetricsLog:
    """Appends one JSON object per line to metrics.jsonl; on resume drops lines past the saved step."""

    def __init__(self, path: Path, *, resume_step: int | None = None, enabled: bool = True):
        self.path = path
        self.enabled = enabled
        if enabled and resume_step is not None and path.exists():
            kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= resume_step]
            atomic_write_text(path, "".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as stream:
            stream.write(json.dumps(record, sort_keys=False) + "\n")


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise UserError(f"{path} line {number} is not valid JSON: the run folder is damaged") from None
    return records


def setup_run_logger(run_dir: Path | None, name: str = "advlab") -> logging.Logger:
    """Log to stderr and, when `run_dir` is given, append to its train.log."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    logger.addHandler(console)
    if run_dir is not None:
        file_handler = logging.FileHandler(run_dir / LOG_FILE)
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    return logger


def rng_state() -> dict[str, Any]:
    import random

    import numpy as np

    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    import random

    import numpy as np

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
