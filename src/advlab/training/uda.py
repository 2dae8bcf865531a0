"""Training loop for unsupervised domain adaptation runs (`advlab train uda`)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advlab import runs
from advlab.config import config_to_dict, dump_yaml
from advlab.data import DigitSet, load_domain, normalize
from advlab.errors import UserError
from advlab.methods.uda import METHOD_LOSSES, Batch, StepLosses
from advlab.metrics.classification import accuracy_on
from advlab.models.uda import DigitClassifierNet, build_uda_model
from advlab.training.runtime import (
    DistributedContext,
    autocast,
    configure_threads,
    init_distributed,
    resolve_device,
    resolve_precision,
)
from advlab.training.progress import IntervalLog
from advlab.training.sampling import EpochBatchSampler
from advlab.training.sync_batchnorm import convert_sync_batchnorm
from advlab.training.uda_config import UDAConfig

RESULTS_FILE = "results.json"


@dataclass
class DomainData:
    """Train and test splits of the source and target domains, as uint8 tensors on the device."""

    source_train: DigitSet
    source_test: DigitSet
    target_train: DigitSet
    target_test: DigitSet


def load_uda_data(config: UDAConfig) -> DomainData:
    def load(name: str, split: str) -> DigitSet:
        return load_domain(name, split, data_root=config.data_root, image_size=config.image_size, seed=config.data_seed)

    return DomainData(load(config.source, "train"), load(config.source, "test"), load(config.target, "train"), load(config.target, "test"))


class UDAObjective(nn.Module):
    """Network and method loss as one module, so that DistributedDataParallel wraps every forward pass."""

    def __init__(self, model: DigitClassifierNet, method: str, trade_off: float):
        super().__init__()
        self.model = model
        self.loss_fn = METHOD_LOSSES[method]
        self.trade_off = trade_off

    def forward(self, batch: Batch, progress: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        losses: StepLosses = self.loss_fn(self.model, batch, progress, self.trade_off)
        return losses.total, losses.terms


class UDATrainer:
    """Train one UDA run: sampling, optimisation, logging, evaluation and checkpoints."""

    def __init__(self, config: UDAConfig, run_dir: Path | None, *, data: DomainData | None = None, dist_ctx: DistributedContext | None = None):
        self.config = config
        self.run_dir = run_dir
        self.dist = dist_ctx or DistributedContext()
        configure_threads(config.num_threads)
        self.device = resolve_device(config.device)
        self.amp_dtype = resolve_precision(config.precision, self.device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        runs.seed_everything(config.seed + self.dist.rank)

        data = data or load_uda_data(config)
        self.data = data
        # Whole datasets stay on the device as uint8 and are normalised per batch there.
        self.x_s = data.source_train.images.to(self.device)
        self.y_s = data.source_train.labels.to(self.device)
        self.x_t = data.target_train.images.to(self.device)
        self.y_t = data.target_train.labels.to(self.device)  # read only by target-only
        batch = config.batch_size
        for name, split in (("source", data.source_train), ("target", data.target_train)):
            if len(split) < batch:
                raise UserError(f"{name} training set {split.domain!r} has {len(split)} images, fewer than batch_size {batch}: lower batch_size")
        self.sampler_s = EpochBatchSampler(len(self.x_s), batch, seed=config.seed, rank=self.dist.rank, world_size=self.dist.world_size)
        self.sampler_t = EpochBatchSampler(len(self.x_t), batch, seed=config.seed + 1, rank=self.dist.rank, world_size=self.dist.world_size)

        torch.manual_seed(config.seed)  # identical initial weights on every rank
        self.model = build_uda_model(config.model, config.method, dropout=config.dropout).to(self.device, memory_format=self.memory_format)
        if self.dist.enabled:
            # Each domain's BatchNorm statistics cover the whole global batch, as in one process.
            self.model = convert_sync_batchnorm(self.model, self.device)
        objective: nn.Module = UDAObjective(self.model, config.method, config.trade_off)
        if self.dist.enabled:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            objective = nn.parallel.DistributedDataParallel(objective, device_ids=device_ids)
        self.objective = torch.compile(objective) if config.compile else objective
        self.optimizer = self._build_optimizer()
        self.step = 0
        runs.seed_everything(config.seed + self.dist.rank)

    def _build_optimizer(self) -> torch.optim.Optimizer:
        config = self.config
        params = self.model.parameters()
        if config.optimizer == "sgd":
            return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)

    def learning_rate(self, progress: float) -> float:
        """DANN's annealing lr / (1 + 10 p) ** 0.75, or the constant rate."""
        if self.config.lr_schedule == "dann":
            return self.config.lr / (1 + 10 * progress) ** 0.75
        return self.config.lr

    def next_batch(self) -> Batch:
        index_s = self.sampler_s.next_indices().to(self.device)
        index_t = self.sampler_t.next_indices().to(self.device)
        x_s = normalize(self.x_s[index_s]).contiguous(memory_format=self.memory_format)
        x_t = normalize(self.x_t[index_t]).contiguous(memory_format=self.memory_format)
        y_t = self.y_t[index_t] if self.config.method == "target-only" else None
        return Batch(x_s=x_s, y_s=self.y_s[index_s], x_t=x_t, y_t=y_t)

    def train_step(self) -> dict[str, torch.Tensor]:
        """One optimiser step; returns the detached loss terms (still on the device)."""
        progress = self.step / self.config.steps
        lr = self.learning_rate(progress)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        batch = self.next_batch()

        # forward: the method's loss over separate source and target passes
        with autocast(self.device, self.amp_dtype):
            total, terms = self.objective(batch, progress)

        # backward and update
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()

        self.step += 1
        return {"loss": total.detach(), **terms}

    def evaluate(self) -> dict[str, float]:
        """Accuracy on the source and target test splits (reported, never used to pick a model)."""
        source_acc = accuracy_on(self.model, self.data.source_test, device=self.device, amp_dtype=self.amp_dtype, batch_size=self.config.eval_batch_size)
        target_acc = accuracy_on(self.model, self.data.target_test, device=self.device, amp_dtype=self.amp_dtype, batch_size=self.config.eval_batch_size)
        return {"source_test_acc": source_acc, "target_test_acc": target_acc}

    # checkpoints

    def state_dict(self) -> dict[str, Any]:
        return {
            **runs.checkpoint_metadata(config_to_dict(self.config)),
            "kind": "uda",
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sampler_s": self.sampler_s.state_dict(),
            "sampler_t": self.sampler_t.state_dict(),
            "world_size": self.dist.world_size,
            "rng": runs.rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler_s.load_state_dict(state["sampler_s"])
        self.sampler_t.load_state_dict(state["sampler_t"])
        self.step = int(state["step"])
        if state.get("world_size", 1) == self.dist.world_size:
            runs.restore_rng_state(state["rng"])
        else:
            # Another process count: dropout streams cannot match, so reseed them from the step.
            runs.seed_everything(self.config.seed + 7919 * self.step + self.dist.rank)

    def final_model_state(self) -> dict[str, Any]:
        return {
            **runs.checkpoint_metadata(config_to_dict(self.config)),
            "kind": "uda",
            "step": self.step,
            "model": self.model.state_dict(),
        }


def _finite_or_stop(values: dict[str, float], step: int, run_dir: Path | None) -> None:
    bad = [name for name, value in values.items() if not math.isfinite(value)]
    if bad:
        last = run_dir / runs.LAST_CHECKPOINT if run_dir else None
        where = f"; the last good checkpoint {last} is intact" if last and last.exists() else ""
        raise UserError(f"training diverged at step {step}: {', '.join(bad)} is not finite{where}. Lower lr or check the data")


def train_uda(config: UDAConfig, run_dir: Path, *, resume: bool = False, data: DomainData | None = None, show_progress: bool | None = None) -> dict[str, Any]:
    """Train (or resume) a UDA run in `run_dir` and return its final results."""
    dist_ctx = init_distributed(config.device)
    is_main = dist_ctx.is_main
    logger = runs.setup_run_logger(run_dir if is_main else None)
    trainer = UDATrainer(config, run_dir, data=data, dist_ctx=dist_ctx)

    resume_step = None
    if resume:
        state = runs.load_checkpoint(run_dir / runs.LAST_CHECKPOINT)
        trainer.load_state_dict(state)
        resume_step = trainer.step
        logger.info("resumed %s at step %d of %d", run_dir, trainer.step, config.steps)
    elif is_main:
        runs.atomic_write_text(run_dir / runs.CONFIG_FILE, dump_yaml(config))

    log = IntervalLog(run_dir, total_steps=config.steps, start_step=trainer.step, images_per_step=config.batch_size * (1 if config.method in ("source-only", "target-only") else 2),
                      resume_step=resume_step, is_main=is_main, logger=logger, description=config.method, show_progress=show_progress)
    logger.info(
        "training %s: %s -> %s, %d steps, batch %d per domain, device %s, precision %s, %d process(es)",
        config.method, config.source, config.target, config.steps, config.batch_size, trainer.device,
        "bf16" if trainer.amp_dtype else "fp32", dist_ctx.world_size,
    )

    started = time.perf_counter()
    while trainer.step < config.steps:
        log.add(trainer.train_step())
        step = trainer.step

        if step % config.log_every == 0 or step == config.steps:
            means = log.interval_means(step)
            _finite_or_stop(means, step, run_dir)
            log.write_interval(step, means, {"lr": trainer.learning_rate(step / config.steps)})

        if config.eval_every and step % config.eval_every == 0 and step != config.steps and is_main:
            scores = trainer.evaluate()
            log.write_evaluation(step, scores)
            logger.info("step %d: source test accuracy %.4f, target test accuracy %.4f", step, scores["source_test_acc"], scores["target_test_acc"])

        if (step % config.checkpoint_every == 0 or step == config.steps) and is_main:
            runs.atomic_torch_save(trainer.state_dict(), run_dir / runs.LAST_CHECKPOINT)

    results: dict[str, Any] = {}
    if is_main:
        results = _finish_run(trainer, run_dir, log, logger, time.perf_counter() - started)
    log.close()
    return results


def _finish_run(trainer: UDATrainer, run_dir: Path, log: IntervalLog, logger, wall_seconds: float) -> dict[str, Any]:
    """Evaluate the final model, save model.pt and results.json, and return the results."""
    import json

    config = trainer.config
    scores = trainer.evaluate()
    log.write_evaluation(trainer.step, scores)
    runs.atomic_torch_save(trainer.final_model_state(), run_dir / runs.FINAL_MODEL)
    results = {
        "method": config.method, "source": config.source, "target": config.target, "seed": config.seed,
        "steps": trainer.step, **scores, "train_seconds": round(wall_seconds, 1),
    }
    runs.atomic_write_text(run_dir / RESULTS_FILE, json.dumps(results, indent=2) + "\n")
    logger.info("done: source test accuracy %.4f, target test accuracy %.4f (%s)", scores["source_test_acc"], scores["target_test_acc"], run_dir)
    return results


def load_trained_model(run_dir: Path, *, prefer_final: bool = True) -> tuple[DigitClassifierNet, UDAConfig, dict[str, Any]]:
    """Rebuild a run's network from model.pt (or last.pt while training is unfinished), in eval mode."""
    from advlab.config import build_config

    run_dir = runs.require_run_dir(run_dir)
    config_dict = runs.read_run_config(run_dir)
    if config_dict.get("kind") != "uda":
        raise UserError(f"{run_dir} is a {config_dict.get('kind')!r} run, not a domain adaptation run")
    config = build_config(UDAConfig, config_dict)
    path = run_dir / runs.FINAL_MODEL
    if not (prefer_final and path.exists()):
        path = run_dir / runs.LAST_CHECKPOINT
    state = runs.load_checkpoint(path)
    model = build_uda_model(config.model, config.method, dropout=config.dropout)
    model.load_state_dict(state["model"])
    model.eval()
    return model, config, state
