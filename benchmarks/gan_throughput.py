"""WGAN-GP part of the throughput benchmark: advlab's GANTrainer against a tutorial-style loop."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from benchmarks.common import PNGDataset, endless, synchronize, throughput_summary, write_png_folder

BATCH = 64
N_CRITIC = 5
GP_WEIGHT = 10.0


def bench_wgan_gp(args, device: torch.device, bf16_rate: float, workdir: Path, *, gp_fp32: bool = True) -> dict[str, float]:
    """Real images consumed per second by one generator iteration (5 critic updates + 1 generator update)."""
    from advlab.models.gan import build_gan_models
    from advlab.training.gan import GANTrainer, load_gan_config, load_gan_data
    from benchmarks.common import count_flops
    from benchmarks.train_throughput import alternate

    config = load_gan_config(None, {"loss": "wgan-gp", "data": "mnist-5k", "image_size": 64, "batch_size": BATCH, "device": str(device),
                                    "gp_fp32": gp_fp32})
    data = load_gan_data(config)
    trainer = GANTrainer(config, data, device=device)

    # reference: PNG files decoded by PIL, fp32, default memory format, the penalty written inline
    items = write_png_folder(data.images, torch.zeros(len(data.images), dtype=torch.long), workdir / "real")
    loader = endless(torch.utils.data.DataLoader(PNGDataset(items), batch_size=BATCH, shuffle=True, drop_last=True, num_workers=args.workers))
    torch.manual_seed(0)
    generator, critic = build_gan_models(image_size=64, noise_dim=config.noise_dim, width=config.width, critic_norm=config.critic_norm)
    generator, critic = generator.to(device), critic.to(device)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.0, 0.9))
    optimizer_c = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))

    def reference_step():
        for _ in range(N_CRITIC):
            real, _ = next(loader)
            real = real.to(device)
            fake = generator(torch.randn(BATCH, config.noise_dim, device=device)).detach()
            alpha = torch.rand(BATCH, 1, 1, 1, device=device)
            interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            scores = critic(interpolates)[0]
            gradients = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)[0]
            penalty = ((gradients.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
            loss_c = critic(fake)[0].mean() - critic(real)[0].mean() + GP_WEIGHT * penalty
            optimizer_c.zero_grad()
            loss_c.backward()
            optimizer_c.step()
        loss_g = -critic(generator(torch.randn(BATCH, config.noise_dim, device=device)))[0].mean()
        optimizer_g.zero_grad()
        loss_g.backward()
        optimizer_g.step()
        return loss_g.item()

    def window(step_fn):
        step_fn()
        synchronize(device)
        started = time.perf_counter()
        for _ in range(max(1, args.steps // 2)):
            result = step_fn()
        float(result["generator_loss"]) if isinstance(result, dict) else result
        synchronize(device)
        return BATCH * N_CRITIC * max(1, args.steps // 2) / (time.perf_counter() - started)

    reference_step()
    trainer.train_step()
    reference_rate, advlab_rate = alternate(lambda: window(reference_step), lambda: window(trainer.train_step), rounds=args.rounds)
    flops = count_flops(trainer.train_step)
    return throughput_summary(reference_rate, advlab_rate, flops_per_step=flops, images_per_step=BATCH * N_CRITIC, bf16_rate=bf16_rate)
