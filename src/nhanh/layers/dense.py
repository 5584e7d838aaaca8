"""Dense: a fully connected layer on the last axis."""

from __future__ import annotations

from nhanh import activations, constraints, initializers, ops, regularizers
from nhanh.layers.layer import InputSpec, Layer


class Dense(Layer):
    """outputs = activation(inputs @ kernel + bias), kernel of shape (input_dim, units).

    Inputs of rank above 2 are multiplied on their last axis: (batch, ..., input_dim) gives
    (batch, ..., units).

    Args:
        units: Positive int, the size of the output's last axis.
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias.
        kernel_initializer: Initializer of the kernel (name, callable or instance).
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the kernel, added to the loss; `None` for none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint applied to the kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        quantization_config: Keras's quantization settings; only `None` is accepted (Keras's
            configs carry it as null).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, `input_shape`, ...).
    """

    supports_masking = True

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, quantization_config=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if quantization_config is not None:  # Keras 3.15 writes it (null) in every config
            raise NotImplementedError(f"{type(self).__name__}: `quantization_config` is not "
                                      "implemented in nhanh; leave it None (got "
                                      f"quantization_config={quantization_config!r}).")
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense layer {self.name!r} needs a known last axis, got input "
                             f"shape {input_shape}.")
        self.kernel = self.add_weight((input_dim, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self.add_weight((self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel.value)
        if self.bias is not None:
            outputs = outputs + self.bias.value
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
                "bias_regularizer": _maybe(regularizers.serialize, self.bias_regularizer),
                "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer),
                "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint),
                "bias_constraint": _maybe(constraints.serialize, self.bias_constraint)}


def _maybe(fn, value):
    return None if value is None else fn(value)
