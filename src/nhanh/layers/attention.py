"""Attention over [query, value(, key)]: Attention (dot-product, Luong) and AdditiveAttention
(Bahdanau)."""

from __future__ import annotations

from nhanh import ops, random
from nhanh.layers.layer import Layer

_SCORE_MODES = ("dot", "concat")


def large_negative(dtype: str) -> float:
    """A score that softmax turns into ~0 without overflowing the dtype."""
    return 65504.0 if "float16" in str(dtype) else 1.0e9


def causal_mask(tq: int, tv: int):
    """(1, tq, tv) boolean mask: query step i may see value steps j <= i."""
    rows = ops.expand_dims(ops.arange(tq), 1)
    cols = ops.expand_dims(ops.arange(tv), 0)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)


class Attention(Layer):
    """Dot-product attention: softmax(query . key^T) . value, with optional learned scale
    (use_scale) or tanh(query + key) scores (score_mode='concat').

    Called on [query (B, Tq, dim), value (B, Tv, dim)] or [query, value, key (B, Tv, dim)],
    optionally with mask=[query_mask (B, Tq), value_mask (B, Tv)].

    Args:
        use_scale: If True, learn a scalar that multiplies the scores (in "concat" mode, the query
            + key sums before tanh).
        score_mode: `"dot"` (query . key) or `"concat"` (sum of tanh(query + key), times a learned
            scalar).
        dropout: Float in [0, 1], fraction of attention weights dropped while training.
        seed: Int seed for the dropout draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in _SCORE_MODES:
            raise ValueError(f"{type(self).__name__}: `score_mode` must be one of "
                             f"{_SCORE_MODES}, got score_mode={score_mode!r}.")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{type(self).__name__}: `dropout` must be in [0, 1], got "
                             f"{dropout!r}.")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed
        self.scale = self.concat_score_weight = None
        if self.dropout > 0:
            self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    # --- shapes -----------------------------------------------------------------------------
    def _check(self, input_shape) -> tuple[tuple, tuple, tuple]:
        """(query, value, key) shapes, or a ValueError naming the layer and the shapes."""
        layer = f"Layer {self.name!r} ({type(self).__name__})"
        if not isinstance(input_shape, (list, tuple)) or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{layer} must be called on a list [query, value] or [query, value, "
                             f"key], but received one input of shape {input_shape}.")
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) not in (2, 3):
            raise ValueError(f"{layer} expects a list of 2 or 3 inputs [query, value(, key)], but "
                             f"received {len(shapes)}, with shapes {shapes}.")
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) == 3 else v
        problem = None
        if len(q) < 3 or len(q) != len(v) or len(q) != len(k):
            problem = "query, value and key of one rank >= 3: (batch, steps, dim)"
        elif not _same(q[-1], k[-1]):
            problem = "query and key with the same last axis (dim)"
        elif not _same(v[-2], k[-2]):
            problem = "value and key with the same number of steps (Tv)"
        elif not all(_same(a, b) and _same(a, c) for a, b, c in zip(q[:-2], v[:-2], k[:-2])):
            problem = "query, value and key with the same batch axes"
        if problem:
            raise ValueError(f"{layer} expects {problem}, but received query shape {q}, value "
                             f"shape {v} and key shape {k}.")
        return q, v, k

    def compute_output_shape(self, input_shape, return_attention_scores: bool = False):
        q, v, k = self._check(input_shape)
        output = (*q[:-1], v[-1])
        return [output, (*q[:-1], k[-2])] if return_attention_scores else output

    def build(self, input_shape) -> None:
        self._check(input_shape)
        if self.use_scale:
            self.scale = self.add_weight((), "ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight((), "ones", name="concat_score_weight")

    # --- computing ----------------------------------------------------------------------------
    def _scores(self, query, key):
        """(B, Tq, Tv) unnormalised attention scores."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return scores * self.scale.value if self.scale is not None else scores
        pairs = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)
        if self.scale is not None:
            pairs = self.scale.value * pairs
        return self.concat_score_weight.value * ops.sum(ops.tanh(pairs), axis=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores: bool = False,
             use_causal_mask: bool = False):
        self._check([tuple(x.shape) for x in inputs])
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = _split_mask(self, mask)
        scores = self._scores(query, key)
        keep = None if value_mask is None else ops.expand_dims(ops.cast(value_mask, "bool"), -2)
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            keep = causal if keep is None else ops.logical_and(keep, causal)
        if keep is not None:
            # Masked scores are pushed down (not replaced), so a fully masked row stays finite.
            scores = ops.where(keep, scores, scores - large_negative(ops.dtype(scores)))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            # As in Keras, the returned scores are the ones applied (after dropout).
            weights = random.dropout(weights, self.dropout, seed=self.seed_generator)
        output = ops.matmul(weights, value)
        if query_mask is not None:
            keep_q = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
            output = ops.where(keep_q, output, ops.zeros_like(output))
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        """The query mask (if any) masks the output."""
        query_mask, _ = _split_mask(self, mask)
        return query_mask

    def get_config(self) -> dict:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention: scores = sum(scale * tanh(query + key), axis=-1), scale a learned
    vector of size dim when use_scale (the default).

    Called like `Attention`: on [query, value] or [query, value, key], with optional masks.

    Args:
        use_scale: If True, learn the per-feature `scale` vector; otherwise the scale is 1.
        dropout: Float in [0, 1], fraction of attention weights dropped while training.
        seed: Int seed for the dropout draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None,
                 **kwargs):
        super().__init__(use_scale=use_scale, score_mode="concat", dropout=dropout, seed=seed,
                         **kwargs)

    def build(self, input_shape) -> None:
        q, _, _ = self._check(input_shape)
        if self.use_scale:
            if q[-1] is None:
                raise ValueError(f"Layer {self.name!r} (AdditiveAttention) needs a known last "
                                 f"axis of the query to create its scale, got query shape {q}.")
            self.scale = self.add_weight((q[-1],), "glorot_uniform", name="scale")

    def _scores(self, query, key):
        pairs = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
        if self.scale is not None:
            pairs = self.scale.value * pairs
        return ops.sum(pairs, axis=-1)

    def get_config(self) -> dict:
        config_ = super().get_config()
        del config_["score_mode"]
        return config_


def _same(a, b) -> bool:
    return a is None or b is None or a == b


def _split_mask(layer: Layer, mask) -> tuple:
    if mask is None:
        return None, None
    if not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3):
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) takes mask=[query_mask, "
                         f"value_mask], but received mask={mask!r}.")
    return mask[0], mask[1]
