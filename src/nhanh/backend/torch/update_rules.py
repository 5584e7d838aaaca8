"""Optimizer updates in place, through PyTorch's multi-tensor (foreach) kernels.

Eager PyTorch runs an update rule written with nhanh.ops as one allocating kernel per
arithmetic operation per weight (about a dozen for Adam); XLA fuses the same code on JAX, so
only this engine has these. Each rule updates `params` and the `slots` lists in place, with the
same formula as the optimizer's own `update_step` (Keras 3's forms), so results agree to
rounding. The optimizer calls a rule only on buffers a training step owns (see
Optimizer._update_in_place).

Every rule is `rule(params, grads, slots, lr, step, **hyperparameters)`: lists of tensors, the
optimizer's slots by name (each a list parallel to params), the learning rate and the
pre-increment iteration count as 0-d device tensors. What is per weight by nature (Lamb's
trust ratio, Adafactor's factored moments and step scale, Muon's Newton-Schulz iteration) stays
per weight, but reads no value on the host and still writes params and slots in place.
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


def adadelta(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
             step: torch.Tensor, *, rho: float, epsilon: float) -> None:
    grad_avg, delta_avg = slots["accumulated_grad"], slots["accumulated_delta_var"]
    torch._foreach_mul_(grad_avg, rho)
    torch._foreach_addcmul_(grad_avg, grads, grads, value=1.0 - rho)
    delta = torch._foreach_add(delta_avg, epsilon)  # the step with its sign flipped
    torch._foreach_sqrt_(delta)
    torch._foreach_mul_(delta, grads)
    denominator = torch._foreach_add(grad_avg, epsilon)
    torch._foreach_sqrt_(denominator)
    torch._foreach_div_(delta, denominator)
    torch._foreach_mul_(delta_avg, rho)
    torch._foreach_addcmul_(delta_avg, delta, delta, value=1.0 - rho)
    torch._foreach_mul_(delta, lr)
    torch._foreach_sub_(params, delta)


def ftrl(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
         step: torch.Tensor, *, learning_rate_power: float, l1: float, l2: float,
         l2_shrinkage: float, beta: float) -> None:
    accumulator, linear = slots["accumulator"], slots["linear"]
    power = -learning_rate_power
    old = torch._foreach_pow(accumulator, power)
    torch._foreach_addcmul_(accumulator, grads, grads)  # n' = n + g^2, stored at once
    new = torch._foreach_pow(accumulator, power)
    change = torch._foreach_sub(new, old)  # (n'^-p - n^-p) / lr * w
    torch._foreach_div_(change, lr)
    torch._foreach_mul_(change, params)
    if l2_shrinkage:
        increment = torch._foreach_add(grads, params, alpha=2.0 * l2_shrinkage)
        torch._foreach_sub_(increment, change)
    else:
        increment = torch._foreach_sub(grads, change)
    torch._foreach_add_(linear, increment)
    quadratic = new  # n'^-p / lr + 2 (l2 + beta / (2 lr))
    torch._foreach_div_(quadratic, lr)
    torch._foreach_add_(quadratic, 2.0 * (l2 + beta / (2.0 * lr)))
    weights = torch._foreach_clamp_min(linear, -l1)
    torch._foreach_clamp_max_(weights, l1)
    torch._foreach_sub_(weights, linear)
    torch._foreach_div_(weights, quadratic)
    torch._foreach_copy_(params, weights)


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator where both are > 0, else 1 (Lamb's trust ratio)."""
    safe = torch.where(denominator > 0, denominator, 1.0)
    return torch.where((numerator > 0) & (denominator > 0), numerator / safe, 1.0)


def lamb(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
         step: torch.Tensor, *, beta_1: float, beta_2: float, epsilon: float) -> None:
    """Per layer: the trust ratio ||w|| / ||r|| scales each weight's step (one stack of the
    norms, no host read)."""
    t = (step + 1).to(lr.dtype)
    m, v = slots["momentum"], slots["velocity"]
    torch._foreach_lerp_(m, grads, 1.0 - beta_1)
    torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1.0 - beta_2)
    direction = torch._foreach_div(m, 1.0 - torch.pow(beta_1, t))
    root = torch._foreach_div(v, 1.0 - torch.pow(beta_2, t))
    torch._foreach_sqrt_(root)
    torch._foreach_add_(root, epsilon)
    torch._foreach_div_(direction, root)
    ratio = _ratio(torch.stack(torch._foreach_norm(params)),
                   torch.stack(torch._foreach_norm(direction))) * lr
    torch._foreach_mul_(direction, list(ratio.unbind()))
    torch._foreach_sub_(params, direction)


def _rms(tensors: Tensors) -> torch.Tensor:
    """The root mean square of each tensor, stacked."""
    sizes = torch.tensor([max(t.numel(), 1) for t in tensors], dtype=tensors[0].dtype,
                         device=tensors[0].device)
    return torch.stack(torch._foreach_norm(tensors)) / torch.sqrt(sizes)


