"""Neural-network ops on PyTorch (torch.nn.functional)."""

import torch
import torch.nn.functional as F

from nhanh.backend.torch.core import to_torch_dtype
from nhanh.backend.torch.numpy import _t


def relu(x):
    return F.relu(_t(x))


def relu6(x):
    return F.relu6(_t(x))


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_t(x), negative_slope)


def elu(x, alpha=1.0):
    return F.elu(_t(x), alpha)


def selu(x):
    return F.selu(_t(x))


def gelu(x, approximate=True):
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def sigmoid(x):
    return torch.sigmoid(_t(x))


def hard_sigmoid(x):
    return F.hardsigmoid(_t(x))


def hard_silu(x):
    return F.hardswish(_t(x))


def silu(x):
    return F.silu(_t(x))


def softplus(x):
    return F.softplus(_t(x))


def softsign(x):
    return F.softsign(_t(x))


def mish(x):
    return F.mish(_t(x))


def softmax(x, axis=-1):
    return torch.softmax(_t(x), dim=axis)


def log_softmax(x, axis=-1):
    return torch.log_softmax(_t(x), dim=axis)


def one_hot(x, num_classes, dtype="float32"):
    return F.one_hot(_t(x).long(), num_classes).to(to_torch_dtype(dtype))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC's negative log-likelihood per sample, by torch.nn.functional.ctc_loss."""
    output = _t(output)
    if output.dtype not in (torch.float32, torch.float64):
        output = output.float()
    logprobs = torch.log_softmax(output, dim=-1).transpose(0, 1)  # (T, B, K), as torch wants
    target = _t(target).long()
    lengths = _t(target_length).long().reshape(-1)
    steps = _t(output_length).long().reshape(-1)
    return F.ctc_loss(logprobs, target, steps, lengths, blank=mask_index, reduction="none")
