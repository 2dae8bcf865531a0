"""Tensor transforms shared by every domain: resizing, channel replication and normalisation."""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as TF


def to_three_channels(images: torch.Tensor) -> torch.Tensor:
    """Replicate grayscale (N, 1, S, S) images to (N, 3, S, S), passing colour images through."""
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    return images


RESIZE_CHUNK = 8192  # images resized at once, so SVHN-sized sets do not need gigabytes of float buffers


def resize_images(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) images to (N, C, image_size, image_size) with antialiasing."""
    if images.shape[-2:] == (image_size, image_size):
        return images
    chunks = [
        TF.resize(images[start : start + RESIZE_CHUNK], [image_size, image_size], antialias=True)
        for start in range(0, len(images), RESIZE_CHUNK)
    ]
    if not chunks:
        return images.new_empty((0, images.shape[1], image_size, image_size))
    return torch.cat(chunks)


def stack_resized(images: list[torch.Tensor], image_size: int) -> torch.Tensor:
    """Stack uint8 (C, H, W) images of any sizes into (N, C, image_size, image_size)."""
    if all(image.shape == images[0].shape for image in images):
        return resize_images(torch.stack(images), image_size)
    return torch.stack([resize_images(image[None], image_size)[0] for image in images])


def normalize(images: torch.Tensor) -> torch.Tensor:
    """Map uint8 images in 0..255 to float32 in [-1, 1], the same affine map for every domain.

    The result stays on the input's device and keeps its memory format (`Tensor.to` preserves it),
    so channels_last batches stay channels_last.
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"normalize expects uint8 images, got {images.dtype}")
    return images.to(torch.float32).div_(127.5).sub_(1.0)
