"""The in-memory digit dataset and the description of a domain."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DomainInfo:
    """One digit domain as `advlab data list` shows it."""

    name: str
    source: str  # one line: where the images come from
    image_size: int  # native side length in pixels
    num_classes: int
    split_sizes: dict[str, int]  # {"train": ..., "test": ...}, for disk domains the real dataset's sizes
    embedded: bool  # True: built from files inside installed packages, no --data-root needed


@dataclass
class DigitSet:
    """A whole split of one domain in memory.

    `images` is uint8 (N, 3, S, S) with grayscale replicated to three channels. `labels` is int64 (N,)
    with digits 0..9. `names` lists the source file of each image when the images came from files.
    """

    images: torch.Tensor
    labels: torch.Tensor
    domain: str
    split: str
    names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.labels)
