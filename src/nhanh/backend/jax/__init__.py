"""JAX engine: jax.numpy ops, jax.grad, jax.jit with buffer donation."""

from nhanh.backend.jax import (compilation_cache, control, conv, distribution, fft, image,
                               linalg, nn, numpy, random, rnn)
from nhanh.backend.jax.placement import device_scope, remat
from nhanh.backend.jax.core import (
    NAME,
    batch_input,
    cast,
    compile_loop,
    compile_step,
    compiled_loops,
    convert_to_numpy,
    convert_to_tensor,
    copy,
    device_memory_free,
    dtype_of,
    eager_scope,
    eval_shape,
    fori_loop,
    host_view,
    is_tensor,
    item,
    platform,
    shape,
    standardize_dtype,
    stop_gradient,
    take_rows,
    transfer_copies,
    value_and_grad,
)

update_rules: dict = {}  # XLA fuses each optimizer's own update_step

compilation_cache.configure()  # before anything compiles
