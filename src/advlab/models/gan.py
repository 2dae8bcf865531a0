"""DCGAN-style generators and critics for 64x64 faces and 32x32 digits, unconditional and ACGAN.

The layout follows DCGAN (Radford et al., 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks"), which the WGAN and WGAN-GP papers reuse for their
image experiments. With `width` w (64 in the papers) the 64x64 networks are

    generator  z (B, 100, 1, 1) -> ConvT(100, 8w, 4, 1, 0) 4x4 -> 4w 8x8 -> 2w 16x16 -> w 32x32
               -> ConvT(w, 3, 4, 2, 1) 64x64 -> tanh, each hidden layer followed by BatchNorm and ReLU
    critic     x (B, 3, 64, 64) -> Conv(3, w, 4, 2, 1) 32x32 -> 2w 16x16 -> 4w 8x8 -> 8w 4x4
               -> Conv(8w, 1, 4, 1, 0), each hidden layer followed by LeakyReLU(0.2)

and the 32x32 networks drop the widest block (4w channels at 4x4). The critic's first layer has no
normalisation, as in DCGAN. Its other layers use `critic_norm`:

- "batch": BatchNorm, the DCGAN and WGAN (weight clipping) choice.
- "layer": layer normalisation over (C, H, W) of each image, written as GroupNorm with one group, so
  the affine parameters are per channel. WGAN-GP (Gulrajani et al., 2017) replaces BatchNorm by layer
  normalisation because its penalty is defined per sample, and batch statistics couple the samples.
- "none": no normalisation.

The ACGAN networks come from Odena et al., 2017, "Conditional Image Synthesis with Auxiliary
Classifier GANs". The generator feeds the noise, concatenated with the condition vector, through
Linear(noise + condition, 8w*4*4), BatchNorm and ReLU into the same transposed-convolution stack.
The discriminator puts two linear heads on the flattened critic trunk: one adversarial logit and
one attribute head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

CriticNorm = Literal["batch", "layer", "none"]

SUPPORTED_IMAGE_SIZES = (32, 64)


def _channel_widths(image_size: int, width: int) -> list[int]:
    """Channels of the 4x4, 8x8, ... feature maps, widest first: [8w, 4w, 2w, w] for 64x64 images."""
    if image_size not in SUPPORTED_IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {SUPPORTED_IMAGE_SIZES}, got {image_size}")
    num_blocks = {32: 3, 64: 4}[image_size]
    return [width * 2 ** (num_blocks - 1 - level) for level in range(num_blocks)]


def _upsample_stack(widths: list[int], image_channels: int) -> nn.Sequential:
    """Transposed-convolution stack that doubles the side at each layer from 4x4 to the image size."""
    layers: list[nn.Module] = []
    for in_channels, out_channels in zip(widths[:-1], widths[1:]):
        layers += [
            nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
    layers += [nn.ConvTranspose2d(widths[-1], image_channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def _norm_layer(kind: CriticNorm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"critic_norm must be batch, layer or none, got {kind!r}")


def init_dcgan_weights(module: nn.Module) -> None:
    """Initialise as DCGAN does: conv weights from N(0, 0.02), norm scales from N(1, 0.02), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class Generator(nn.Module):
    """Unconditional DCGAN generator: noise (B, noise_dim) -> images (B, 3, S, S) in [-1, 1]."""

    def __init__(self, *, image_size: int = 64, noise_dim: int = 100, width: int = 64, image_channels: int = 3):
        super().__init__()
        self.image_size = image_size
        self.noise_dim = noise_dim
        self.condition_dim = 0
        widths = _channel_widths(image_size, width)
        self.project = nn.Sequential(
            nn.ConvTranspose2d(noise_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        self.upsample = _upsample_stack(widths, image_channels)
        init_dcgan_weights(self)

    def forward(self, noise: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is not None:
            raise ValueError("an unconditional generator takes no condition")
        x = self.project(noise[:, :, None, None])  # (B, noise_dim, 1, 1) -> (B, 8w, 4, 4)
        return self.upsample(x)


class ConditionalGenerator(nn.Module):
    """ACGAN generator: (noise (B, noise_dim), condition (B, condition_dim)) -> images (B, 3, S, S).

    The condition is a one-hot class vector or a column of 0/1 attribute values.
    """

    def __init__(
        self,
        *,
        condition_dim: int,
        image_size: int = 64,
        noise_dim: int = 100,
        width: int = 64,
        image_channels: int = 3,
    ):
        super().__init__()
        self.image_size = image_size
        self.noise_dim = noise_dim
        self.condition_dim = condition_dim
        widths = _channel_widths(image_size, width)
        self.base_channels = widths[0]
        self.project = nn.Sequential(
            nn.Linear(noise_dim + condition_dim, widths[0] * 4 * 4, bias=False),
            nn.BatchNorm1d(widths[0] * 4 * 4),
            nn.ReLU(inplace=True),
        )
        self.upsample = _upsample_stack(widths, image_channels)
        init_dcgan_weights(self)

    def forward(self, noise: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is None:
            raise ValueError("a conditional generator needs a condition")
        x = self.project(torch.cat([noise, condition.to(noise.dtype)], dim=1))  # (B, 8w*16)
        x = x.view(-1, self.base_channels, 4, 4)  # (B, 8w, 4, 4)
        return self.upsample(x)


class CriticTrunk(nn.Module):
    """Strided convolutions from (B, 3, S, S) to flattened features (B, 8w*4*4) (B, 4w*4*4 at 32x32)."""

    def __init__(self, *, image_size: int = 64, width: int = 64, norm: CriticNorm = "batch", image_channels: int = 3):
        super().__init__()
        widths = list(reversed(_channel_widths(image_size, width)))  # [w, 2w, 4w, 8w]
        layers: list[nn.Module] = [nn.Conv2d(image_channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for in_channels, out_channels in zip(widths[:-1], widths[1:]):
            layers += [
                nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=norm != "batch"),
                _norm_layer(norm, out_channels),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        self.layers = nn.Sequential(*layers)
        self.out_channels = widths[-1]
        self.num_features = widths[-1] * 4 * 4

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)  # (B, 8w, 4, 4)


class Critic(nn.Module):
    """Unconditional critic (WGAN) or discriminator (DCGAN, hinge): images (B, 3, S, S) -> scores (B,)."""

    def __init__(self, *, image_size: int = 64, width: int = 64, norm: CriticNorm = "batch", image_channels: int = 3):
        super().__init__()
        self.trunk = CriticTrunk(image_size=image_size, width=width, norm=norm, image_channels=image_channels)
        self.head = nn.Conv2d(self.trunk.out_channels, 1, 4, 1, 0)
        self.num_attribute_logits = 0
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Return (adversarial scores (B,), None) so that every critic has the ACGAN signature."""
        return self.head(self.trunk(images)).flatten(), None  # (B, 1, 1, 1) -> (B,)


class AuxiliaryClassifierCritic(nn.Module):
    """ACGAN discriminator: images -> (adversarial scores (B,), attribute logits (B, num_attribute_logits)).

    `num_attribute_logits` is the number of classes, or 1 for a binary attribute read with BCE.
    """

    def __init__(
        self,
        *,
        num_attribute_logits: int,
        image_size: int = 64,
        width: int = 64,
        norm: CriticNorm = "batch",
        image_channels: int = 3,
    ):
        super().__init__()
        self.trunk = CriticTrunk(image_size=image_size, width=width, norm=norm, image_channels=image_channels)
        self.adversarial_head = nn.Linear(self.trunk.num_features, 1)
        self.attribute_head = nn.Linear(self.trunk.num_features, num_attribute_logits)
        self.num_attribute_logits = num_attribute_logits
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(images).flatten(1)  # (B, 8w, 4, 4) -> (B, 8w*16)
        return self.adversarial_head(features).flatten(), self.attribute_head(features)


def build_gan_models(
    *,
    image_size: int,
    noise_dim: int,
    width: int,
    critic_norm: CriticNorm,
    condition_dim: int = 0,
    num_attribute_logits: int = 0,
) -> tuple[nn.Module, nn.Module]:
    """Return (generator, critic): the ACGAN pair when `condition_dim` > 0, else the unconditional pair."""
    if condition_dim > 0:
        generator = ConditionalGenerator(
            condition_dim=condition_dim, image_size=image_size, noise_dim=noise_dim, width=width
        )
        critic = AuxiliaryClassifierCritic(
            num_attribute_logits=num_attribute_logits, image_size=image_size, width=width, norm=critic_norm
        )
        return generator, critic
    return (
        Generator(image_size=image_size, noise_dim=noise_dim, width=width),
        Critic(image_size=image_size, width=width, norm=critic_norm),
    )


@dataclass(frozen=True)
class Conditioning:
    """What an ACGAN generator is conditioned on: nothing, one of K classes, or one binary attribute.

    The condition vector is one-hot (B, K) for classes and the 0/1 value (B, 1) for an attribute. The
    discriminator's attribute head has K logits for classes and one logit for an attribute.
    """

    kind: Literal["none", "class", "binary"] = "none"
    num_classes: int = 0
    attribute: str | None = None  # the attribute's name (binary) or "class"

    @property
    def condition_dim(self) -> int:
        return {"none": 0, "class": self.num_classes, "binary": 1}[self.kind]

    @property
    def num_attribute_logits(self) -> int:
        return self.condition_dim

    @property
    def num_values(self) -> int:
        """Number of distinct labels: K classes, 2 for a binary attribute, 0 without conditioning."""
        return {"none": 0, "class": self.num_classes, "binary": 2}[self.kind]

    def encode(self, labels: torch.Tensor) -> torch.Tensor | None:
        """Condition vectors (B, condition_dim) for int64 labels (B,), or None when unconditional."""
        if self.kind == "none":
            return None
        if self.kind == "class":
            return nn.functional.one_hot(labels, self.num_classes).float()
        return labels.float()[:, None]  # (B,) -> (B, 1)


@torch.no_grad()
def generate_images(
    generator: nn.Module,
    noise: torch.Tensor,
    labels: torch.Tensor | None,
    conditioning: Conditioning,
    *,
    batch_size: int = 500,
) -> torch.Tensor:
    """Run `generator` (in its current mode) over noise (N, noise_dim) in batches; images (N, 3, S, S) on the CPU."""
    chunks = []
    for start in range(0, len(noise), batch_size):
        batch_noise = noise[start : start + batch_size]
        condition = None if labels is None else conditioning.encode(labels[start : start + batch_size].to(noise.device))
        chunks.append(generator(batch_noise, condition).float().cpu())
    return torch.cat(chunks)
