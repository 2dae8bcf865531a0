"""Analyses of trained domain adaptation runs: evaluation, prediction on image folders, t-SNE."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from advlab import runs
from advlab.data import load_domain, load_image_folder
from advlab.errors import UserError
from advlab.metrics.classification import confusion_matrix, extract_features, per_class_accuracy, predict_logits
from advlab.training.runtime import resolve_device, resolve_precision
from advlab.training.uda import load_trained_model


def evaluate_uda_run(run_dir: Path, domains: list[str] | None = None, *, split: str = "test", data_root: str | None = None) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion matrix of a run's model on each domain's split.

    Writes `eval.json` in the run folder (merged with earlier evaluations) and returns the new entries.
    """
    model, config, state = load_trained_model(run_dir)
    device = resolve_device(config.device if config.device != "auto" else "auto")
    amp_dtype = resolve_precision(config.precision, device)
    model.to(device, memory_format=torch.channels_last)
    root = data_root or config.data_root
    results: dict[str, Any] = {}
    for domain in domains or [config.source, config.target]:
        dataset = load_domain(domain, split, data_root=root, image_size=config.image_size, seed=config.data_seed)
        predictions = predict_logits(model, dataset.images, device=device, amp_dtype=amp_dtype).argmax(1)
        confusion = confusion_matrix(dataset.labels, predictions)
        role = "other"
        if domain == config.source:
            role = "source"
        elif domain == config.target:
            role = "target"
        results[f"{domain}/{split}"] = {
            "domain": domain,
            "role": role,
            "split": split,
            "step": int(state["step"]),
            "num_images": len(dataset),
            "accuracy": float(confusion.diag().sum() / confusion.sum()),
            "per_class_accuracy": [None if np.isnan(v) else round(v, 4) for v in per_class_accuracy(confusion).tolist()],
            "confusion_matrix": confusion.tolist(),
        }
    path = run_dir / "eval.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    existing.update(results)
    runs.atomic_write_text(path, json.dumps(existing, indent=2) + "\n")
    return results


def format_evaluation(entry: dict[str, Any]) -> str:
    """Plain-text block: accuracy, per-class accuracy and the confusion matrix (rows true, columns predicted)."""
    lines = [f"{entry['domain']} ({entry['role']}, {entry['split']}, {entry['num_images']} images): accuracy {entry['accuracy']:.4f}"]
    lines.append("per-class accuracy: " + "  ".join(f"{k}:{'n/a' if v is None else f'{v:.3f}'}" for k, v in enumerate(entry["per_class_accuracy"])))
    lines.append("confusion matrix (rows: true digit, columns: predicted digit)")
    lines.append("     " + "".join(f"{k:>6d}" for k in range(10)))
    for k, row in enumerate(entry["confusion_matrix"]):
        lines.append(f"{k:>5d}" + "".join(f"{v:>6d}" for v in row))
    return "\n".join(lines)


