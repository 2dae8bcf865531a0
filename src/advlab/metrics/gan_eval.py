"""Scoring a generator offline: feature-space Frechet distance and KID, attribute control and pair metrics.

For an ACGAN generator two more numbers measure whether the condition works:

- control_accuracy: the share of generated images that the feature classifier reads as having the
  requested class, or the requested value of the conditioning attribute.
- pair metrics, for a binary attribute, on pairs that share their noise and set the attribute off
  and on. `pair_flip_rate` is the share of pairs read as off, then on. `pair_other_attribute_change`
  is the mean absolute change of the classifier's probabilities for every other attribute, 0 when
  nothing but the attribute changes. `pair_pixel_l1` is the mean absolute pixel difference (0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advlab.metrics.feature_classifier import (
    ClassifierFeatureExtractor,
    ClassifierOptions,
    FeatureClassifier,
    load_or_train_classifier,
    predict_labels,
    predict_probabilities,
)
from advlab.metrics.frechet import FeatureSpaceMetrics
from advlab.models.gan import Conditioning, generate_images


@dataclass
class GANEvaluator:
    """Feature classifier, real-image statistics and conditioning of one dataset.

    attribute_index: column of the conditioning attribute among the classifier's attribute outputs
    (binary conditioning only).
    """

    classifier: FeatureClassifier
    metrics: FeatureSpaceMetrics
    conditioning: Conditioning
    attribute_index: int | None
    classifier_info: dict
    device: torch.device

    @torch.no_grad()
    def evaluate(self, generator: nn.Module, *, num_samples: int, noise_dim: int, seed: int = 0, num_pairs: int = 500) -> dict[str, float]:
        """Score `generator` (used in its current mode) on `num_samples` images from noise seeded by `seed`."""
        noise_rng = torch.Generator(device=self.device).manual_seed(seed)
        noise = torch.randn(num_samples, noise_dim, device=self.device, generator=noise_rng)
        labels = self.requested_labels(num_samples)
        images = generate_images(generator, noise, labels, self.conditioning)  # (N, 3, S, S) in [-1, 1]

        results = self.metrics.compute(images)
        if labels is not None:
            results["control_accuracy"] = self._control_accuracy(images, labels)
        if self.conditioning.kind == "binary" and self.attribute_index is not None:
            results.update(self._pair_metrics(generator, noise[:num_pairs]))
        return results

    def requested_labels(self, count: int) -> torch.Tensor | None:
        """Labels that cycle through every class or attribute value, so each is requested equally often."""
        if self.conditioning.kind == "none":
            return None
        return torch.arange(count, device=self.device) % self.conditioning.num_values

    def read_labels(self, images: torch.Tensor) -> torch.Tensor:
        """Classify images: the class (N,), or the 0/1 reading of the conditioning attribute (N,), on the CPU."""
        readings = []
        for chunk in images.split(500):
            predictions = predict_labels(self.classifier, chunk.to(self.device))
            if self.conditioning.kind == "binary":
                predictions = predictions[:, self.attribute_index]
            readings.append(predictions.cpu())
        return torch.cat(readings)

    def _control_accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        if self.conditioning.kind == "binary" and self.attribute_index is None:
            return float("nan")  # the classifier was trained on classes, not on this attribute
        return (self.read_labels(images) == labels.cpu()).float().mean().item()

    def _pair_metrics(self, generator: nn.Module, noise: torch.Tensor) -> dict[str, float]:
        count = len(noise)
        off = generate_images(generator, noise, torch.zeros(count, dtype=torch.long, device=self.device), self.conditioning)
        on = generate_images(generator, noise, torch.ones(count, dtype=torch.long, device=self.device), self.conditioning)
        probabilities_off = predict_probabilities(self.classifier, off.to(self.device)).cpu()  # (P, A)
        probabilities_on = predict_probabilities(self.classifier, on.to(self.device)).cpu()
        others = [index for index in range(probabilities_off.shape[1]) if index != self.attribute_index]
        reading_off = probabilities_off[:, self.attribute_index] > 0.5
        reading_on = probabilities_on[:, self.attribute_index] > 0.5
        results = {
            "pair_flip_rate": (~reading_off & reading_on).float().mean().item(),
            "pair_pixel_l1": (on - off).abs().mean().item() / 2.0,  # [-1, 1] -> 0..1 scale
        }
        if others:
            change = (probabilities_on[:, others] - probabilities_off[:, others]).abs().mean()
            results["pair_other_attribute_change"] = change.item()
        return results


def build_gan_evaluator(
    name: str,
    images: torch.Tensor,
    classifier_labels: torch.Tensor,
    conditioning: Conditioning,
    *,
    attribute_index: int | None,
    device: torch.device,
    classifier_options: ClassifierOptions = ClassifierOptions(),
    max_real: int = 10_000,
) -> GANEvaluator:
    """Load or train the feature classifier of (images, labels) and extract the real features.

    images: uint8 (N, 3, S, S) real training images; classifier_labels: classes (N,) or 0/1
    attributes (N, A). At most `max_real` images (the first ones) enter the real statistics.
    """
    classifier, info = load_or_train_classifier(name, images, classifier_labels, options=classifier_options, device=device)
    metrics = FeatureSpaceMetrics(ClassifierFeatureExtractor(classifier), images[:max_real], device=device)
    return GANEvaluator(classifier, metrics, conditioning, attribute_index, info, device)
