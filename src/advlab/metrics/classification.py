"""Classification metrics for digit models: accuracy, per-class accuracy and the confusion matrix."""

from __future__ import annotations

import torch
from torch import nn

from advlab.data import DigitSet, normalize
from advlab.training.runtime import autocast


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, *, device: torch.device, amp_dtype: torch.dtype | None = None, batch_size: int = 1000) -> torch.Tensor:
    """Logits (N, C) in fp32 on the CPU for uint8 images (N, 3, H, W), in eval mode."""
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        x = normalize(images[start : start + batch_size].to(device)).contiguous(memory_format=torch.channels_last)
        with autocast(device, amp_dtype):
            outputs.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, 10)


@torch.no_grad()
def extract_features(model: nn.Module, images: torch.Tensor, *, device: torch.device, amp_dtype: torch.dtype | None = None, batch_size: int = 1000) -> torch.Tensor:
    """Feature-extractor outputs (N, D) in fp32 on the CPU, in eval mode (for t-SNE)."""
    return predict_logits(model.feature_extractor, images, device=device, amp_dtype=amp_dtype, batch_size=batch_size)


def accuracy_on(model: nn.Module, dataset: DigitSet, *, device: torch.device, amp_dtype: torch.dtype | None = None, batch_size: int = 1000) -> float:
    predictions = predict_logits(model, dataset.images, device=device, amp_dtype=amp_dtype, batch_size=batch_size).argmax(1)
    return float((predictions == dataset.labels).float().mean())


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """Counts (C, C): row = true class, column = predicted class."""
    index = labels.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """Recall of each class; NaN for a class with no samples."""
    totals = confusion.sum(1).double()
    return confusion.diag().double() / totals.where(totals > 0, torch.tensor(float("nan"), dtype=torch.float64))
