"""Gradient reversal, MK-MMD and the UDA objectives against hand computations."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from advlab.losses.grl import dann_coefficient, grad_reverse
from advlab.losses.mmd import mk_mmd
from advlab.methods.uda import Batch, dan_loss, dann_loss, source_only_loss, target_only_loss
from advlab.models.uda import build_uda_model


def test_grad_reverse_is_identity_forward():
    x = torch.randn(4, 3)
    assert torch.equal(grad_reverse(x, 0.7), x)


def test_grad_reverse_flips_and_scales_gradient():
    x = torch.randn(5, 3, requires_grad=True)
    weights = torch.randn(5, 3)
    (grad_reverse(x, 0.25) * weights).sum().backward()
    torch.testing.assert_close(x.grad, -0.25 * weights)


def test_grad_reverse_leaves_discriminator_gradient_unflipped():
    torch.manual_seed(0)
    discriminator = torch.nn.Linear(6, 2)
    features = torch.randn(8, 6, requires_grad=True)
    labels = torch.zeros(8, dtype=torch.long)

    F.cross_entropy(discriminator(grad_reverse(features, 0.5)), labels).backward()
    reversed_feature_grad = features.grad.clone()
    reversed_weight_grad = discriminator.weight.grad.clone()

    features.grad = None
    discriminator.zero_grad()
    F.cross_entropy(discriminator(features), labels).backward()

    torch.testing.assert_close(reversed_feature_grad, -0.5 * features.grad)
    torch.testing.assert_close(reversed_weight_grad, discriminator.weight.grad)


def test_dann_coefficient_schedule():
    assert dann_coefficient(0.0) == 0.0
    assert dann_coefficient(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_coefficient(1.0) == pytest.approx(0.99991, abs=1e-5)


def test_mmd_zero_for_identical_batches():
    x = torch.randn(32, 10)
    assert mk_mmd(x, x.clone()).abs().item() < 1e-6


def test_mmd_grows_with_shift():
    torch.manual_seed(0)
    x = torch.randn(64, 10)
    y = torch.randn(64, 10)
    values = [mk_mmd(x, y + shift).item() for shift in (0.0, 0.5, 1.0, 2.0)]
    # Two samples of one distribution: only the biased estimator's O(1/n) term, summed over 5 kernels.
    assert values[0] < 0.15
    assert values == sorted(values)
    assert values[-1] > 20 * values[0]


def test_mmd_matches_reference_loops_with_unequal_batches():
    rng = np.random.default_rng(1)
    xs, xt = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)) + 0.3
    base, kernel_num, kernel_mul = 2.0, 3, 2.0
    bandwidths = [base * kernel_mul**i for i in (-1, 0, 1)]

    def k(a, b):
        return sum(math.exp(-float(np.sum((a - b) ** 2)) / s) for s in bandwidths)

    expected = (
        np.mean([k(a, b) for a in xs for b in xs])
        + np.mean([k(a, b) for a in xt for b in xt])
        - 2 * np.mean([k(a, b) for a in xs for b in xt])
    )
    got = mk_mmd(torch.tensor(xs), torch.tensor(xt), kernel_num=kernel_num, kernel_mul=kernel_mul, bandwidth=base)
    assert got.item() == pytest.approx(expected, rel=1e-4)


def _batch(seed=0, n=6):
    generator = torch.Generator().manual_seed(seed)
    return Batch(
        x_s=torch.rand(n, 3, 28, 28, generator=generator) * 2 - 1,
        y_s=torch.randint(0, 10, (n,), generator=generator),
        x_t=torch.rand(n, 3, 28, 28, generator=generator) * 2 - 1,
        y_t=torch.randint(0, 10, (n,), generator=generator),
    )


def test_source_only_loss_is_cross_entropy_by_hand():
    torch.manual_seed(0)
    model = build_uda_model("seed", "source-only").eval()
    batch = _batch()
    losses = source_only_loss(model, batch, 0.5, 1.0)
    logits = model(batch.x_s)
    by_hand = -(logits.gather(1, batch.y_s[:, None]).squeeze(1) - logits.exp().sum(1).log()).mean()
    torch.testing.assert_close(losses.total, by_hand, rtol=1e-5, atol=1e-5)


def test_uda_losses_ignore_target_labels():
    torch.manual_seed(0)
    batch = _batch()
    other = Batch(batch.x_s, batch.y_s, batch.x_t, y_t=(batch.y_t + 3) % 10)
    for method, loss_fn in (("dann", dann_loss), ("dan", dan_loss), ("source-only", source_only_loss)):
        model = build_uda_model("seed", method).eval()
        first = loss_fn(model, batch, 0.3, 1.0).total
        second = loss_fn(model, other, 0.3, 1.0).total
        assert torch.equal(first, second), method
        no_labels = Batch(batch.x_s, batch.y_s, batch.x_t, y_t=None)
        assert torch.equal(loss_fn(model, no_labels, 0.3, 1.0).total, first), method


def test_target_only_reads_target_labels():
    torch.manual_seed(0)
    model = build_uda_model("seed", "target-only").eval()
    batch = _batch()
    losses = target_only_loss(model, batch, 0.0, 1.0)
    torch.testing.assert_close(losses.total, F.cross_entropy(model(batch.x_t), batch.y_t))


def test_dann_loss_adds_both_domain_terms():
    torch.manual_seed(0)
    model = build_uda_model("seed", "dann").eval()
    batch = _batch()
    losses = dann_loss(model, batch, 0.5, 1.0)
    f_s, f_t = model.feature_extractor(batch.x_s), model.feature_extractor(batch.x_t)
    domain = F.cross_entropy(model.domain_discriminator(f_s), torch.zeros(6, dtype=torch.long)) + F.cross_entropy(
        model.domain_discriminator(f_t), torch.ones(6, dtype=torch.long)
    )
    expected = F.cross_entropy(model.classifier(f_s), batch.y_s) + domain
    torch.testing.assert_close(losses.total, expected)
    torch.testing.assert_close(losses.terms["loss_domain"], domain.detach())


def test_dann_reverses_feature_gradient_of_domain_loss():
    torch.manual_seed(0)
    model = build_uda_model("seed", "dann", dropout=0.0).eval()
    batch = _batch()
    # Only the domain term: zero trade-off kills the reversal, so compare 0 against p > 0.
    model.zero_grad()
    dann_loss(model, batch, 1.0, 1.0).total.backward()
    with_reversal = model.feature_extractor.body[0].weight.grad.clone()
    model.zero_grad()
    source_only_loss(model, batch, 1.0, 1.0).total.backward()
    classification_only = model.feature_extractor.body[0].weight.grad.clone()
    model.zero_grad()
    f_s, f_t = model.feature_extractor(batch.x_s), model.feature_extractor(batch.x_t)
    domain = F.cross_entropy(model.domain_discriminator(f_s), torch.zeros(6, dtype=torch.long)) + F.cross_entropy(
        model.domain_discriminator(f_t), torch.ones(6, dtype=torch.long)
    )
    domain.backward()
    domain_only = model.feature_extractor.body[0].weight.grad.clone()
    coefficient = dann_coefficient(1.0)
    torch.testing.assert_close(with_reversal, classification_only - coefficient * domain_only, rtol=1e-4, atol=1e-6)


def test_models_output_shapes():
    x = torch.randn(4, 3, 28, 28)
    dann = build_uda_model("seed", "dann").eval()
    assert dann.feature_extractor(x).shape == (4, 2450)
    assert dann(x).shape == (4, 10)
    assert dann.domain_discriminator(dann.feature_extractor(x)).shape == (4, 2)
    dan = build_uda_model("seed", "dan").eval()
    assert dan.feature_extractor(x).shape == (4, 100)
    assert dan(x).shape == (4, 10)
    assert build_uda_model("seed", "source-only").domain_discriminator is None
