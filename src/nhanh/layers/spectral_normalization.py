"""SpectralNormalization: divide a layer's kernel by its largest singular value (Miyato et al.,
2018), estimated by power iteration, so the layer is 1-Lipschitz (steadier GAN discriminators).

As in Keras 3, a call with training=True replaces the kernel by kernel / sigma and keeps the
iteration's vector `vector_u` (a non-trainable weight); inference uses the kernel as stored.
Inside `fit` the replacement feeds that step's forward pass, and only the optimizer's update
of the kernel is kept (Keras on JAX does the same), while `vector_u` carries over from step to
step. Keras skips the update when the kernel is all zeros; here that case divides by 1.
"""

from __future__ import annotations

from nhanh import config, initializers, ops
from nhanh.layers.layer import InputSpec, Layer
from nhanh.layers.wrapper import Wrapper


class SpectralNormalization(Wrapper):
    """Wraps a layer with a `kernel` (Dense, Conv2D, ...) or `embeddings` (Embedding) and keeps
    that weight's spectral norm at 1 while training.

    Weights, in Keras's order: the wrapped kernel, `vector_u` of shape (1, kernel.shape[-1]),
    then the wrapped layer's other weights.

    Args:
        layer: The layer whose kernel is normalized.
        power_iterations: Positive int, power-iteration steps per training call.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs):
        super().__init__(layer, **kwargs)
        if (not isinstance(power_iterations, int) or isinstance(power_iterations, bool)
                or power_iterations <= 0):
            raise ValueError("SpectralNormalization: `power_iterations` must be a positive int, "
                             f"got power_iterations={power_iterations!r}.")
        self.power_iterations = power_iterations
        self.kernel = self.vector_u = None

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f"SpectralNormalization: the wrapped {type(self.layer).__name__} has neither a "
                "`kernel` nor an `embeddings` weight to normalize; wrap a Dense, Conv or "
                "Embedding layer.")
        self.kernel = kernel
        self.vector_u = self.add_weight(
            (1, kernel.shape[-1]), initializers.TruncatedNormal(stddev=0.02),
            dtype=kernel.dtype, trainable=False, name="vector_u")

    @property
    def weights(self):
        if self.kernel is None:
            return super().weights
        rest = [w for w in super().weights if w is not self.kernel and w is not self.vector_u]
        return [self.kernel, self.vector_u, *rest]

    def saving_variables(self) -> list:
        """The wrapper's own variables in Keras's file: the wrapped kernel (which Keras tracks
        on the wrapper too, so it is also under `layer/`), then `vector_u`."""
        return [] if self.vector_u is None else [self.kernel, self.vector_u]

    def call(self, inputs, training=False):
        if training:
            vector_u, kernel = self.normalized_weights()
            self.vector_u.assign(vector_u)
            self.kernel.assign(kernel)
        outputs = self.layer(inputs)
        return outputs if ops.dtype(outputs) == ops.dtype(inputs) else ops.cast(
            outputs, ops.dtype(inputs))

    def normalized_weights(self):
        """(new vector_u, kernel / sigma): power iteration on the kernel as a matrix
        (-1, units); the singular vectors are constants to the gradient, sigma is not."""
        kernel = self.kernel.value
        weights = ops.reshape(kernel, (-1, kernel.shape[-1]))
        vector_u = self.vector_u.value
        for _ in range(self.power_iterations):
            vector_v = _l2_normalize(ops.matmul(vector_u, ops.transpose(weights)))
            vector_u = _l2_normalize(ops.matmul(vector_v, weights))
        vector_u, vector_v = ops.stop_gradient(vector_u), ops.stop_gradient(vector_v)
        sigma = ops.matmul(ops.matmul(vector_v, weights), ops.transpose(vector_u))
        all_zero = ops.all(ops.equal(kernel, 0))
        sigma = ops.where(all_zero, ops.ones_like(sigma), sigma)
        new_u = ops.where(all_zero, self.vector_u.value, vector_u)
        return new_u, ops.reshape(weights / sigma, kernel.shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _l2_normalize(x):
    """x / ||x|| over all entries; a zero vector stays zero (the inverse norm is capped)."""
    inv_norm = ops.minimum(ops.rsqrt(ops.sum(ops.square(x))), 1.0 / config.epsilon())
    return x * inv_norm
