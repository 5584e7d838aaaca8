"""PyTorch engine: tensors, torch.autograd, steps captured as graphs (optionally through
torch.compile), optimizer updates in place."""

from nhanh.backend.torch import (control, conv, distribution, fft, image, linalg, nn, numpy,
                                 random, rnn)
from nhanh.backend.torch.placement import device_scope, remat
from nhanh.backend.torch.module_integration import TorchFormStep, new_layer
from nhanh.backend.torch.update_rules import RULES as update_rules
from nhanh.backend.torch.core import (
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
    enable_grad,
    eval_shape,
    fori_loop,
    host_view,
    is_tensor,
    item,
    platform,
    shape,
    standardize_dtype,
    state_view,
    stop_gradient,
    take_rows,
    transfer_copies,
    value_and_grad,
    variable_storage,
    write_storage,
)
