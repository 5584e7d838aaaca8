"""Optimizer updates in place, through PyTorch's multi-tensor (foreach) kernels.

Eager PyTorch runs an update rule written with nhanh.ops as one allocating kernel per
arithmetic operation per weight (about a dozen for Adam); XLA fuses the same code on JAX, so
only this engine has these. Each rule updates `params` and the `slots` lists in place, with the
same formula as the optimizer's own `update_step` (Keras 3's forms), so results agree to
rounding. The optimizer calls a rule only on buffers a training step owns (see
Optimizer._update_in_place).

Every rule is `rule(params, grads, slots, lr, step, **hyperparameters)`: lists of tensors, the
optimizer's slots by name (each a list parallel to params), the learning rate and the
pre-increment iteration count as 0-d device tensors.
"""

from __future__ import annotations

import torch

Tensors = list[torch.Tensor]


def sgd(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
        step: torch.Tensor, *, momentum: float, nesterov: bool) -> None:
    scaled = torch._foreach_mul(grads, lr)  # g * lr
    if momentum == 0:
        torch._foreach_sub_(params, scaled)
        return
    m = slots["momentum"]
    torch._foreach_mul_(m, momentum)
    torch._foreach_sub_(m, scaled)  # m = momentum * m - lr * g
    if nesterov:
        ahead = torch._foreach_mul(m, momentum)
        torch._foreach_sub_(ahead, scaled)
        torch._foreach_add_(params, ahead)
    else:
        torch._foreach_add_(params, m)


def adam(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
         step: torch.Tensor, *, beta_1: float, beta_2: float, epsilon: float,
         amsgrad: bool) -> None:
    t = (step + 1).to(lr.dtype)
    alpha = lr * torch.sqrt(1.0 - torch.pow(beta_2, t)) / (1.0 - torch.pow(beta_1, t))
    m, v = slots["momentum"], slots["velocity"]
    torch._foreach_lerp_(m, grads, 1.0 - beta_1)  # m += (g - m)(1 - beta_1)
    torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1.0 - beta_2)
    if amsgrad:
        torch._foreach_maximum_(slots["velocity_hat"], v)
        v = slots["velocity_hat"]
    denominator = torch._foreach_sqrt(v)
    torch._foreach_add_(denominator, epsilon)
    update = torch._foreach_mul(m, alpha)
    torch._foreach_div_(update, denominator)
    torch._foreach_sub_(params, update)


def rmsprop(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
            step: torch.Tensor, *, rho: float, momentum: float, epsilon: float,
            centered: bool) -> None:
    velocity = slots["velocity"]
    torch._foreach_lerp_(velocity, torch._foreach_mul(grads, grads), 1.0 - rho)
    if centered:
        average = slots["average_gradient"]
        torch._foreach_lerp_(average, grads, 1.0 - rho)
        denominator = torch._foreach_mul(average, average)
        torch._foreach_neg_(denominator)
        torch._foreach_add_(denominator, velocity)
    else:
        denominator = torch._foreach_mul(velocity, 1.0)  # a copy to add epsilon to
    torch._foreach_add_(denominator, epsilon)
    torch._foreach_sqrt_(denominator)
    increment = torch._foreach_mul(grads, lr)
    torch._foreach_div_(increment, denominator)
    if momentum > 0:
        m = slots["momentum"]
        torch._foreach_mul_(m, momentum)
        torch._foreach_add_(m, increment)
        increment = m
    torch._foreach_sub_(params, increment)


def adagrad(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
            step: torch.Tensor, *, epsilon: float) -> None:
    accumulator = slots["accumulator"]
    torch._foreach_addcmul_(accumulator, grads, grads)
    denominator = torch._foreach_add(accumulator, epsilon)
    torch._foreach_sqrt_(denominator)
    increment = torch._foreach_mul(grads, lr)
    torch._foreach_div_(increment, denominator)
    torch._foreach_sub_(params, increment)


RULES = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop, "adagrad": adagrad}
