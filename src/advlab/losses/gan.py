"""Adversarial losses, the WGAN-GP gradient penalty, WGAN weight clipping and the ACGAN attribute loss.

Scores are the critic's raw outputs (logits for "dcgan"), shape (B,). Each loss is the quantity
that its player minimises:

    loss      critic / discriminator                      generator
    wgan      E[D(fake)] - E[D(real)]                     -E[D(fake)]         Arjovsky et al., 2017
    wgan-gp   same, plus lambda * gradient penalty        -E[D(fake)]         Gulrajani et al., 2017
    dcgan     softplus(-D(real)) + softplus(D(fake))      softplus(-D(fake))  Goodfellow et al., 2014
    hinge     relu(1 - D(real)) + relu(1 + D(fake))       -E[D(fake)]         Lim and Ye, 2017

"dcgan" is the non-saturating loss: the generator maximises log D(fake) instead of minimising
log(1 - D(fake)), whose gradient vanishes while the discriminator wins. softplus(-t) equals
-log(sigmoid(t)), so these are binary cross-entropies on logits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

AdversarialLoss = Literal["wgan", "wgan-gp", "dcgan", "hinge"]
ADVERSARIAL_LOSSES: tuple[str, ...] = ("wgan", "wgan-gp", "dcgan", "hinge")


def critic_loss(loss: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Adversarial loss of the critic or discriminator, without the gradient penalty."""
    if loss in ("wgan", "wgan-gp"):
        return fake_scores.mean() - real_scores.mean()
    if loss == "dcgan":
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
    if loss == "hinge":
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()
    raise ValueError(f"unknown adversarial loss {loss!r}: choose one of {ADVERSARIAL_LOSSES}")


def generator_loss(loss: str, fake_scores: torch.Tensor) -> torch.Tensor:
    """Adversarial loss of the generator."""
    if loss in ("wgan", "wgan-gp", "hinge"):
        return -fake_scores.mean()
    if loss == "dcgan":
        return F.softplus(-fake_scores).mean()
    raise ValueError(f"unknown adversarial loss {loss!r}: choose one of {ADVERSARIAL_LOSSES}")


def wasserstein_estimate(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[D(real)] - E[D(fake)]: the critic's estimate of the Wasserstein-1 distance (up to its Lipschitz constant)."""
    return real_scores.mean() - fake_scores.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    epsilon: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] and the mean gradient norm.

    Gulrajani et al., 2017, "Improved Training of Wasserstein GANs", Algorithm 1: each sample i gets
    its own epsilon_i ~ U[0, 1] and its own interpolate x_hat_i = epsilon_i * real_i + (1 - epsilon_i)
    * fake_i, and the norm is taken over all pixels of that one sample. The penalty is not multiplied
    by lambda; the caller does that. The graph is kept (create_graph=True) so the penalty trains the
    critic.

    critic: maps images (B, C, H, W) to scores (B,).
    real, fake: (B, C, H, W); `fake` should be detached from the generator.
    epsilon: optional (B,) interpolation weights, for tests; drawn from `generator` otherwise.
    """
    batch_size = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(batch_size, device=real.device, generator=generator)
    epsilon = epsilon.to(real.dtype).view(batch_size, 1, 1, 1)  # (B,) -> (B, 1, 1, 1)
    interpolates = (epsilon * real + (1.0 - epsilon) * fake).requires_grad_(True)

    scores = critic(interpolates)
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    gradient_norms = gradients.flatten(1).norm(2, dim=1)  # (B, C*H*W) -> (B,)

    penalty = (gradient_norms - 1.0).pow(2).mean()
    return penalty, gradient_norms.detach().mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of `module` to [-clip_value, clip_value] in place (WGAN, Algorithm 1).

    Algorithm 1 clips all critic weights w, so BatchNorm scales and biases are clipped too.
    """
    parameters = [parameter for parameter in module.parameters()]
    torch._foreach_clamp_min_(parameters, -clip_value)
    torch._foreach_clamp_max_(parameters, clip_value)


def attribute_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ACGAN auxiliary loss: BCE-with-logits for one binary attribute, cross-entropy for classes.

    logits: (B, 1) for a binary attribute with targets (B,) in {0, 1}; (B, K) for K classes with
    integer targets (B,) in 0..K-1.
    """
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits.squeeze(1), targets.to(logits.dtype))
    return F.cross_entropy(logits, targets.long())
