"""Exponential moving average of a model's weights, for sampling and evaluating a generator."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ExponentialMovingAverage:
    """A frozen copy of `model` whose parameters track theta_ema <- d * theta_ema + (1 - d) * theta.

    The decay warms up as d_t = min(decay, (1 + t) / (10 + t)) after t updates, the schedule of
    TensorFlow's `tf.train.ExponentialMovingAverage` with `num_updates`, so that a short run is not
    dominated by the random initial weights. Buffers (BatchNorm running statistics) are copied, not
    averaged. Updates use `torch._foreach_lerp_` and take the decay as a Python float, so they never
    synchronise with the device.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.num_updates = 0

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        weight = 1.0 - self.current_decay()
        averaged = list(self.model.parameters())
        torch._foreach_lerp_(averaged, [parameter.detach() for parameter in model.parameters()], weight)
        for averaged_buffer, buffer in zip(self.model.buffers(), model.buffers()):
            averaged_buffer.copy_(buffer)
        self.num_updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "decay": self.decay, "num_updates": self.num_updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.decay = state["decay"]
        self.num_updates = state["num_updates"]
