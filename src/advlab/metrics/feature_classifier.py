"""A classifier trained on the real training images, used as the feature space of offline FID and KID.

The Inception network behind the standard FID needs a weights file that advlab may not download, and
its ImageNet features describe 32x32 digits poorly. So advlab trains a small CNN on the same real
images the GAN learns from and measures generated images in its pooled features:

- digits (class labels): a 10-way classifier trained with cross-entropy.
- faces (attribute labels): a multi-attribute classifier, one BCE-with-logits output per attribute.

Its heads also read the class or attribute of generated images, for the attribute control accuracy.
Trained weights are cached under `$ADVLAB_CACHE/feature-classifiers/` with a key that hashes the
training images, their labels and every classifier option, so new data or new options train a new
classifier instead of reusing a stale one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from advlab.data.cache import cache_dir, load_or_build
from advlab.data.transforms import normalize

logger = logging.getLogger(__name__)

CLASSIFIER_VERSION = 1


@dataclass(frozen=True)
class ClassifierOptions:
    """Architecture and training schedule of the feature classifier."""

    width: int = 16  # channels of the first conv block, doubled at each of the later blocks
    steps: int = 1000  # Adam steps
    batch_size: int = 32
    lr: float = 2e-3
    holdout_fraction: float = 0.1  # share of the images kept out of training to report accuracy
    seed: int = 0


class FeatureClassifier(nn.Module):
    """CNN: uint8 or [-1, 1] float images (B, 3, S, S) -> logits; `features` gives pooled features (B, D).

    Four conv blocks (3x3 conv, BatchNorm, ReLU, 2x2 max-pool) for 64x64 images and three for 32x32,
    then global average pooling, like the pool3 features of Inception-v3.
    """

    def __init__(self, *, image_size: int, num_outputs: int, multi_label: bool, width: int = 16):
        super().__init__()
        num_blocks = 4 if image_size >= 64 else 3
        channels = [3] + [width * 2**level for level in range(num_blocks)]
        blocks: list[nn.Module] = []
        for in_channels, out_channels in zip(channels[:-1], channels[1:]):
            blocks += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.blocks = nn.Sequential(*blocks)
        self.num_features = channels[-1]
        self.head = nn.Linear(self.num_features, num_outputs)
        self.multi_label = multi_label

    def features(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype == torch.uint8:
            images = normalize(images)
        return self.blocks(images).mean(dim=(2, 3))  # (B, D, s, s) -> (B, D), D = 4w at 32x32, 8w at 64x64

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class ClassifierFeatureExtractor(nn.Module):
    """Feature extractor for torchmetrics' FID and KID: uint8 images (B, 3, S, S) -> float32 features (B, D)."""

    def __init__(self, classifier: FeatureClassifier):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features

    def train(self, mode: bool = True) -> ClassifierFeatureExtractor:
        return super().train(False)  # BatchNorm must keep its running statistics

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images).float()


def data_fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    """SHA-256 of the uint8 images, the labels and their shapes."""
    digest = hashlib.sha256()
    for tensor in (images, labels):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(str((tuple(tensor.shape), str(tensor.dtype))).encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def classifier_cache_path(name: str, images: torch.Tensor, labels: torch.Tensor, options: ClassifierOptions) -> Path:
    key = json.dumps(
        {"version": CLASSIFIER_VERSION, "data": data_fingerprint(images, labels), "options": asdict(options)},
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / "feature-classifiers" / f"{name}-{digest}.pt"


def load_or_train_classifier(
    name: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    options: ClassifierOptions = ClassifierOptions(),
    device: torch.device = torch.device("cpu"),
) -> tuple[FeatureClassifier, dict]:
    """Return the classifier for (images, labels) from the cache, training it first if needed.

    images: uint8 (N, 3, S, S). labels: int64 (N,) classes, or 0/1 (N, A) attributes (multi-label).
    Returns the classifier in eval mode on `device` and its record (options, held-out accuracy).
    """
    path = classifier_cache_path(name, images, labels, options)
    multi_label = labels.dim() == 2
    num_outputs = labels.shape[1] if multi_label else int(labels.max()) + 1
    image_size = images.shape[-1]

    def build() -> dict:
        logger.info("training the %s feature classifier on %d real images (cached at %s)", name, len(images), path)
        # A forked RNG with its own seed: whether the classifier was cached or trained must not change
        # the random numbers of the GAN run that asked for it.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(options.seed)
            classifier = FeatureClassifier(image_size=image_size, num_outputs=num_outputs, multi_label=multi_label, width=options.width)
            accuracy = _train_classifier(classifier, images, labels, options, device)
        logger.info("%s feature classifier: held-out accuracy %.3f", name, accuracy)
        state = {key: value.cpu() for key, value in classifier.state_dict().items()}
        return {"state_dict": state, "holdout_accuracy": accuracy, "num_outputs": num_outputs, "multi_label": multi_label}

    record = load_or_build(path, build)
    with torch.random.fork_rng(devices=[]):  # the layers' initialisation, overwritten below, draws random numbers
        classifier = FeatureClassifier(image_size=image_size, num_outputs=record["num_outputs"], multi_label=record["multi_label"], width=options.width)
        classifier.load_state_dict(record["state_dict"])
    info = {"cache_file": str(path), "holdout_accuracy": record["holdout_accuracy"], **asdict(options)}
    return classifier.to(device).eval(), info


def _train_classifier(
    classifier: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor, options: ClassifierOptions, device: torch.device
) -> float:
    """Train with Adam on all but a held-out share of the images; return the held-out accuracy."""
    order = torch.randperm(len(images))
    num_holdout = max(1, int(len(images) * options.holdout_fraction))
    holdout, train = order[:num_holdout], order[num_holdout:]
    classifier.to(device).train()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=options.lr)
    images_device, labels_device = images.to(device), labels.to(device)
    for _ in range(options.steps):
        batch = train[torch.randint(len(train), (options.batch_size,))].to(device)
        logits = classifier(images_device[batch])
        loss = _classifier_loss(classifier, logits, labels_device[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    classifier.eval()
    correct = 0.0
    with torch.no_grad():
        for chunk in holdout.to(device).split(1024):
            matches = predict_labels(classifier, images_device[chunk]) == labels_device[chunk]  # (b,) or (b, A)
            correct += matches.float().reshape(len(chunk), -1).mean(dim=1).sum().item()
    return correct / num_holdout  # multi-label: the mean over attributes of each image's accuracy


def _classifier_loss(classifier: FeatureClassifier, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if classifier.multi_label:
        return F.binary_cross_entropy_with_logits(logits, labels.float())
    return F.cross_entropy(logits, labels)


@torch.no_grad()
def predict_labels(classifier: FeatureClassifier, images: torch.Tensor) -> torch.Tensor:
    """Class indices (B,), or 0/1 attributes (B, A) for a multi-label classifier."""
    logits = classifier(images)
    if classifier.multi_label:
        return (logits > 0).long()
    return logits.argmax(dim=1)


@torch.no_grad()
def predict_probabilities(classifier: FeatureClassifier, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities (B, K) (softmax), or per-attribute probabilities (B, A) (sigmoid)."""
    logits = classifier(images)
    return torch.sigmoid(logits) if classifier.multi_label else logits.softmax(dim=1)
