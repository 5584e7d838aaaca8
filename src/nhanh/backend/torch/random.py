"""Random draws on PyTorch from an explicit seed state.

The state is a 2-element tensor kept on the host, so making a generator from it costs no
device synchronisation.
"""

import torch

from nhanh.backend.torch.core import DEVICE, to_torch_dtype


def _generator(seed):
    a, b = (int(v) for v in torch.as_tensor(seed).reshape(-1).tolist())
    g = torch.Generator(device=DEVICE)
    g.manual_seed((a * 1_000_003 + b) % (2**63))
    return g


def normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32"):
    out = torch.empty(tuple(shape), dtype=to_torch_dtype(dtype), device=DEVICE)
    return out.normal_(mean, stddev, generator=_generator(seed))


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype="float32"):
    out = torch.empty(tuple(shape), dtype=to_torch_dtype(dtype), device=DEVICE)
    return out.uniform_(minval, maxval, generator=_generator(seed))


def truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32"):
    out = torch.empty(tuple(shape), dtype=to_torch_dtype(dtype), device=DEVICE)
    torch.nn.init.trunc_normal_(out, 0.0, 1.0, -2.0, 2.0, generator=_generator(seed))
    return mean + stddev * out


def bernoulli(shape, seed, p):
    draw = torch.rand(tuple(shape), generator=_generator(seed), device=DEVICE)
    return draw < p


def permutation(n, seed):
    return torch.randperm(n, generator=_generator(seed), device=DEVICE)
