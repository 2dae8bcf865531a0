"""Multi-kernel maximum mean discrepancy (MK-MMD) with Gaussian kernels, as DAN uses it.

Long et al., "Learning Transferable Features with Deep Adaptation Networks", ICML 2015.
"""

from __future__ import annotations

import torch


def gaussian_kernel_sum(x: torch.Tensor, y: torch.Tensor, bandwidths: torch.Tensor) -> torch.Tensor:
    """Sum over bandwidths s of exp(-||x_i - y_j||^2 / s), shape (len(x), len(y))."""
    squared_distances = torch.cdist(x, y).pow(2)  # (N, M)
    return torch.exp(-squared_distances.unsqueeze(0) / bandwidths.view(-1, 1, 1)).sum(0)


def mk_mmd(
    f_s: torch.Tensor,
    f_t: torch.Tensor,
    *,
    kernel_num: int = 5,
    kernel_mul: float = 2.0,
    bandwidth: float | None = None,
) -> torch.Tensor:
    """Biased estimate of the squared MK-MMD between two batches of features.

    MMD^2 = mean k(s, s') + mean k(t, t') - 2 mean k(s, t), with k the sum of `kernel_num` Gaussian
    kernels whose bandwidths are `bandwidth * kernel_mul**i` for i centred on 0. Without a
    `bandwidth`, the base is the mean squared pairwise distance of the pooled batch (detached), the
    usual data-driven choice. The batches may differ in size: each mean is over its own block.
    Returns 0 for identical batches.
    """
    if f_s.dim() != 2 or f_t.dim() != 2 or f_s.shape[1] != f_t.shape[1]:
        raise ValueError(f"mk_mmd expects (N, D) and (M, D) features, got {tuple(f_s.shape)} and {tuple(f_t.shape)}")
    f_s = f_s.float()
    f_t = f_t.float()
    pooled = torch.cat([f_s, f_t])
    if bandwidth is None:
        n = pooled.shape[0]
        base = torch.cdist(pooled, pooled).pow(2).sum().detach() / (n * n - n)
        base = base.clamp_min(1e-8)
    else:
        base = torch.tensor(float(bandwidth), device=pooled.device)
    exponents = torch.arange(kernel_num, device=pooled.device, dtype=pooled.dtype) - kernel_num // 2
    bandwidths = base * kernel_mul**exponents
    k_ss = gaussian_kernel_sum(f_s, f_s, bandwidths).mean()
    k_tt = gaussian_kernel_sum(f_t, f_t, bandwidths).mean()
    k_st = gaussian_kernel_sum(f_s, f_t, bandwidths).mean()
    return k_ss + k_tt - 2 * k_st
