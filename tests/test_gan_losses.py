"""GAN losses recomputed by hand: gradient penalty, clipping, adversarial and attribute losses."""

import math

import pytest
import torch
import torch.nn.functional as F

from advlab.losses.gan import attribute_loss, clip_weights_, critic_loss, generator_loss, gradient_penalty
from advlab.models.gan import Conditioning, build_gan_models
from advlab.viz.gan_figures import pair_inputs


def test_penalty_of_linear_critic():
    # D(x) = <w, x> has gradient w everywhere, so the penalty is (||w|| - 1)^2 for any interpolate.
    torch.manual_seed(0)
    weight = torch.randn(3, 4, 4)

    def critic(images):
        return (images * weight).flatten(1).sum(1)

    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    penalty, mean_norm = gradient_penalty(critic, real, fake)
    expected = (weight.norm() - 1.0) ** 2
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    assert mean_norm.item() == pytest.approx(weight.norm().item(), rel=1e-5)


def test_penalty_uses_per_sample_interpolates_and_norms():
    # D(x) = ||x||^2 / 2 has gradient x, so the penalty is mean_i (||x_hat_i|| - 1)^2 with
    # x_hat_i = eps_i * real_i + (1 - eps_i) * fake_i, one epsilon and one norm per sample.
    torch.manual_seed(1)
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    epsilon = torch.tensor([0.0, 0.25, 0.5, 1.0])

    def critic(images):
        return 0.5 * images.pow(2).flatten(1).sum(1)

    penalty, _ = gradient_penalty(critic, real, fake, epsilon=epsilon)
    expected = 0.0
    for i in range(4):
        interpolate = epsilon[i] * real[i] + (1 - epsilon[i]) * fake[i]
        expected += (interpolate.norm().item() - 1.0) ** 2 / 4
    assert penalty.item() == pytest.approx(expected, rel=1e-5)


def test_penalty_trains_the_critic():
    weight = torch.full((1, 2, 2), 2.0, requires_grad=True)

    def critic(images):
        return (images * weight).flatten(1).sum(1)

    penalty, _ = gradient_penalty(critic, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2))
    penalty.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||, with ||w|| = 4
    expected = 2 * (4.0 - 1.0) * weight.detach() / 4.0
    assert torch.allclose(weight.grad, expected, rtol=1e-5)


def test_clipping_bounds_every_parameter():
    _, critic = build_gan_models(image_size=32, noise_dim=8, width=8, critic_norm="batch")
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.mul_(100.0)
    clip_weights_(critic, 0.01)
    for name, parameter in critic.named_parameters():
        assert parameter.abs().max().item() <= 0.01 + 1e-9, name
    # BatchNorm scales start near 1 and must be clipped too
    assert any(parameter.max().item() == pytest.approx(0.01) for name, parameter in critic.named_parameters() if "weight" in name)


def test_adversarial_losses_by_hand():
    real = torch.tensor([1.0, -2.0, 0.5])
    fake = torch.tensor([-1.0, 3.0, 0.0])
    assert critic_loss("wgan", real, fake).item() == pytest.approx(fake.mean().item() - real.mean().item())
    assert critic_loss("wgan-gp", real, fake).item() == pytest.approx(fake.mean().item() - real.mean().item())
    assert generator_loss("wgan", fake).item() == pytest.approx(-fake.mean().item())
    expected_dcgan = sum(-math.log(1 / (1 + math.exp(-r))) for r in real.tolist()) / 3 + sum(
        -math.log(1 - 1 / (1 + math.exp(-f))) for f in fake.tolist()
    ) / 3
    assert critic_loss("dcgan", real, fake).item() == pytest.approx(expected_dcgan, rel=1e-5)
    expected_nonsaturating = sum(-math.log(1 / (1 + math.exp(-f))) for f in fake.tolist()) / 3
    assert generator_loss("dcgan", fake).item() == pytest.approx(expected_nonsaturating, rel=1e-5)
    expected_hinge = sum(max(0, 1 - r) for r in real.tolist()) / 3 + sum(max(0, 1 + f) for f in fake.tolist()) / 3
    assert critic_loss("hinge", real, fake).item() == pytest.approx(expected_hinge)
    assert generator_loss("hinge", fake).item() == pytest.approx(-fake.mean().item())


def test_attribute_loss_binary_and_classes():
    binary_logits = torch.tensor([[2.0], [-1.0]])
    targets = torch.tensor([1, 0])
    expected = F.binary_cross_entropy_with_logits(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0]))
    assert attribute_loss(binary_logits, targets).item() == pytest.approx(expected.item())
    class_logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    expected = F.cross_entropy(class_logits, torch.tensor([0, 2]))
    assert attribute_loss(class_logits, torch.tensor([0, 2])).item() == pytest.approx(expected.item())


def test_pairs_share_noise_and_differ_in_attribute():
    noise, labels = pair_inputs(16, 10, generator=torch.Generator().manual_seed(0))
    assert noise.shape == (20, 16)
    assert torch.equal(noise[:10], noise[10:])
    assert labels.tolist() == [0] * 10 + [1] * 10
    conditioning = Conditioning("binary", attribute="Smiling")
    condition = conditioning.encode(labels)
    generator_input = torch.cat([noise, condition], dim=1)
    top, bottom = generator_input[:10], generator_input[10:]
    differs = (top != bottom).any(dim=0)
    assert differs.nonzero().flatten().tolist() == [16]  # only the attribute column
