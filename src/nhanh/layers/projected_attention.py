"""What MultiHeadAttention and GroupQueryAttention share: called on (query, value, key),
projected by einsum kernels with optional biases, and masked by one combined boolean mask."""

from __future__ import annotations

from nhanh import config, ops
from nhanh.layers.attention import causal_mask
from nhanh.layers.layer import Layer, to_tensors


class ProjectedAttention(Layer):
    """Base of the attention layers whose query, key and value are projected per head.

    A subclass sets `use_bias`, `sliding_window` (None for none), the initializers,
    regularizers and constraints of its kernels and biases, and `build(query_shape,
    value_shape, key_shape)`.
    """

    _call_spelling = "attention"  # how the error for a missing `value` spells the call
    #: How Keras's weights file spells the projections' sub-layers: MultiHeadAttention's are
    #: public (`query_dense`), GroupQueryAttention's private (`_query_dense`); both gates are
    #: private.
    _saved_prefix = ""

    # --- Keras's file layout ------------------------------------------------------------------
    def saving_children(self):
        """Each projection as the EinsumDense sub-layer Keras saves it in (its kernel, then its
        bias), so `.keras` and `.weights.h5` files are Keras's."""
        from nhanh.layers.saved_sublayer import SavedSublayer

        for part, name in (("query", "query"), ("key", "key"), ("value", "value"),
                           ("output", "attention_output"), ("gate", "gate")):
            kernel = getattr(self, f"{part}_kernel", None)
            if kernel is None:
                continue
            prefix = "_" if part == "gate" else self._saved_prefix
            yield f"{prefix}{part}_dense", SavedSublayer(
                name, [kernel, getattr(self, f"{part}_bias", None)])

    def saving_variables(self) -> list:
        return []  # all of them live in the projections' sub-layers (saving_children)

    def _dense(self, name: str, kernel_shape: tuple, bias_dims: int = 2):
        """A projection's kernel and (with `use_bias`) its bias over the last `bias_dims` axes."""
        kernel = self.add_weight(kernel_shape, self.kernel_initializer,
                                 regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint, name=f"{name}/kernel")
        bias = None
        if self.use_bias:
            bias = self.add_weight(kernel_shape[-bias_dims:], self.bias_initializer,
                                   regularizer=self.bias_regularizer,
                                   constraint=self.bias_constraint, name=f"{name}/bias")
        return kernel, bias

    def __call__(self, query, value=None, key=None, *, query_mask=None, value_mask=None,
                 key_mask=None, attention_mask=None, return_attention_scores: bool = False,
                 training=None, use_causal_mask: bool = False, mask=None, **kwargs):
        """Builds from all three input shapes (the base layer sees only the query's)."""
        if value is None:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) must be called as "
                             f"{self._call_spelling}(query, value, key=None, ...); `value` is "
                             "missing.")
        query, value = to_tensors(query, self.dtype), to_tensors(value, self.dtype)
        key = None if key is None else to_tensors(key, self.dtype)
        if mask is not None:  # masks as a model passes them: one per input, or the query's
            masks = (list(mask) if isinstance(mask, (list, tuple)) else [mask]) + [None] * 3
            query_mask = masks[0] if query_mask is None else query_mask
            value_mask = masks[1] if value_mask is None else value_mask
            key_mask = masks[2] if key_mask is None else key_mask
        if not self.built:
            self.build(tuple(query.shape), tuple(value.shape),
                       None if key is None else tuple(key.shape))
        return super().__call__(query, value, key, query_mask=query_mask, value_mask=value_mask,
                                key_mask=key_mask, attention_mask=attention_mask,
                                return_attention_scores=return_attention_scores,
                                training=training, use_causal_mask=use_causal_mask, **kwargs)

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        """Every mask given, combined into one boolean (B, Tq, Tv) mask (or None)."""
        mask = None

        def both(a, b):
            return b if a is None else ops.logical_and(a, b)

        if query_mask is not None:
            mask = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
        for m in (value_mask, key_mask):
            if m is not None:
                mask = both(mask, ops.expand_dims(ops.cast(m, "bool"), -2))
        tq, tv = query.shape[1], value.shape[1]
        if use_causal_mask:
            mask = both(mask, causal_mask(tq, tv))
        if self.sliding_window is not None:
            rows = ops.expand_dims(ops.arange(tq), 1)
            cols = ops.expand_dims(ops.arange(tv), 0)
            near = ops.less(ops.abs(rows - cols), self.sliding_window)
            mask = both(mask, ops.expand_dims(near, 0))
        if attention_mask is not None:
            mask = both(mask, ops.cast(attention_mask, "bool"))
        return mask

    def _fuses(self, dropout: float, return_attention_scores: bool, projected_rank: int) -> bool:
        """Whether to run ops.dot_product_attention (the engine's fused kernel), as Keras does:
        no dropout, no scores asked for, and projected inputs (batch, steps, heads, dim)."""
        flash = self._flash_attention or config.is_flash_attention_enabled()
        if flash and return_attention_scores:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) cannot return "
                             "attention scores with flash attention enabled; pass "
                             "flash_attention=None (or False) to get the scores.")
        return dropout == 0 and not return_attention_scores and projected_rank == 4

    def _fused_attention(self, q, k, v, mask, use_causal_mask: bool, scale: float):
        """Projected (B, T, heads, dim) tensors attended with ops.dot_product_attention; `mask`
        is the combined (B, T, S) mask without the causal part, which goes as is_causal."""
        if mask is not None:
            mask = ops.expand_dims(mask, 1)  # the same for every head
        flash = self._flash_attention or config.is_flash_attention_enabled()
        return ops.dot_product_attention(q, k, v, mask=mask, scale=scale,
                                         is_causal=use_causal_mask, flash_attention=flash)

    def compute_mask(self, inputs, mask=None):
        """The output is masked like the query."""
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask
