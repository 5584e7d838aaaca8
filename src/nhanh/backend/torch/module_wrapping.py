"""PyTorch modules as pure functions of their state (for nhanh.layers.TorchModuleWrapper).

A wrapped module's parameters and buffers live in nhanh Variables, so the training step (a pure
function of its state, captured by make_fx) sees and replaces them like any other weight. The
module is therefore called with `torch.func.functional_call` on the Variables' current values,
never on its own tensors, which training does not update.
"""

from __future__ import annotations

import torch

from nhanh.backend.torch.core import DEVICE


def check_module(module) -> torch.nn.Module:
    """The module moved to nhanh's device; a clear error for anything else, or lazy modules."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"TorchModuleWrapper: `module` must be a torch.nn.Module instance, got "
                        f"{type(module).__name__}. Wrap a module, e.g. torch.nn.Linear(4, 2).")
    lazy = torch.nn.modules.lazy.LazyModuleMixin
    if isinstance(module, lazy) and module.has_uninitialized_params():
        raise ValueError(f"TorchModuleWrapper: `module` {type(module).__name__} is a lazy module "
                         "whose parameters are not initialized yet. Call it once on a sample "
                         "input before wrapping it.")
    return module.to(DEVICE)


def module_state(module: torch.nn.Module) -> list[tuple[str, torch.Tensor, str]]:
    """(name, value copy, kind) for each parameter (kind 'trainable' or 'frozen'), then each
    persistent buffer (kind 'buffer'); non-persistent buffers stay the module's own."""
    out = [(name, p.detach().clone(), "trainable" if p.requires_grad else "frozen")
           for name, p in module.named_parameters()]
    persistent = set(module.state_dict(keep_vars=True))
    out += [(name, b.detach().clone(), "buffer") for name, b in module.named_buffers()
            if name in persistent]
    return out


def call_module(module: torch.nn.Module, names: list[str], values: list, buffers: set,
                args: tuple, kwargs: dict, training: bool) -> tuple:
    """(outputs, new values): the module run on `values`; buffers it updates in place
    (batch-norm statistics) come back as new values, the inputs untouched."""
    # Buffers are handed over as copies: the module writes its running statistics into them,
    # and those copies become the Variables' new values (the step stays pure).
    state = {name: value.clone() if name in buffers else value
             for name, value in zip(names, values)}
    was_training = module.training
    module.train(bool(training))
    try:
        outputs = torch.func.functional_call(module, state, args, kwargs)
    finally:
        module.train(was_training)
    return outputs, [state[name] for name in names]


def write_back(module: torch.nn.Module, names: list[str], values: list) -> None:
    """Copy the given values into the module's own tensors (e.g. after training)."""
    own = dict(module.named_parameters())
    own.update(module.named_buffers())
    with torch.no_grad():
        for name, value in zip(names, values):
            own[name].copy_(value)
