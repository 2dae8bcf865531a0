"""Interval logging of a training loop: metrics.jsonl, TensorBoard, a progress bar or plain log lines."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from advlab import runs


class IntervalLog:
    """Sums per-step loss tensors on the device and writes their means once per logging interval.

    Only rank 0 writes. On a terminal a tqdm bar shows progress; elsewhere (CI, files) one plain log
    line per interval does. Summing device tensors keeps host synchronisation to one per interval.
    """

    def __init__(self, run_dir: Path, *, total_steps: int, start_step: int, images_per_step: int, resume_step: int | None,
                 is_main: bool, logger: logging.Logger, description: str, show_progress: bool | None = None):
        self.is_main = is_main
        self.logger = logger
        self.total_steps = total_steps
        self.images_per_step = images_per_step
        self.metrics = runs.MetricsLog(run_dir / runs.METRICS_FILE, resume_step=resume_step, enabled=is_main)
        self.tensorboard = None
        if is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(log_dir=str(run_dir / "tb"))
        self.use_bar = is_main and (sys.stderr.isatty() if show_progress is None else show_progress)
        self.bar = tqdm(total=total_steps, initial=start_step, desc=description, disable=not self.use_bar, dynamic_ncols=True)
        self.sums: dict[str, torch.Tensor] = {}
        self.window_start = time.perf_counter()
        self.window_step = start_step

    def add(self, terms: dict[str, torch.Tensor]) -> None:
        for name, value in terms.items():
            self.sums[name] = self.sums.get(name, 0) + value
        self.bar.update(1)

    def interval_means(self, step: int) -> dict[str, float]:
        """Means of the terms since the last interval (one host synchronisation)."""
        count = max(step - self.window_step, 1)
        return {name: float(total) / count for name, total in self.sums.items()}

    def write_interval(self, step: int, means: dict[str, float], extra: dict[str, float]) -> None:
        now = time.perf_counter()
        images_per_s = (step - self.window_step) * self.images_per_step / max(now - self.window_start, 1e-9)
        record = {"step": step, **means, **extra, "images_per_s": images_per_s}
        self.metrics.write(record)
        if self.tensorboard is not None:
            for name, value in record.items():
                if name != "step":
                    self.tensorboard.add_scalar(f"train/{name}", value, step)
        if self.use_bar:
            self.bar.set_postfix(loss=f"{means.get('loss', float('nan')):.3f}", img_s=f"{images_per_s:.0f}")
        elif self.is_main:
            details = ", ".join(f"{name} {value:.3f}" for name, value in means.items() if name != "loss")
            self.logger.info("step %d/%d loss %.4f (%s) %.0f img/s", step, self.total_steps, means.get("loss", float("nan")), details, images_per_s)
        self.sums, self.window_start, self.window_step = {}, now, step

    def write_evaluation(self, step: int, scores: dict[str, float]) -> None:
        self.metrics.write({"step": step, **{f"eval/{name}": value for name, value in scores.items()}})
        if self.tensorboard is not None:
            for name, value in scores.items():
                self.tensorboard.add_scalar(f"eval/{name}", value, step)

    def close(self) -> None:
        self.bar.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
