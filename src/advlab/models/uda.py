"""Reference digit networks for unsupervised domain adaptation (model name `seed`).

Both take 28x28x3 images normalised to [-1, 1]. Classifiers return logits; the losses apply
softmax themselves.
"""

from __future__ import annotations

import torch
from torch import nn


class DANNFeatureExtractor(nn.Module):
    """Convolutional encoder of the DANN digit network (Ganin et al., JMLR 2016, MNIST->MNIST-M).

    Two 5x5 convolutions with "same" padding map (B, 3, 28, 28) to (B, 50, 7, 7), flattened to 2,450.
    """

    out_features = 50 * 7 * 7

    def __init__(self, *, dropout: float = 0.5):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 70, kernel_size=5, padding=2),
            nn.BatchNorm2d(70),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(70, 50, kernel_size=5, padding=2),
            nn.BatchNorm2d(50),
            nn.Dropout2d(dropout),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)  # (B, 50, 7, 7) -> (B, 2450)


class DANNLabelClassifier(nn.Module):
    """Label predictor 2450 -> 100 -> 100 -> 10 with BatchNorm, ReLU and dropout after the first layer."""

    def __init__(self, in_features: int = DANNFeatureExtractor.out_features, num_classes: int = 10, *, dropout: float = 0.5):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, 100),
            nn.BatchNorm1d(100),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(100, 100),
            nn.BatchNorm1d(100),
            nn.ReLU(inplace=True),
            nn.Linear(100, num_classes),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


class DANNDomainDiscriminator(nn.Module):
    """Domain classifier 2450 -> 100 -> 2; logit 0 is source, logit 1 is target."""

    def __init__(self, in_features: int = DANNFeatureExtractor.out_features):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, 100),
            nn.BatchNorm1d(100),
            nn.ReLU(inplace=True),
            nn.Linear(100, 2),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


class DANFeatureExtractor(nn.Module):
    """Encoder of the DAN digit network: two 5x5 convolutions (no padding) and a 160 -> 100 -> 100 bottleneck.

    (B, 3, 28, 28) -> (B, 10, 4, 4) -> 160 -> 100 -> 100. The 100-d output is the layer whose
    distribution MK-MMD aligns (Long et al., ICML 2015, adapt the last hidden layers).
    """

    out_features = 100

    def __init__(self, *, dropout: float = 0.5):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=5),
            nn.BatchNorm2d(64),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 10, kernel_size=5),
            nn.BatchNorm2d(10),
            nn.Dropout2d(dropout),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
        )
        self.bottleneck = nn.Sequential(
            nn.Linear(10 * 4 * 4, 100),
            nn.BatchNorm1d(100),
            nn.ReLU(inplace=True),
            nn.Linear(100, 100),
            nn.BatchNorm1d(100),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottleneck(self.conv(x).flatten(1))  # (B, 10, 4, 4) -> (B, 160) -> (B, 100)


class DigitClassifierNet(nn.Module):
    """Feature extractor plus label classifier, with an optional domain discriminator (for DANN)."""

    def __init__(self, feature_extractor: nn.Module, classifier: nn.Module, domain_discriminator: nn.Module | None = None):
        super().__init__()
        self.feature_extractor = feature_extractor
        self.classifier = classifier
        self.domain_discriminator = domain_discriminator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.feature_extractor(x))


def build_uda_model(model: str, method: str, *, num_classes: int = 10, dropout: float = 0.5) -> DigitClassifierNet:
    """Build the network for `method`: DAN's network for `dan`, DANN's network for every other method.

    The source-only and target-only bounds use DANN's feature extractor and classifier, as the DANN
    paper's table does, so that the gap they bracket is the adaptation alone.
    """
    if model != "seed":
        raise ValueError(f"unknown model {model!r}")
    if method == "dan":
        return DigitClassifierNet(DANFeatureExtractor(dropout=dropout), nn.Linear(DANFeatureExtractor.out_features, num_classes))
    feature_extractor = DANNFeatureExtractor(dropout=dropout)
    classifier = DANNLabelClassifier(num_classes=num_classes, dropout=dropout)
    discriminator = DANNDomainDiscriminator() if method == "dann" else None
    return DigitClassifierNet(feature_extractor, classifier, discriminator)


UDA_MODELS = ("seed",)
