"""GroupedQueryAttention (Keras's GroupQueryAttention): fewer key/value heads than query heads.

Each key/value head serves `num_query_heads // num_key_value_heads` query heads (Ainslie et al.,
2023), which shrinks the key/value projections and cache. The weights follow Keras's layout, in
its order, so Keras weights load with set_weights: query (dim, Hq, head_dim), key and value
(dim, Hkv, head_dim), their biases (heads, head_dim), an optional sigmoid gate shaped like the
query, and the output projection (Hq, head_dim, dim) with bias (dim,).
"""

from __future__ import annotations

import math

from nhanh import config, constraints, initializers, ops, random, regularizers
from nhanh.layers.projected_attention import ProjectedAttention


def _ser(module, value):
    return None if value is None else module.serialize(value)


class GroupedQueryAttention(ProjectedAttention):
    """Grouped-query attention of `query` (B, Tq, dim) over `value` (B, Tv, dim) (and `key`).

    Call as gqa(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False);
    attention_mask (B, Tq, Tv) is True where a query step may attend to a key step. The output
    has the query's shape; the scores are (B, num_query_heads, Tq, Tv).

    Args:
        head_dim: Positive int, the size of each attention head.
        num_query_heads: Positive int, the number of query heads.
        num_key_value_heads: Positive int dividing `num_query_heads`, the number of key and
            value heads.
        dropout: Float in [0, 1], fraction of attention weights dropped while training.
        use_bias: Whether the projections have biases.
        sliding_window: Positive int: a query step attends only to key steps less than this far
            away; `None` for no limit.
        flash_attention: `None` lets the engine pick its attention kernel; `True` requires a
            flash kernel (an error where there is none, e.g. on a CPU) and no dropout, as in
            Keras. The fused kernel (ops.dot_product_attention) runs whenever dropout is 0 and
            no scores are asked for, as in Keras.
        kernel_initializer: Initializer of the projection kernels.
        bias_initializer: Initializer of the projection biases.
        kernel_regularizer: Regularizer of the projection kernels, added to the loss.
        bias_regularizer: Regularizer of the projection biases.
        activity_regularizer: Regularizer of each projection's output and of the layer's output
            (as in Keras).
        kernel_constraint: Constraint applied to the projection kernels after each update.
        bias_constraint: Constraint applied to the projection biases after each update.
        use_gate: If True, multiply the attended values by a learned sigmoid gate computed from
            the query, before the output projection.
        seed: Int seed for the dropout draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _call_spelling = "gqa"
    _saved_prefix = "_"  # Keras's file: `_query_dense`, ... (see ProjectedAttention)
    # Keras's configs name it by its export (GroupQueryAttention); its weights-file path by
    # this class name (`grouped_query_attention`), as Keras's own class is called.
    _keras_name = "GroupQueryAttention"

    supports_masking = True

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int,
                 dropout: float = 0.0, use_bias: bool = True, sliding_window: int | None = None,
                 flash_attention: bool | None = None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate: bool = False, seed: int | None = None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for arg, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                           ("num_key_value_heads", num_key_value_heads)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"GroupQueryAttention: `{arg}` must be a positive integer, got "
                                 f"{arg}={value!r}.")
        if num_query_heads % num_key_value_heads:
            raise ValueError("GroupQueryAttention: `num_query_heads` must be divisible by "
                             f"`num_key_value_heads`, got {num_query_heads} and "
                             f"{num_key_value_heads}.")
        if sliding_window is not None and (not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError("GroupQueryAttention: `sliding_window` must be None or a positive "
                             f"integer, got {sliding_window!r}.")
        if not 0 <= dropout <= 1:
            raise ValueError(f"GroupQueryAttention: `dropout` must be in [0, 1], got {dropout!r}.")
        if (flash_attention or config.is_flash_attention_enabled()) and dropout > 0:
            raise ValueError("GroupQueryAttention: dropout is not supported with "
                             "flash_attention=True; set dropout=0.0 or flash_attention=None.")
        self.head_dim, self.num_query_heads = head_dim, num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), use_gate
        self.sliding_window = sliding_window
        self._flash_attention = flash_attention or config.is_flash_attention_enabled()
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if self.dropout > 0:
            self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    # --- weights ------------------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if value_shape is None and isinstance(query_shape, list):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"Layer {self.name!r} (GroupQueryAttention) expects {what} of "
                                 f"shape (batch, steps, dim) with a known dim, but received "
                                 f"{tuple(shape)}.")
        dim, hq, hkv, hd = query_shape[-1], self.num_query_heads, self.num_key_value_heads, \
            self.head_dim
        self.feature_dim = dim
        self.query_kernel, self.query_bias = self._dense("query", (dim, hq, hd))
        self.key_kernel, self.key_bias = self._dense("key", (key_shape[-1], hkv, hd))
        self.gate_kernel = self.gate_bias = None
        if self.use_gate:
            self.gate_kernel, self.gate_bias = self._dense("gate", (dim, hq, hd))
        self.value_kernel, self.value_bias = self._dense("value", (value_shape[-1], hkv, hd))
        self.output_kernel, self.output_bias = self._dense("attention_output", (hq, hd, dim),
                                                           bias_dims=1)

    # --- calling ------------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores: bool = False, training=None,
             use_causal_mask: bool = False):
        key = value if key is None else key
        fused = self._fuses(self.dropout, return_attention_scores, 4)
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask and not fused)
        q = self._project(query, self.query_kernel, self.query_bias, "bqm,muh->bquh")
        k = self._project(key, self.key_kernel, self.key_bias, "bkm,mvh->bkvh")
        v = self._project(value, self.value_kernel, self.value_bias, "bkm,mvh->bkvh")
        penalties = [q, k, v]
        scale = 1.0 / math.sqrt(float(self.head_dim))
        if fused:  # grouped heads as they are: query head i reads key/value head i // repeats
            output, scores = self._fused_attention(q, k, v, mask, use_causal_mask, scale), None
        else:
            output, scores = self._attend(q, k, v, mask, training, scale)
        if self.gate_kernel is not None:
            gate = ops.sigmoid(self._project(query, self.gate_kernel, self.gate_bias,
                                             "bqm,muh->bquh"))
            penalties.append(gate)
            output = output * gate
        output = self._project(output, self.output_kernel, self.output_bias, "bquh,uhm->bqm")
        if self.activity_regularizer is not None:
            for t in penalties:
                self.add_loss(self.activity_regularizer(t) / ops.cast(ops.shape(t)[0],
                                                                      "float32"))
        return (output, scores) if return_attention_scores else output

    def _attend(self, q, k, v, mask, training, scale: float):
        """Attention written out, for when the scores are wanted or dropout applies."""
        # Each key/value head serves num_repeats consecutive query heads.
        k = ops.repeat(k, self.num_repeats, axis=2)
        v = ops.repeat(v, self.num_repeats, axis=2)
        scores = ops.einsum("bquh,bkuh->buqk", q * scale, k)
        if mask is not None:
            mask = ops.expand_dims(mask, 1)  # (B, 1, Tq, Tv): the same for every head
            low = -3.0e4 if "float16" in ops.dtype(scores) else -1.0e9
            scores = ops.where(mask, scores, low)
        scores = ops.softmax(scores, axis=-1)
        applied = scores
        if training and self.dropout > 0:
            applied = random.dropout(scores, self.dropout, seed=self.seed_generator)
        return ops.einsum("buqk,bkuh->bquh", applied, v), scores

    @staticmethod
    def _project(x, kernel, bias, equation: str):
        out = ops.einsum(equation, x, kernel.value)
        return out if bias is None else out + bias.value

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "dropout": self.dropout,
                "use_bias": self.use_bias, "use_gate": self.use_gate,
                "sliding_window": self.sliding_window,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
                "bias_regularizer": _ser(regularizers, self.bias_regularizer),
                "activity_regularizer": _ser(regularizers, self.activity_regularizer),
                "kernel_constraint": _ser(constraints, self.kernel_constraint),
                "bias_constraint": _ser(constraints, self.bias_constraint), "seed": self.seed}


GroupQueryAttention = GroupedQueryAttention  # Keras's exported name
