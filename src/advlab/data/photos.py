"""Colour photographs that ship inside scikit-image and scikit-learn, and random background crops.

These stand in for the BSDS500 photos that MNIST-M was blended with. The files are read from the
installed wheels by path, so nothing is downloaded. scikit-image fetches some of its other sample
images with pooch, and those are not used.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import skimage.data
import sklearn.datasets
from PIL import Image

# Real photographs only: synthetic test images (colorwheel, logo) would make flat or regular backgrounds.
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "ihc.png",
    "retina.jpg",
    "motorcycle_left.png",
)
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")

# Each photo is also cropped after downscaling by these factors, so a crop shows anything from fine
# texture to a larger part of the scene.
CROP_SCALES = (1.0, 0.5, 0.33, 0.2)

CHANNEL_PERMUTATIONS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def photo_paths() -> list[Path]:
    skimage_folder = Path(skimage.data.__file__).parent
    sklearn_folder = Path(sklearn.datasets.__file__).parent / "images"
    return [skimage_folder / name for name in SKIMAGE_PHOTOS] + [sklearn_folder / name for name in SKLEARN_PHOTOS]


@functools.cache
def photo_pyramid() -> tuple[np.ndarray, ...]:
    """Return every photo at every scale in `CROP_SCALES` as uint8 (H, W, 3) arrays."""
    levels = []
    for path in photo_paths():
        with Image.open(path) as image:
            photo = image.convert("RGB")
        for scale in CROP_SCALES:
            width, height = round(photo.width * scale), round(photo.height * scale)
            levels.append(np.asarray(photo.resize((width, height), Image.Resampling.BOX)))
    return tuple(levels)


def random_photo_crops(rng: np.random.Generator, count: int, size: int, *, min_std: float = 20.0) -> np.ndarray:
    """Cut `count` random (size x size) crops from the photos, as uint8 (count, 3, size, size).

    Each crop is flipped horizontally and vertically with probability 1/2, its channels are permuted
    at random, and its brightness, contrast and saturation are jittered. Crops whose pixel standard
    deviation (over all channels, 0..255 scale) stays below `min_std` are drawn again, up to 30 times,
    because flat crops such as the black sky of the Hubble image would leave the digit unchanged.
    """
    crops = np.empty((count, 3, size, size), dtype=np.uint8)
    pending = np.arange(count)
    for _ in range(30):
        if pending.size == 0:
            break
        candidates = _jittered_crops(rng, pending.size, size)
        flat = candidates.reshape(pending.size, -1).std(axis=1) < min_std
        crops[pending[~flat]] = candidates[~flat]
        crops[pending[flat]] = candidates[flat]  # kept only if every later draw is flat too
        pending = pending[flat]
    return crops


def _jittered_crops(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    levels = [level for level in photo_pyramid() if min(level.shape[:2]) >= size]
    choices = rng.integers(len(levels), size=count)
    crops = np.empty((count, size, size, 3), dtype=np.uint8)
    for index, level in enumerate(choices):
        photo = levels[level]
        top = rng.integers(photo.shape[0] - size + 1)
        left = rng.integers(photo.shape[1] - size + 1)
        crops[index] = photo[top : top + size, left : left + size]

    flip_horizontal = rng.random(count) < 0.5
    flip_vertical = rng.random(count) < 0.5
    crops[flip_horizontal] = crops[flip_horizontal, :, ::-1]
    crops[flip_vertical] = crops[flip_vertical, ::-1]
    images = crops.transpose(0, 3, 1, 2).astype(np.float32)  # (N, 3, S, S)

    # colour jitter, as torchvision's ColorJitter does it but vectorised over the batch
    permutation_choice = rng.integers(len(CHANNEL_PERMUTATIONS), size=count)
    for choice, permutation in enumerate(CHANNEL_PERMUTATIONS):
        members = permutation_choice == choice
        images[members] = images[members][:, permutation]
    gray = images.mean(axis=1, keepdims=True)
    saturation = rng.uniform(0.6, 1.3, size=(count, 1, 1, 1)).astype(np.float32)
    images = gray + saturation * (images - gray)
    contrast = rng.uniform(0.7, 1.3, size=(count, 1, 1, 1)).astype(np.float32)
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    images = mean + contrast * (images - mean)
    brightness = rng.uniform(0.7, 1.3, size=(count, 1, 1, 1)).astype(np.float32)
    images = images * brightness
    return np.clip(images, 0, 255).round().astype(np.uint8)
