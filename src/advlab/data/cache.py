"""On-disk cache for the embedded domains.

Each built domain is one `torch.save` file named after the domain, its builder version, the seed and
the build parameters, so a change to any of them builds a new file instead of serving a stale one.
Files are written to a temporary name in the cache folder and moved into place with `os.replace`, so
a reader never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from advlab.errors import UserError

logger = logging.getLogger(__name__)

CACHE_ENV_VAR = "ADVLAB_CACHE"


def cache_dir() -> Path:
    """Return `$ADVLAB_CACHE` if set, else `~/.cache/advlab`."""
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "advlab"


def cache_path(domain: str, builder_version: int, seed: int, params: dict[str, Any]) -> Path:
    """Return the cache file for one build: readable prefix plus a hash of every build input."""
    key = json.dumps(
        {"domain": domain, "version": builder_version, "seed": seed, "params": params}, sort_keys=True
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / f"{domain}-v{builder_version}-seed{seed}-{digest}.pt"


def load_or_build(path: Path, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Load the cached dict of tensors at `path`, or call `build` and save its result there."""
    if path.is_file():
        try:
            return torch.load(path, weights_only=True)
        except Exception as error:  # a truncated or foreign file fails in many ways inside the unpickler
            logger.warning("cache file %s is unreadable (%s: %s), rebuilding it", path, type(error).__name__, error)

    data = build()
    save_atomically(data, path)
    return data


def save_atomically(data: dict[str, Any], path: Path) -> None:
    """Write `data` with `torch.save` through a temporary file next to `path`, then rename it into place."""
    from advlab.runs import atomic_torch_save

    try:
        atomic_torch_save(data, path)
    except OSError as error:
        raise UserError(
            f"cannot write the data cache in {path.parent} ({error.strerror}): "
            f"set {CACHE_ENV_VAR} to a writable folder"
        ) from error
