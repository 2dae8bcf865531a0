"""Training-curve figures read from metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

from advlab.runs import read_metrics


def plot_uda_curves(labelled_runs: list[tuple[str, Path]], out_path: Path, *, title: str) -> Path | None:
    """Plot classification and transfer losses of several runs side by side; None if no run logged any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    drawn = False
    for label, run_dir in labelled_runs:
        records = [r for r in read_metrics(run_dir) if "loss_cls" in r]
        if not records:
            continue
        steps = [r["step"] for r in records]
        left.plot(steps, [r["loss_cls"] for r in records], label=label)
        for key in ("loss_domain", "loss_mmd"):
            if key in records[0]:
                right.plot(steps, [r[key] for r in records], label=f"{label}: {key}")
        drawn = True
    if not drawn:
        plt.close(figure)
        return None
    left.set_title("classification loss (labelled batch)", fontsize=9)
    right.set_title("transfer loss (DANN domain CE, DAN MK-MMD)", fontsize=9)
    for axes in (left, right):
        axes.set_xlabel("step")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7)
        axes.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_path)
    plt.close(figure)
    return out_path
