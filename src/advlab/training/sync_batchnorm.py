"""Batch normalisation synchronised across processes, for CPU (gloo) training.

torch.nn.SyncBatchNorm rejects CPU tensors (torch 2.14: "expected input tensor to be on GPU"), so
multi-process CPU training would normalise each rank's slice with its own statistics and no longer
match single-process training with the same global batch. This module all-reduces the per-channel
sum and count, then the sum of squared deviations, in the forward pass and the two gradient sums in the backward pass,
the same algorithm SyncBatchNorm runs on GPUs. On CUDA advlab uses torch.nn.SyncBatchNorm itself.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class _SyncBatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        channels = x.shape[1]
        reduce_dims = [0] + list(range(2, x.dim()))
        x32 = x.float()
        # Two passes (mean, then squared deviations): E[x^2] - mean^2 loses most of float32's
        # precision once |mean| is large against the standard deviation.
        stats = torch.cat([x32.sum(reduce_dims), torch.tensor([x.numel() / channels], dtype=torch.float32)])  # (C + 1,)
        dist.all_reduce(stats)
        total = stats[-1]
        mean = stats[:channels] / total
        shape = [1, channels] + [1] * (x.dim() - 2)
        centred = x32 - mean.view(shape)
        squares = centred.pow(2).sum(reduce_dims)
        dist.all_reduce(squares)
        var = squares / total
        invstd = torch.rsqrt(var + eps)
        x_hat = centred * invstd.view(shape)
        ctx.save_for_backward(x_hat, weight, invstd)
        ctx.total = total
        ctx.reduce_dims = reduce_dims
        out = x_hat * weight.view(shape) + bias.view(shape)
        return out.to(x.dtype), mean, var * total / (total - 1).clamp_min(1)

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        x_hat, weight, invstd = ctx.saved_tensors
        channels = x_hat.shape[1]
        shape = [1, channels] + [1] * (x_hat.dim() - 2)
        g = grad_out.float()
        local = torch.cat([g.sum(ctx.reduce_dims), (g * x_hat).sum(ctx.reduce_dims)])
        grad_bias_local, grad_weight_local = local[:channels].clone(), local[channels:].clone()
        dist.all_reduce(local)
        sum_g, sum_g_xhat = local[:channels], local[channels:]
        grad_x = (weight * invstd).view(shape) * (g - sum_g.view(shape) / ctx.total - x_hat * sum_g_xhat.view(shape) / ctx.total)
        # Parameter gradients stay local: DistributedDataParallel averages them across ranks.
        return grad_x.to(grad_out.dtype), grad_weight_local, grad_bias_local, None


class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the union of all ranks' batches; falls back to plain BatchNorm outside training."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        out, mean, unbiased_var = _SyncBatchNormFunction.apply(x, self.weight, self.bias, self.eps)
        with torch.no_grad():
            momentum = self.momentum if self.momentum is not None else 0.1
            self.running_mean.mul_(1 - momentum).add_(momentum * mean)
            self.running_var.mul_(1 - momentum).add_(momentum * unbiased_var)
            self.num_batches_tracked.add_(1)
        return out


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm layer with its synchronised form (torch's on CUDA, CPUSyncBatchNorm on CPU)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        replacement = CPUSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                replacement.weight.copy_(module.weight)
                replacement.bias.copy_(module.bias)
        replacement.running_mean.copy_(module.running_mean)
        replacement.running_var.copy_(module.running_var)
        replacement.num_batches_tracked.copy_(module.num_batches_tracked)
        return replacement
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, device))
    return module
