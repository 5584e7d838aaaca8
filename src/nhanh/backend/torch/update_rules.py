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


def weight_decay(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
                 step: torch.Tensor, *, rate: float) -> None:
    """Decoupled weight decay, w *= 1 - lr * rate (Keras's PyTorch form); grads unused."""
    torch._foreach_mul_(params, 1.0 - lr * rate)


def adamax(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
           step: torch.Tensor, *, beta_1: float, beta_2: float, epsilon: float) -> None:
    t = (step + 1).to(lr.dtype)
    m, u = slots["momentum"], slots["norm"]
    torch._foreach_lerp_(m, grads, 1.0 - beta_1)
    torch._foreach_mul_(u, beta_2)
    torch._foreach_maximum_(u, torch._foreach_abs(grads))
    denominator = torch._foreach_add(u, epsilon)
    torch._foreach_mul_(denominator, 1.0 - torch.pow(beta_1, t))
    update = torch._foreach_mul(m, lr)
    torch._foreach_div_(update, denominator)
    torch._foreach_sub_(params, update)


def nadam(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
          step: torch.Tensor, *, beta_1: float, beta_2: float, epsilon: float,
          u_product: torch.Tensor) -> None:
    """`u_product` is the product of the momentum schedule up to this step (already updated)."""
    t = (step + 1).to(lr.dtype)
    mu_t = beta_1 * (1.0 - 0.5 * torch.pow(0.96, t))
    mu_next = beta_1 * (1.0 - 0.5 * torch.pow(0.96, t + 1))
    product = u_product.to(lr.dtype)
    m, v = slots["momentum"], slots["velocity"]
    torch._foreach_lerp_(m, grads, 1.0 - beta_1)
    torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1.0 - beta_2)
    m_hat = torch._foreach_mul(m, mu_next / (1.0 - product * mu_next))
    torch._foreach_add_(m_hat, torch._foreach_mul(grads, (1.0 - mu_t) / (1.0 - product)))
    denominator = torch._foreach_div(v, 1.0 - torch.pow(beta_2, t))
    torch._foreach_sqrt_(denominator)
    torch._foreach_add_(denominator, epsilon)
    torch._foreach_mul_(m_hat, lr)
    torch._foreach_div_(m_hat, denominator)
    torch._foreach_sub_(params, m_hat)


def lion(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
         step: torch.Tensor, *, beta_1: float, beta_2: float) -> None:
    m = slots["momentum"]
    direction = torch._foreach_lerp(m, grads, 1.0 - beta_1)
    torch._foreach_sign_(direction)
    torch._foreach_mul_(direction, lr)
    torch._foreach_sub_(params, direction)
    torch._foreach_lerp_(m, grads, 1.0 - beta_2)


RULES = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop, "adagrad": adagrad,
         "weight_decay": weight_decay, "adamax": adamax, "nadam": nadam, "lion": lion}
