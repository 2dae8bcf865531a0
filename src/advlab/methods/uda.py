"""Unsupervised domain adaptation objectives on a `DigitClassifierNet`.

Every method computes loss = cross-entropy on labelled data + trade_off * transfer loss. Source and
target batches go through the networks in separate passes, so that BatchNorm normalises each domain
with its own batch statistics, as the DANN and DAN reference implementations do (one concatenated
batch made DANN collapse on syndigits -> optdigits in our runs). UDA methods never read target labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from advlab.losses.grl import dann_coefficient, grad_reverse
from advlab.losses.mmd import mk_mmd
from advlab.models.uda import DigitClassifierNet

UDA_METHODS = ("source-only", "dann", "dan", "target-only")


@dataclass
class Batch:
    """One training step's inputs: normalised images (B, 3, H, W) and labels (B,)."""

    x_s: torch.Tensor
    y_s: torch.Tensor
    x_t: torch.Tensor
    y_t: torch.Tensor | None = None  # target labels: read by target-only alone


@dataclass
class StepLosses:
    """The total loss to minimise and its detached terms for logging (no host sync here)."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor]


def source_only_loss(model: DigitClassifierNet, batch: Batch, progress: float, trade_off: float) -> StepLosses:
    """Lower bound: cross-entropy on labelled source data only."""
    logits_s = model(batch.x_s)
    loss_cls = F.cross_entropy(logits_s, batch.y_s)
    return StepLosses(loss_cls, {"loss_cls": loss_cls.detach()})


def target_only_loss(model: DigitClassifierNet, batch: Batch, progress: float, trade_off: float) -> StepLosses:
    """Upper bound: cross-entropy on labelled target data (uses target labels by design)."""
    if batch.y_t is None:
        raise ValueError("target-only training needs target labels")
    logits_t = model(batch.x_t)
    loss_cls = F.cross_entropy(logits_t, batch.y_t)
    return StepLosses(loss_cls, {"loss_cls": loss_cls.detach()})


def dann_loss(model: DigitClassifierNet, batch: Batch, progress: float, trade_off: float) -> StepLosses:
    """DANN: source cross-entropy plus the domain classifier's loss through gradient reversal.

    The domain classifier learns to tell source (0) from target (1); the reversed gradient,
    scaled by 2/(1+exp(-10p))-1, trains the feature extractor to confuse it. As in the reference
    implementation the source and target domain losses are added, not averaged.
    """
    if model.domain_discriminator is None:
        raise ValueError("DANN needs a model with a domain discriminator")
    coeff = dann_coefficient(progress) * trade_off

    f_s = model.feature_extractor(batch.x_s)  # (B_s, D)
    f_t = model.feature_extractor(batch.x_t)  # (B_t, D)
    logits_s = model.classifier(f_s)
    loss_cls = F.cross_entropy(logits_s, batch.y_s)

    domain_logits_s = model.domain_discriminator(grad_reverse(f_s, coeff))
    domain_logits_t = model.domain_discriminator(grad_reverse(f_t, coeff))
    zeros = torch.zeros(len(f_s), dtype=torch.long, device=f_s.device)
    ones = torch.ones(len(f_t), dtype=torch.long, device=f_t.device)
    loss_domain = F.cross_entropy(domain_logits_s, zeros) + F.cross_entropy(domain_logits_t, ones)

    with torch.no_grad():
        domain_acc = 0.5 * ((domain_logits_s.argmax(1) == 0).float().mean() + (domain_logits_t.argmax(1) == 1).float().mean())
    terms = {"loss_cls": loss_cls.detach(), "loss_domain": loss_domain.detach(), "domain_acc": domain_acc}
    return StepLosses(loss_cls + loss_domain, terms)


def dan_loss(model: DigitClassifierNet, batch: Batch, progress: float, trade_off: float) -> StepLosses:
    """DAN: source cross-entropy plus MK-MMD between domains on the features and on the class logits.

    The weight ramps with the DANN schedule 2/(1+exp(-10p))-1 times `trade_off`, so early
    noisy features are not forced together.
    """
    weight = dann_coefficient(progress) * trade_off

    f_s = model.feature_extractor(batch.x_s)
    f_t = model.feature_extractor(batch.x_t)
    logits_s = model.classifier(f_s)
    logits_t = model.classifier(f_t)
    loss_cls = F.cross_entropy(logits_s, batch.y_s)

    loss_mmd = mk_mmd(f_s, f_t) + mk_mmd(logits_s, logits_t)

    terms = {"loss_cls": loss_cls.detach(), "loss_mmd": loss_mmd.detach()}
    return StepLosses(loss_cls + weight * loss_mmd, terms)


METHOD_LOSSES = {
    "source-only": source_only_loss,
    "dann": dann_loss,
    "dan": dan_loss,
    "target-only": target_only_loss,
}
