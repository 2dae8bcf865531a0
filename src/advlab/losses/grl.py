"""Gradient reversal layer (Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015)."""

from __future__ import annotations

import math

import torch


class _GradientReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad_output, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by `-coeff` in the backward pass."""
    return _GradientReverse.apply(x, coeff)


def dann_coefficient(progress: float, gamma: float = 10.0) -> float:
    """Reversal weight 2 / (1 + exp(-gamma * p)) - 1 for training progress p in [0, 1].

    It rises from 0 to about 1, which damps the domain classifier's noisy signal early in training
    (DANN paper, section 5.2.2, gamma = 10).
    """
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0