def adafactor(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
              step: torch.Tensor, *, beta_2_decay: float, epsilon_1: float, epsilon_2: float,
              clip_threshold: float) -> None:
    """Elementwise parts as foreach ops; per weight (inherently): the factored second moment
    of a matrix, written into its slots in place, and the RMS-based step scales."""
    t = (step + 1).to(lr.dtype)
    rho = torch.minimum(lr, 1.0 / torch.sqrt(t))
    alpha = torch.clamp_min(_rms(params), epsilon_2) * rho
    beta_2 = 1.0 - torch.pow(t, beta_2_decay)
    squares = torch._foreach_mul(grads, grads)
    torch._foreach_add_(squares, epsilon_1)
    factored = [i for i, p in enumerate(params) if p.dim() >= 2]
    plain = [i for i, p in enumerate(params) if p.dim() < 2]
    for i in factored:
        r, c, v, g2 = slots["r"][i], slots["c"][i], slots["velocity"][i], squares[i]
        r.mul_(beta_2).add_(g2.mean(dim=-1) * (1.0 - beta_2))
        c.mul_(beta_2).add_(g2.mean(dim=-2) * (1.0 - beta_2))
        row = r / r.mean(dim=-1, keepdim=True)
        torch.mul(row.unsqueeze(-1), c.unsqueeze(-2), out=v)
    if plain:
        velocity = [slots["velocity"][i] for i in plain]
        torch._foreach_mul_(velocity, beta_2)
        torch._foreach_add_(velocity, torch._foreach_mul([squares[i] for i in plain],
                                                         1.0 - beta_2))
    update = torch._foreach_div(grads, torch._foreach_sqrt(slots["velocity"]))  # u
    scale = alpha / torch.clamp_min(_rms(update) / clip_threshold, 1.0)
    torch._foreach_mul_(update, list(scale.unbind()))
    torch._foreach_sub_(params, update)


def orthogonalize(x: torch.Tensor, a: float, b: float, c: float, steps: int) -> torch.Tensor:
    """Muon's Newton-Schulz iteration on a 2-D x (left as it is), computed on the wide
    orientation; returns a new tensor in x's orientation."""
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.mT
    x = x / (torch.linalg.vector_norm(x, dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.mT
        polynomial = torch.addmm(gram, gram, gram, beta=b, alpha=c)  # b A + c A A
        x = torch.addmm(x, polynomial, x, beta=a)  # a x + (b A + c A A) x
    return x.mT if tall else x


def muon(params: Tensors, grads: Tensors, slots: dict[str, Tensors], lr: torch.Tensor,
         step: torch.Tensor, *, momentum: float, nesterov: bool, a: float, b: float, c: float,
         ns_steps: int, scales: list[float]) -> None:
    """Muon's matrices only (Muon's optimizer sends its Adam weights to `adam`): momentum as
    foreach ops, then per matrix the Newton-Schulz step, scaled by `scales` (one per weight)."""
    m = slots["momentum"]
    torch._foreach_mul_(m, momentum)
    torch._foreach_add_(m, grads)  # m = momentum * m + g
    direction = torch._foreach_add(grads, m, alpha=momentum) if nesterov else m
    for p, d, scale in zip(params, direction, scales):
        p.sub_(orthogonalize(d, a, b, c, ns_steps) * (lr * scale))


def schedule_free_adamw(params: Tensors, grads: Tensors, slots: dict[str, Tensors],
                        lr: torch.Tensor, step: torch.Tensor, *, beta_1: float, beta_2: float,
                        epsilon: float, warmup_steps: int) -> None:
    """`params` hold y; the `momentum` slot is z; x is recovered from y and the old z."""
    t = (step + 1).to(lr.dtype)
    if warmup_steps > 0:
        lr = lr * torch.clamp_max(t / float(warmup_steps), 1.0)
    z, v = slots["momentum"], slots["velocity"]
    x = torch._foreach_add(params, z, alpha=-(1.0 - beta_1))  # x_old, before z moves
    torch._foreach_div_(x, beta_1)
    torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1.0 - beta_2)
    denominator = torch._foreach_div(v, 1.0 - torch.pow(beta_2, t))
    torch._foreach_sqrt_(denominator)
    torch._foreach_add_(denominator, epsilon)
    increment = torch._foreach_mul(grads, lr)
    torch._foreach_div_(increment, denominator)
    torch._foreach_sub_(z, increment)
    weight = 1.0 / t
    torch._foreach_mul_(x, 1.0 - weight)
    torch._foreach_add_(x, torch._foreach_mul(z, weight))  # x = (1 - 1/t) x_old + z / t
    torch._foreach_mul_(x, beta_1)
    torch._foreach_add_(x, torch._foreach_mul(z, 1.0 - beta_1))
    torch._foreach_copy_(params, x)


RULES = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop, "adagrad": adagrad,
         "weight_decay": weight_decay, "adamax": adamax, "nadam": nadam, "lion": lion,
         "adadelta": adadelta, "ftrl": ftrl, "lamb": lamb, "adafactor": adafactor,
         "muon": muon, "schedule_free_adamw": schedule_free_adamw}