def find_uda_runs(folder: Path) -> list[Path]:
    """Run folders (with config.yaml of kind uda) at or directly below `folder`, sorted by name."""
    candidates = [folder] + sorted(path for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []
    found = []
    for path in candidates:
        if (path / runs.CONFIG_FILE).is_file():
            if runs.read_run_config(path).get("kind") == "uda":
                found.append(path)
    return found


def pick_run(folder: Path, target: str | None = None, method: str | None = None) -> Path:
    """Find the one UDA run in `folder` (a run folder or a folder of runs) that matches --target and --method."""
    if not folder.is_dir():
        raise UserError(f"run folder {folder} not found: give a folder that 'advlab train uda' or 'advlab demo' wrote")
    found = find_uda_runs(folder)
    if not found:
        raise UserError(f"no domain adaptation run in {folder}: give a run folder or a folder of runs")
    matches = []
    for path in found:
        config = runs.read_run_config(path)
        if target is not None and config.get("target") != target:
            continue
        if method is not None and config.get("method") != method:
            continue
        matches.append(path)
    if not matches:
        raise UserError(f"no run in {folder} has target {target!r}{f' and method {method!r}' if method else ''}: check --target/--method")
    if len(matches) > 1:
        names = ", ".join(path.name for path in matches[:6])
        raise UserError(f"{len(matches)} runs in {folder} match ({names}): narrow the choice with --target and --method, or give one run folder")
    return matches[0]


def predict_folder(run_dir: Path, images_dir: Path, out_csv: Path) -> int:
    """Write `image_name,label` for every image in `images_dir`, sorted by name; return the row count."""
    model, config, _ = load_trained_model(run_dir)
    device = resolve_device("auto" if config.device == "auto" else config.device)
    model.to(device, memory_format=torch.channels_last)
    names, images = load_image_folder(images_dir, image_size=config.image_size)
    labels = predict_logits(model, images, device=device, amp_dtype=resolve_precision(config.precision, device)).argmax(1)
    rows = sorted(zip(names, labels.tolist()))
    text = "image_name,label\n" + "".join(f"{name},{label}\n" for name, label in rows)
    out_csv = Path(out_csv)
    if out_csv.is_dir():
        raise UserError(f"--out {out_csv} is a folder: give a CSV file path")
    runs.atomic_write_text(out_csv, text)
    return len(rows)


def read_label_csv(path: Path, *, role: str) -> dict[str, int]:
    """Read an `image_name,label` CSV into a mapping, rejecting malformed rows with their line number."""
    if not path.is_file():
        raise UserError(f"{role} CSV {path} not found")
    with open(path, newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise UserError(f"{role} CSV {path} is empty: write the header 'image_name,label' and one row per image")
        if [h.strip() for h in header[:2]] != ["image_name", "label"]:
            raise UserError(f"{role} CSV {path} must start with the header 'image_name,label', found {header}")
        labels: dict[str, int] = {}
        for number, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise UserError(f"{path} line {number}: expected 'image_name,label', found {row}")
            name, raw = row[0].strip(), row[1].strip()
            try:
                label = int(raw)
            except ValueError:
                raise UserError(f"{path} line {number}: label {raw!r} is not an integer 0-9") from None
            if not 0 <= label <= 9:
                raise UserError(f"{path} line {number}: label {label} is outside 0-9")
            if name in labels:
                raise UserError(f"{path} line {number}: image {name!r} appears twice")
            labels[name] = label
    if not labels:
        raise UserError(f"{role} CSV {path} has no rows")
    return labels


def score_predictions(pred_csv: Path, truth_csv: Path) -> tuple[float, int, int]:
    """Accuracy of predictions against ground truth over the ground truth's images: (accuracy, correct, total)."""
    predictions = read_label_csv(pred_csv, role="prediction")
    truth = read_label_csv(truth_csv, role="ground-truth")
    missing = [name for name in truth if name not in predictions]
    if missing:
        raise UserError(f"{pred_csv} has no prediction for {len(missing)} ground-truth image(s), e.g. {missing[0]!r}: predict every image")
    correct = sum(predictions[name] == label for name, label in truth.items())
    return correct / len(truth), correct, len(truth)


def tsne_run(run_dir: Path, *, per_domain: int = 1000, seed: int = 0, data_root: str | None = None) -> tuple[Path, Path]:
    """Embed source and target test features of a run with t-SNE and draw both colourings."""
    model, config, _ = load_trained_model(run_dir)
    device = resolve_device("auto" if config.device == "auto" else config.device)
    model.to(device, memory_format=torch.channels_last)
    amp_dtype = resolve_precision(config.precision, device)
    root = data_root or config.data_root
    generator = torch.Generator().manual_seed(seed)
    features, labels, is_target = [], [], []
    for flag, domain in ((False, config.source), (True, config.target)):
        dataset = load_domain(domain, "test", data_root=root, image_size=config.image_size, seed=config.data_seed)
        index = torch.randperm(len(dataset), generator=generator)[:per_domain]
        features.append(extract_features(model, dataset.images[index], device=device, amp_dtype=amp_dtype).numpy())
        labels.append(dataset.labels[index].numpy())
        is_target.append(np.full(len(index), flag))
    from advlab.viz.tsne import embed_tsne, plot_tsne_pair

    all_features = np.concatenate(features)
    embedding = embed_tsne(all_features, seed=seed)
    np.savez_compressed(run_dir / "tsne.npz", embedding=embedding, labels=np.concatenate(labels), is_target=np.concatenate(is_target))
    title = f"{config.method}: {config.source} -> {config.target} (test features, {all_features.shape[1]}-d)"
    return plot_tsne_pair(embedding, np.concatenate(labels), np.concatenate(is_target), run_dir, title=title, domain_names=(config.source, config.target))
