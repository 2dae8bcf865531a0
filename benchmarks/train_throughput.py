"""Training throughput of advlab against a plain reference loop, the achieved FLOP rate and t-SNE speed.

    python -m benchmarks.train_throughput [--rounds 5] [--steps 10] [--skip-gan] [--skip-tsne]

The reference loops are written the way popular tutorial scripts write them: fp32, the default
memory format and a DataLoader that decodes PNG files with PIL on every step. They run the same
networks, batch sizes and semantics (separate source and target passes for DANN, five critic steps
per generator step for WGAN-GP). Both sides run alternately in one process, `--rounds` times
`--steps` steps each, and the median rate of each side is reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import (
    PNGDataset,
    count_flops,
    endless,
    machine_description,
    matmul_flops_per_second,
    synchronize,
    throughput_summary,
    write_png_folder,
)


def alternate(reference_window, advlab_window, *, rounds: int) -> tuple[float, float]:
    """Median samples per second of each side over `rounds` alternating windows."""
    reference_rates, advlab_rates = [], []
    for _ in range(rounds):
        reference_rates.append(reference_window())
        advlab_rates.append(advlab_window())
    return statistics.median(reference_rates), statistics.median(advlab_rates)


def bench_dann(args, device: torch.device, bf16_rate: float, workdir: Path) -> dict[str, float]:
    from advlab.config import build_config
    from advlab.methods.uda import Batch, dann_loss
    from advlab.models.uda import build_uda_model
    from advlab.training.uda import UDATrainer, load_uda_data
    from advlab.training.uda_config import UDAConfig

    batch = 128
    config = build_config(UDAConfig, {"source": "mnist-5k", "target": "mnistm-lite", "method": "dann", "batch_size": batch, "steps": 10**6, "device": str(device)})
    data = load_uda_data(config)
    trainer = UDATrainer(config, None, data=data)

    # reference: PNG files, PIL decoding, fp32, default memory format
    loaders = []
    for name, split in (("source", data.source_train), ("target", data.target_train)):
        items = write_png_folder(split.images, split.labels, workdir / name)
        loader = torch.utils.data.DataLoader(PNGDataset(items), batch_size=batch, shuffle=True, drop_last=True, num_workers=args.workers)
        loaders.append(endless(loader))
    torch.manual_seed(0)
    reference_model = build_uda_model("seed", "dann").to(device)
    reference_optimizer = torch.optim.Adam(reference_model.parameters(), lr=1e-3)

    def reference_step(step: int = 0):
        (x_s, y_s), (x_t, _) = next(loaders[0]), next(loaders[1])
        x_s, y_s, x_t = x_s.to(device), y_s.to(device), x_t.to(device)
        losses = dann_loss(reference_model, Batch(x_s, y_s, x_t), step / 1000, 1.0)
        reference_optimizer.zero_grad()
        losses.total.backward()
        reference_optimizer.step()
        return losses.total.item()

    def window(step_fn):
        step_fn()  # warm-up of this window
        synchronize(device)
        started = time.perf_counter()
        for _ in range(args.steps):
            loss = step_fn()
        float(loss["loss"]) if isinstance(loss, dict) else loss
        synchronize(device)
        return 2 * batch * args.steps / (time.perf_counter() - started)

    for _ in range(3):
        reference_step()
        trainer.train_step()
    reference_rate, advlab_rate = alternate(lambda: window(reference_step), lambda: window(trainer.train_step), rounds=args.rounds)

    flops = count_flops(trainer.train_step)
    return throughput_summary(reference_rate, advlab_rate, flops_per_step=flops, images_per_step=2 * batch, bf16_rate=bf16_rate)


def bench_tsne(points: int = 10_000, dims: int = 2450, seed: int = 0) -> dict[str, float]:
    """advlab's openTSNE embedding against scikit-learn's TSNE on DANN features of real digits."""
    import numpy as np
    from sklearn.manifold import TSNE, trustworthiness

    from advlab.data import load_domain, normalize
    from advlab.models.uda import build_uda_model
    from advlab.viz.tsne import embed_tsne

    images = torch.cat([load_domain("syndigits", "train").images[: points - 4000], load_domain("mnistm-lite", "train").images[:4000]])
    torch.manual_seed(seed)
    model = build_uda_model("seed", "dann").eval()
    with torch.no_grad():
        features = torch.cat([model.feature_extractor(normalize(images[i : i + 1000])) for i in range(0, len(images), 1000)]).numpy()
    assert features.shape == (points, dims), features.shape

    started = time.perf_counter()
    ours = embed_tsne(features, seed=seed)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theirs = TSNE(n_components=2, perplexity=30.0, init="pca", random_state=seed, n_jobs=-1).fit_transform(features)
    sklearn_seconds = time.perf_counter() - started

    sample = np.random.default_rng(seed).choice(points, 3000, replace=False)
    return {
        "points": points,
        "dims": dims,
        "advlab_seconds": ours_seconds,
        "sklearn_seconds": sklearn_seconds,
        "speedup": sklearn_seconds / ours_seconds,
        "advlab_trustworthiness": trustworthiness(features[sample], ours[sample], n_neighbors=10),
        "sklearn_trustworthiness": trustworthiness(features[sample], theirs[sample], n_neighbors=10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps per timing window")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the reference loops")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-gan", action="store_true")
    parser.add_argument("--skip-tsne", action="store_true")
    args = parser.parse_args()

    from advlab.training.runtime import configure_threads, resolve_device

    configure_threads(None)
    device = resolve_device(args.device)
    print(f"machine: {machine_description()}")
    print(f"date: {time.strftime('%Y-%m-%d')}")
    fp32_rate = matmul_flops_per_second(torch.float32, device=device)
    bf16_rate = matmul_flops_per_second(torch.bfloat16, device=device)
    print(f"matmul 2048x2048: fp32 {fp32_rate / 1e9:.1f} GFLOP/s, bf16 {bf16_rate / 1e9:.1f} GFLOP/s")

    with tempfile.TemporaryDirectory() as workdir:
        dann = bench_dann(args, device, bf16_rate, Path(workdir) / "dann")
        print(
            f"DANN (batch 128 + 128, 28x28x3): reference {dann['reference_samples_per_s']:.0f} samples/s, "
            f"advlab {dann['advlab_samples_per_s']:.0f} samples/s, ratio {dann['ratio']:.2f}x"
        )
        print(
            f"DANN step: {dann['flops_per_step'] / 1e9:.2f} GFLOP, achieved {dann['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s "
            f"= {100 * dann['share_of_bf16_matmul']:.0f}% of the bf16 matmul rate"
        )
        if not args.skip_gan:
            from benchmarks.gan_throughput import bench_wgan_gp

            for gp_fp32 in (True, False):
                gan = bench_wgan_gp(args, device, bf16_rate, Path(workdir) / f"gan-{gp_fp32}", gp_fp32=gp_fp32)
                print(
                    f"WGAN-GP (batch 64, 64x64x3, 5 critic steps per generator step, penalty in {'fp32' if gp_fp32 else 'bf16'}): "
                    f"reference {gan['reference_samples_per_s']:.0f} real samples/s, advlab {gan['advlab_samples_per_s']:.0f}, "
                    f"ratio {gan['ratio']:.2f}x; {gan['flops_per_step'] / 1e9:.1f} GFLOP per generator step, "
                    f"{100 * gan['share_of_bf16_matmul']:.0f}% of the bf16 matmul rate"
                )
    if not args.skip_tsne:
        tsne = bench_tsne()
        print(
            f"t-SNE {tsne['points']} points x {tsne['dims']}-d: advlab (openTSNE) {tsne['advlab_seconds']:.1f} s, "
            f"scikit-learn {tsne['sklearn_seconds']:.1f} s, speedup {tsne['speedup']:.2f}x; trustworthiness(10) "
            f"{tsne['advlab_trustworthiness']:.3f} vs {tsne['sklearn_trustworthiness']:.3f}"
        )


if __name__ == "__main__":
    main()
