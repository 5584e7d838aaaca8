"""MultiHeadAttention, with Keras's weight layout, so Keras weights load with set_weights.

Projections are einsums with kernels (dim, num_heads, head_dim) and biases (num_heads, head_dim);
the output projection has kernel (num_heads, value_dim, *output_shape) and bias output_shape.
Attention runs over `attention_axes` (default: every axis between batch and features).
"""

from __future__ import annotations

import math
import string

from nhanh import config, constraints, initializers, ops, random, regularizers
from nhanh.layers.projected_attention import ProjectedAttention

_LETTERS = string.ascii_lowercase


class MultiHeadAttention(ProjectedAttention):
    """Multi-head (scaled dot-product) attention of `query` over `value` (and `key`).

    Call as mha(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False); query_mask/value_mask/key_mask (B, T) are accepted
    too. attention_mask (B, Tq, Tv) is True where a query step may attend to a key step.

    Args:
        num_heads: Positive int, the number of attention heads.
        key_dim: Positive int, the size of each head's query and key projections.
        value_dim: Size of each head's value projection; `None` means `key_dim`.
        dropout: Float in [0, 1], fraction of attention weights dropped while training.
        use_bias: Whether the projections have biases.
        output_shape: Size (int) or shape (tuple) of the output's feature axes; `None` means the
            query's last axis.
        attention_axes: Axis or axes of the inputs attended over; `None` means every axis between
            the batch axis and the features.
        sliding_window: Positive int: a query step attends only to key steps less than this far
            away; `None` for no limit.
        flash_attention: `None` lets the engine pick its attention kernel; `True` requires a
            flash kernel (an error where there is none, e.g. on a CPU), as in Keras. The fused
            kernel (ops.dot_product_attention) runs whenever dropout is 0, no scores are asked
            for and the inputs have one attention axis, as in Keras.
        kernel_initializer: Initializer of the projection kernels.
        bias_initializer: Initializer of the projection biases.
        kernel_regularizer: Regularizer of the projection kernels, added to the loss.
        bias_regularizer: Regularizer of the projection biases.
        activity_regularizer: Regularizer applied to each projection's output (as in Keras).
        kernel_constraint: Constraint applied to the projection kernels after each update.
        bias_constraint: Constraint applied to the projection biases after each update.
        use_gate: If True, multiply the attended values by a learned sigmoid gate computed from the
            query, before the output projection.
        seed: Int seed for the dropout draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _call_spelling = "mha"

    supports_masking = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape=None,
                 attention_axes=None, sliding_window: int | None = None,
                 flash_attention: bool | None = None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        for arg, value, optional in (("num_heads", num_heads, False), ("key_dim", key_dim, False),
                                     ("value_dim", value_dim, True),
                                     ("sliding_window", sliding_window, True)):
            if optional and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MultiHeadAttention: `{arg}` must be a positive integer"
                                 f"{' or None' if optional else ''}, got {arg}={value!r}.")
        if not 0 <= dropout <= 1:
            raise ValueError(f"MultiHeadAttention: `dropout` must be in [0, 1], got {dropout!r}.")
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)):
                raise ValueError("MultiHeadAttention: `attention_axes` must be an int, a list or "
                                 f"a tuple, got {attention_axes!r}.")
            attention_axes = tuple(attention_axes)
        self._num_heads, self._key_dim = num_heads, key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout, self._use_bias, self._use_gate = float(dropout), bool(use_bias), use_gate
        self._output_shape = output_shape or None
        self._attention_axes = attention_axes
        self._sliding_window = sliding_window
        # As in Keras: None lets the engine choose its kernel, True requires a flash kernel.
        self._flash_attention = flash_attention or config.is_flash_attention_enabled()
        if self._flash_attention and self._dropout > 0:
            raise ValueError("MultiHeadAttention: dropout is not supported with flash attention; "
                             "set dropout=0.0 or flash_attention=None.")
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # As in Keras, the activity regularizer applies to each projection's output.
        self._projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if self._dropout > 0:
            self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    sliding_window = property(lambda self: self._sliding_window)
    attention_axes = property(lambda self: self._attention_axes)

    # --- shapes -------------------------------------------------------------------------------
    def _check_shapes(self, query_shape, value_shape, key_shape=None):
        """(query, value, key) shapes and the attention axes (of the inputs), or a ValueError."""
        if value_shape is None:
            raise ValueError(f"Layer {self.name!r} (MultiHeadAttention) needs the shapes of "
                             f"query and value, but received only query shape {query_shape}.")
        q, v = tuple(query_shape), tuple(value_shape)
        k = v if key_shape is None else tuple(key_shape)
        rank = len(q)
        problem = None
        if rank < 3 or len(v) != rank or len(k) != rank:
            problem = "query, value and key of one rank >= 3: (batch, steps..., dim)"
        elif v[1:-1] != k[1:-1]:
            problem = "value and key with equal shapes except the last axis"
        elif None in (q[-1], v[-1], k[-1]):
            problem = "known last axes (feature sizes)"
        if problem is None:
            axes = (tuple(range(1, rank - 1)) if self._attention_axes is None else
                    tuple(a + rank if a < 0 else a for a in self._attention_axes))
            if not axes or any(not 1 <= a <= rank - 2 for a in axes) or len(set(axes)) < len(axes):
                problem = (f"attention_axes={self._attention_axes} to name distinct axes between "
                           f"the batch and feature axes of rank-{rank} inputs")
            elif any(q[i] is not None and k[i] is not None and q[i] != k[i]
                     for i in range(rank - 1) if i not in axes):
                problem = "query and key with equal sizes on the axes that are not attended over"
        if problem:
            raise ValueError(f"Layer {self.name!r} (MultiHeadAttention) expects {problem}, but "
                             f"received query shape {q}, value shape {v} and key shape {k}.")
        return q, v, k, axes

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None,
                             return_attention_scores: bool = False):
        """The output shape, or [output, scores] shapes; also takes one list of shapes."""
        if value_shape is None and isinstance(query_shape, list):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        q, v, k, axes = self._check_shapes(query_shape, value_shape, key_shape)
        output = (*q[:-1], *(self._output_shape or (q[-1],)))
        if not return_attention_scores:
            return output
        batch = [q[i] for i in range(len(q) - 1) if i not in axes]
        scores = (*batch, self._num_heads, *(q[a] for a in axes), *(k[a] for a in axes))
        return [output, scores]

    # --- weights ------------------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if value_shape is None and isinstance(query_shape, list):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        q, v, k, axes = self._check_shapes(query_shape, value_shape, key_shape)
        self._axes, self._rank = axes, len(q)
        heads = self._num_heads
        self.query_kernel, self.query_bias = self._dense("query", (q[-1], heads, self._key_dim))
        self.key_kernel, self.key_bias = self._dense("key", (k[-1], heads, self._key_dim))
        self.gate_kernel = self.gate_bias = None
        if self._use_gate:
            self.gate_kernel, self.gate_bias = self._dense("gate", (q[-1], heads, self._value_dim))
        self.value_kernel, self.value_bias = self._dense("value", (v[-1], heads, self._value_dim))
        out = self._output_shape or (q[-1],)
        self.output_kernel, self.output_bias = self._dense(
            "attention_output", (heads, self._value_dim, *out), bias_dims=len(out))

    # --- calling ------------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores: bool = False, training=None,
             use_causal_mask: bool = False):
        key = value if key is None else key
        self._check_call(query, value, key)
        fused = self._fuses(self._dropout, return_attention_scores, len(query.shape) + 1)
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask and not fused)
        q = self._project(query, self.query_kernel, self.query_bias)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        penalties = [q, k, v]
        if fused:
            output, scores = self._fused_attention(
                q, k, v, mask, use_causal_mask, 1.0 / math.sqrt(float(self._key_dim))), None
        else:
            output, scores = self._attend(q, k, v, mask, training)
        if self.gate_kernel is not None:
            gate = ops.sigmoid(self._project(query, self.gate_kernel, self.gate_bias))
            penalties.append(gate)
            output = output * gate
        output = self._project(output, self.output_kernel, self.output_bias, contract=2)
        penalties.append(output)
        if self._projection_activity_regularizer is not None:
            for t in penalties:
                self.add_loss(self._projection_activity_regularizer(t)
                              / ops.cast(ops.shape(t)[0], "float32"))
        return (output, scores) if return_attention_scores else output

    def _check_call(self, query, value, key) -> None:
        built = (self.query_kernel.shape[0], self.value_kernel.shape[0], self.key_kernel.shape[0])
        got = (query.shape[-1], value.shape[-1], key.shape[-1])
        ranks = {len(query.shape), len(value.shape), len(key.shape)}
        if got != built or ranks != {self._rank}:
            raise ValueError(
                f"Layer {self.name!r} (MultiHeadAttention) was built for query, value and key of "
                f"rank {self._rank} with last axes {built}, but received "
                f"shapes {tuple(query.shape)}, {tuple(value.shape)} and {tuple(key.shape)}.")

    def _project(self, x, kernel, bias, contract: int = 1):
        """Contract the last `contract` axes of x with the first ones of the kernel (+ bias)."""
        kernel = kernel.value
        free = _LETTERS[:len(x.shape) - contract]
        bound = "XY"[:contract]
        new = "ABCDEFGH"[:len(kernel.shape) - contract]
        out = ops.einsum(f"{free}{bound},{bound}{new}->{free}{new}", x, kernel)
        return out if bias is None else out + bias.value

    def _attend(self, q, k, v, mask, training):
        """Scaled dot-product attention over the attention axes; (output, scores)."""
        rank = len(q.shape)  # projected: (batch, ..., heads, head_dim)
        axes = self._axes
        target = _LETTERS[:rank]
        batch = [i for i in range(rank - 1) if i not in axes]
        source = list(target)
        for n, a in enumerate(axes):
            source[a] = _LETTERS[rank + n]
        source = "".join(source)
        product = ("".join(target[i] for i in batch) + "".join(target[a] for a in axes)
                   + "".join(source[a] for a in axes))
        q = q * (1.0 / math.sqrt(float(self._key_dim)))
        scores = ops.einsum(f"{source},{target}->{product}", k, q)
        if mask is not None:
            while len(mask.shape) < len(scores.shape):
                mask = ops.expand_dims(mask, -2 * len(axes) - 1)
            low = -3.0e4 if "float16" in ops.dtype(scores) else -1.0e9
            scores = ops.where(mask, scores, low)
        # Softmax jointly over the key's attention axes: flatten them into one.
        shape = tuple(scores.shape)
        flat = ops.reshape(scores, (*shape[:len(shape) - len(axes)], -1))
        scores = ops.reshape(ops.softmax(flat, axis=-1), shape)
        if mask is not None:  # a fully masked row attends to nothing (zeros), as in Keras
            scores = ops.where(mask, scores, ops.zeros_like(scores))
        applied = scores
        if training and self._dropout > 0:
            applied = random.dropout(scores, self._dropout, seed=self.seed_generator)
        return ops.einsum(f"{product},{source}->{target}", applied, v), scores

    def get_config(self) -> dict:
        def ser(module, value):
            return None if value is None else module.serialize(value)

        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout,
                "use_bias": self._use_bias, "use_gate": self._use_gate,
                "output_shape": self._output_shape, "attention_axes": self._attention_axes,
                "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": ser(regularizers, self.kernel_regularizer),
                "bias_regularizer": ser(regularizers, self.bias_regularizer),
                "activity_regularizer": ser(regularizers, self._projection_activity_regularizer),
                "kernel_constraint": ser(constraints, self.kernel_constraint),
                "bias_constraint": ser(constraints, self.bias_constraint), "seed": self.seed}
