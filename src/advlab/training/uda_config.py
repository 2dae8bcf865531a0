"""Configuration of a domain adaptation run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from advlab.config import require
from advlab.methods.uda import UDA_METHODS
from advlab.models.uda import UDA_MODELS


@dataclass
class UDAConfig:
    """Options of `advlab train uda`; every field can be set in YAML or with --set key=value."""

    kind: Literal["uda"] = "uda"
    # data
    source: str = "optdigits"  # source domain name, or a folder with train.csv/test.csv
    target: str = "mnistm-lite"  # target domain name, or a folder
    data_root: str | None = None  # folder holding the on-disk datasets (usps, mnistm, svhn, mnist)
    data_seed: int = 0  # seed of the embedded domains' generation, kept apart from `seed`
    image_size: int = 28  # side in pixels that every domain is resized to
    # method and model
    method: str = "dann"  # source-only | dann | dan | target-only
    model: str = "seed"
    dropout: float = 0.5
    trade_off: float = 1.0  # weight of the transfer loss (DANN: scales the reversal coefficient)
    # optimisation
    seed: int = 0
    steps: int = 1500  # optimiser steps
    batch_size: int = 64  # images per domain per step, summed over all processes
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    lr_schedule: Literal["constant", "dann"] = "constant"  # dann: lr / (1 + 10 p) ** 0.75
    # logging and checkpoints, in steps
    log_every: int = 50
    eval_every: int = 500  # 0 evaluates only at the end
    checkpoint_every: int = 250
    eval_batch_size: int = 1000
    # execution
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 where the hardware runs it natively
    channels_last: bool = True
    # NOTE: with torch 2.14 the compiled objective recompiles as the DANN schedule's coefficient
    # changes each step, and it trained at 612 images/s against 1,767 eager on the benchmark CPU.
    compile: bool = False  # torch.compile the training objective
    num_threads: int | None = None  # intra-op CPU threads; default: cores / local processes

    def validate(self) -> None:
        require(self.method in UDA_METHODS, f"unknown method {self.method!r}: choose one of {list(UDA_METHODS)}")
        require(self.model in UDA_MODELS, f"unknown model {self.model!r}: choose one of {list(UDA_MODELS)}")
        require(self.image_size == 28, f"invalid image_size {self.image_size}: the seed models take 28x28 images")
        require(self.steps >= 1, f"invalid steps {self.steps}: give a positive number of steps")
        require(self.batch_size >= 2, f"invalid batch_size {self.batch_size}: BatchNorm needs at least 2 images per domain")
        require(self.lr > 0, f"invalid lr {self.lr}: the learning rate must be positive")
        require(0 <= self.dropout < 1, f"invalid dropout {self.dropout}: give a probability in [0, 1)")
        require(self.trade_off >= 0, f"invalid trade_off {self.trade_off}: give a non-negative weight")
        require(self.weight_decay >= 0, f"invalid weight_decay {self.weight_decay}: give a non-negative value")
        require(0 <= self.momentum < 1, f"invalid momentum {self.momentum}: give a value in [0, 1)")
        for name in ("log_every", "checkpoint_every", "eval_batch_size"):
            require(getattr(self, name) >= 1, f"invalid {name} {getattr(self, name)}: give a positive number")
        require(self.eval_every >= 0, f"invalid eval_every {self.eval_every}: give 0 or a positive number")
        require(self.num_threads is None or self.num_threads >= 1, f"invalid num_threads {self.num_threads}: give a positive number")
        require(self.source != self.target, f"source and target are both {self.source!r}: pick two different domains")
