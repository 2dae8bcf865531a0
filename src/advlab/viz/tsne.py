"""t-SNE of learned features, drawn coloured by class and by domain on the same axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def embed_tsne(features: np.ndarray, *, seed: int = 0, perplexity: float = 30.0, n_jobs: int = -1, pca_dims: int = 50) -> np.ndarray:
    """2-D embedding (N, 2) of `features` (N, D) with openTSNE's FFT-accelerated t-SNE (PCA initialisation).

    Features wider than `pca_dims` are first projected onto their top `pca_dims` principal
    components, the usual t-SNE preprocessing: the nearest-neighbour search behind the affinities
    then runs in 50 dimensions instead of thousands, and neighbourhoods barely change.
    """
    from openTSNE import TSNE

    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.shape[1] > pca_dims and len(features) > pca_dims:
        from sklearn.decomposition import PCA

        features = PCA(n_components=pca_dims, random_state=seed).fit_transform(features).astype(np.float32)
    perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, initialization="pca", random_state=seed, n_jobs=n_jobs, verbose=False)
    return np.asarray(tsne.fit(features))


def plot_tsne_pair(
    embedding: np.ndarray,
    labels: np.ndarray,
    is_target: np.ndarray,
    out_dir: Path,
    *,
    title: str,
    domain_names: tuple[str, str] = ("source", "target"),
    prefix: str = "tsne",
) -> tuple[Path, Path]:
    """Write `<prefix>_class.png` and `<prefix>_domain.png`: the same points and axes, two colourings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    pad = 0.05 * (embedding.max(0) - embedding.min(0))
    limits = (embedding.min(0) - pad, embedding.max(0) + pad)
    # Draw in a fixed random order so neither domain is always painted over the other.
    order = np.random.default_rng(0).permutation(len(embedding))
    points = embedding[order]

    paths = []
    for colouring in ("class", "domain"):
        figure, axes = plt.subplots(figsize=(6, 6), dpi=110)
        if colouring == "class":
            cmap = plt.get_cmap("tab10")
            axes.scatter(points[:, 0], points[:, 1], c=cmap(labels[order] % 10), s=4, alpha=0.8, linewidths=0)
            handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(k), label=str(k)) for k in range(10)]
            axes.legend(handles=handles, title="digit", loc="upper right", fontsize=7, markerscale=0.8, ncols=2)
        else:
            colours = np.where(is_target[order][:, None], np.array([[0.84, 0.15, 0.16, 1.0]]), np.array([[0.12, 0.47, 0.71, 1.0]]))
            axes.scatter(points[:, 0], points[:, 1], c=colours, s=4, alpha=0.6, linewidths=0)
            handles = [
                plt.Line2D([], [], marker="o", ls="", color=(0.12, 0.47, 0.71), label=f"source: {domain_names[0]}"),
                plt.Line2D([], [], marker="o", ls="", color=(0.84, 0.15, 0.16), label=f"target: {domain_names[1]}"),
            ]
            axes.legend(handles=handles, loc="upper right", fontsize=7)
        axes.set_xlim(limits[0][0], limits[1][0])
        axes.set_ylim(limits[0][1], limits[1][1])
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(f"{title}\ncoloured by {colouring}", fontsize=9)
        figure.tight_layout()
        path = out_dir / f"{prefix}_{colouring}.png"
        figure.savefig(path)
        plt.close(figure)
        paths.append(path)
    return paths[0], paths[1]
