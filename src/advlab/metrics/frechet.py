"""Frechet distance and KID between real and generated images, computed offline.

Both metrics come from torchmetrics (`FrechetInceptionDistance`, `KernelInceptionDistance`, version
1.9), given a feature extractor in place of Inception:

- Frechet distance (Heusel et al., 2017): ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) between
  Gaussians fitted to the two feature sets.
- KID (Binkowski et al., 2018): the unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3, averaged over random subsets.

`FeatureSpaceMetrics` uses the classifier that advlab trains on the real images
(`advlab.metrics.feature_classifier`), so it needs no download. The standard Inception-v3 metrics run
only when torch-fidelity's weights file is already on disk: `inception_weights_path` looks for it,
and nothing here ever fetches it.

Images enter every metric as uint8 (N, 3, S, S): generated images in [-1, 1] are quantised to 0..255
first, as they would be when saved to PNG, so real and generated images take the same path.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_WEIGHTS_FILE}"
INCEPTION_WEIGHTS_ENV_VAR = "ADVLAB_INCEPTION_WEIGHTS"
KID_SUBSETS = 50
KID_SUBSET_SIZE = 1000


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Quantise images in [-1, 1] to uint8 0..255 (round to nearest, as saving a PNG does)."""
    return images.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


class _PrecomputedFeatures(nn.Module):
    """Identity "feature extractor", so the metrics receive features that were extracted once for both."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class FeatureSpaceMetrics:
    """Frechet distance and KID against a fixed set of real images, in one feature space.

    The real images' features are extracted once; `compute(fake)` then costs one pass over the fake
    images. `feature_extractor` maps uint8 (B, 3, S, S) to float (B, D) and has `num_features`. Each
    image goes through the extractor once, and both metrics receive its features.
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        real_images: torch.Tensor,
        *,
        device: torch.device = torch.device("cpu"),
        batch_size: int = 500,
        kid_subsets: int = KID_SUBSETS,
        kid_subset_size: int = KID_SUBSET_SIZE,
    ):
        self.feature_extractor = feature_extractor.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.num_real = len(real_images)
        self.kid_subset_size = kid_subset_size
        features = _PrecomputedFeatures(int(feature_extractor.num_features))
        # sync_on_compute=False: under torchrun only rank 0 evaluates, and a synchronising compute()
        # would wait forever for the other ranks to join its all_gather.
        self.frechet = FrechetInceptionDistance(feature=features, reset_real_features=False, sync_on_compute=False).to(device)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")  # a few MB here
            self.kid = KernelInceptionDistance(
                feature=features,
                subsets=kid_subsets,
                subset_size=max(2, min(kid_subset_size, self.num_real)),
                reset_real_features=False,
                sync_on_compute=False,
            ).to(device)
        real_features = self.extract(real_images)
        self.frechet.update(real_features, real=True)
        self.kid.update(real_features, real=True)

    @torch.no_grad()
    def extract(self, images: torch.Tensor) -> torch.Tensor:
        """Features (N, D) of uint8 images, or of float images in [-1, 1] after quantising them to uint8."""
        if images.dtype != torch.uint8:
            images = to_uint8(images)
        return torch.cat([self.feature_extractor(chunk.to(self.device)).float() for chunk in images.split(self.batch_size)])

    @torch.no_grad()
    def compute(self, fake_images: torch.Tensor) -> dict[str, float]:
        """Return {"fd": Frechet distance, "kid": KID mean, "kid_std": KID standard deviation over subsets}.

        `fake_images` are uint8, or float in [-1, 1]. The KID subsets are drawn under a forked RNG
        with a fixed seed, so evaluating does not change a training run's random numbers.
        """
        fake_features = self.extract(fake_images)
        self.frechet.reset()
        self.kid.reset()
        self.frechet.update(fake_features, real=False)
        self.kid.update(fake_features, real=False)
        self.kid.subset_size = max(2, min(self.kid_subset_size, self.num_real, len(fake_images)))
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(0)
            kid_mean, kid_std = self.kid.compute()
        return {"fd": float(self.frechet.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}


def inception_weights_path(explicit: str | Path | None = None) -> Path | None:
    """Return the Inception-v3 FID weights file if it is on disk, else None; never downloads.

    Looks at `explicit`, then `$ADVLAB_INCEPTION_WEIGHTS`, then torch's hub cache
    (`torch.hub.get_dir()/checkpoints/`), where torch-fidelity stores the file after a download.
    """
    if explicit is not None:
        path = Path(explicit).expanduser()
        return path if path.is_file() else None
    if os.environ.get(INCEPTION_WEIGHTS_ENV_VAR):
        path = Path(os.environ[INCEPTION_WEIGHTS_ENV_VAR]).expanduser()
        return path if path.is_file() else None
    path = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE
    return path if path.is_file() else None


def inception_missing_notice(explicit: str | Path | None = None) -> str:
    """Return one line saying that the Inception metrics were skipped and how to provide the weights."""
    where = f"{explicit} does not exist" if explicit else f"{INCEPTION_WEIGHTS_FILE} is not in {Path(torch.hub.get_dir()) / 'checkpoints'}"
    return (
        f"Inception FID/KID skipped: {where}; to enable them, download {INCEPTION_WEIGHTS_URL} "
        f"on a connected machine and pass --inception-weights PATH (or set {INCEPTION_WEIGHTS_ENV_VAR})"
    )


def inception_metrics(
    real_images: torch.Tensor, fake_images: torch.Tensor, weights_path: Path, *, device: torch.device = torch.device("cpu")
) -> dict[str, float]:
    """Standard Inception-v3 FID and KID (torch-fidelity's port of the TF Inception) from a local weights file."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    inception = NoTrainInceptionV3(
        name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(weights_path)
    )
    inception.num_features = 2048
    metrics = FeatureSpaceMetrics(inception, real_images, device=device, batch_size=100)
    values = metrics.compute(fake_images)
    return {"inception_fid": values["fd"], "inception_kid": values["kid"], "inception_kid_std": values["kid_std"]}
