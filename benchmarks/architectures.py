"""Real architectures for bench.py: a Transformer encoder, an LSTM and ResNet-20.

bench.py's layer-tuple workloads are Sequential stacks that one small interpreter per family can
build. These models have branches (residuals, projection shortcuts), carried state (batch-norm
statistics) and recurrences, so each one is written out once per contender family instead:

    build_keras(K, spec)   the Keras functional model, for K = nhanh or keras (same code)
    build_jax(spec)        (params, model_state, apply); apply(params, model_state, x, key)
                           -> (logits, model_state), pure JAX, training mode
    build_torch(spec)      an nn.Module mapping a batch to logits (NCHW for images)
    make_data(spec, n)     the same seeded (x, y) for every contender

A spec is a frozen dataclass of the model's sizes; its type picks the functions. The hand-written
JAX models start from Keras's initialisers (glorot-uniform kernels, uniform(-0.05, 0.05)
embeddings, orthogonal recurrent kernels, zero biases, unit forget bias) drawn with NumPy; the
torch models keep torch's own initialisers, so their losses agree only in range, not in digits.
jax and torch are imported inside the builders: each worker process loads only its engine.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


# --- specs -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Transformer:
    """Token + learned position embedding, post-norm encoder blocks, mean pooling, softmax."""
    vocab: int = 10_000
    seq: int = 128
    dim: int = 128
    heads: int = 4
    key_dim: int = 32
    ff: int = 512
    blocks: int = 2
    dropout: float = 0.1
    classes: int = 2
    ln_epsilon: float = 1e-6   # as Keras's text-classification example

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (self.seq,)


@dataclasses.dataclass(frozen=True)
class LSTM:
    """Embedding -> LSTM (last output) -> softmax."""
    vocab: int = 10_000
    seq: int = 100
    dim: int = 64
    units: int = 128
    classes: int = 2

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (self.seq,)


@dataclasses.dataclass(frozen=True)
class ResNet:
    """ResNet-20 of He et al.'s CIFAR experiments: 3 stages x `blocks` basic blocks."""
    image: int = 32
    channels: int = 3
    filters: tuple[int, ...] = (16, 32, 64)
    blocks: int = 3
    classes: int = 10
    bn_momentum: float = 0.99  # Keras's defaults (torch: momentum = 1 - 0.99)
    bn_epsilon: float = 1e-3

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (self.image, self.image, self.channels)

    def strides(self) -> list[tuple[int, int]]:
        """(filters, stride) of every basic block: stride 2 opens stages 2 and 3."""
        return [(f, 2 if s and not b else 1) for s, f in enumerate(self.filters)
                for b in range(self.blocks)]


Spec = Transformer | LSTM | ResNet


def make_data(spec: Spec, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded inputs and int32 labels. Token labels say whether most ids lie in the lower half of
    the vocabulary, a bag-of-words rule the models can learn; image labels are random."""
    rng = np.random.default_rng(0)
    if isinstance(spec, ResNet):
        x = rng.standard_normal((samples, *spec.sample_shape), dtype=np.float32)
        return x, rng.integers(0, spec.classes, samples).astype(np.int32)
    ids = rng.integers(0, spec.vocab, (samples, spec.seq)).astype(np.int32)
    y = (ids < spec.vocab // 2).sum(axis=1) > spec.seq // 2
    return ids, y.astype(np.int32)


def param_count(spec: Spec) -> int:
    """Trainable parameters of the Keras form of the model (a check on the builders)."""
    if isinstance(spec, Transformer):
        d, h, k = spec.dim, spec.heads, spec.key_dim
        block = 3 * (d * h * k + h * k) + h * k * d + d + 2 * (d * spec.ff) + spec.ff + d + 4 * d
        return (spec.vocab + spec.seq) * d + spec.blocks * block + d * spec.classes + spec.classes
    if isinstance(spec, LSTM):
        u = spec.units
        return spec.vocab * spec.dim + 4 * u * (spec.dim + u + 1) + u * spec.classes + spec.classes
    total, cin = 9 * spec.channels * spec.filters[0] + 2 * spec.filters[0], spec.filters[0]
    for f, stride in spec.strides():
        total += 9 * cin * f + 9 * f * f + 4 * f + ((cin * f + 2 * f) if stride > 1 else 0)
        cin = f
    return total + cin * spec.classes + spec.classes


# --- nhanh / Keras: one functional model for both ---------------------------------------------
def build_keras(K, spec: Spec):
    """The Keras functional model (softmax output), for K = nhanh or keras."""
    return {Transformer: _keras_transformer, LSTM: _keras_lstm, ResNet: _keras_resnet}[
        type(spec)](K, spec)


def _keras_transformer(K, s: Transformer):
    class TokenAndPositionEmbedding(K.layers.Layer):
        """Token embedding plus a learned embedding of positions 0..seq-1 (Keras's example)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.tokens = K.layers.Embedding(s.vocab, s.dim)
            self.positions = K.layers.Embedding(s.seq, s.dim)

        def call(self, ids):
            return self.tokens(ids) + self.positions(K.ops.arange(s.seq))

    L = K.layers
    inputs = K.Input(shape=(s.seq,), dtype="int32")
    x = TokenAndPositionEmbedding()(inputs)
    for _ in range(s.blocks):
        attended = L.MultiHeadAttention(num_heads=s.heads, key_dim=s.key_dim)(x, x)
        x = L.LayerNormalization(epsilon=s.ln_epsilon)(L.Add()([x, L.Dropout(s.dropout)(attended)]))
        fed = L.Dense(s.dim)(L.Dense(s.ff, activation="relu")(x))
        x = L.LayerNormalization(epsilon=s.ln_epsilon)(L.Add()([x, L.Dropout(s.dropout)(fed)]))
    x = L.GlobalAveragePooling1D()(x)
    return K.Model(inputs, L.Dense(s.classes, activation="softmax")(x))


def _keras_lstm(K, s: LSTM):
    inputs = K.Input(shape=(s.seq,), dtype="int32")
    x = K.layers.LSTM(s.units)(K.layers.Embedding(s.vocab, s.dim)(inputs))
    return K.Model(inputs, K.layers.Dense(s.classes, activation="softmax")(x))


def _keras_resnet(K, s: ResNet):
    L = K.layers

    def conv_bn(x, filters, size, stride):
        x = L.Conv2D(filters, size, strides=stride, padding="same", use_bias=False)(x)
        return L.BatchNormalization(momentum=s.bn_momentum, epsilon=s.bn_epsilon)(x)

    inputs = K.Input(shape=s.sample_shape)
    x = L.Activation("relu")(conv_bn(inputs, s.filters[0], 3, 1))
    for filters, stride in s.strides():
        y = conv_bn(L.Activation("relu")(conv_bn(x, filters, 3, stride)), filters, 3, 1)
        shortcut = conv_bn(x, filters, 1, stride) if stride > 1 else x
        x = L.Activation("relu")(L.Add()([y, shortcut]))
    x = L.GlobalAveragePooling2D()(x)
    return K.Model(inputs, L.Dense(s.classes, activation="softmax")(x))


# --- hand-written JAX -------------------------------------------------------------------------
def _glorot(rng, shape, fan_in, fan_out):
    limit = math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def build_jax(spec: Spec):
    """(params, model_state, apply): NumPy-initialised pytrees and a pure training-mode forward
    pass returning logits (the loss applies the softmax)."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(42)
    params, model_state, apply = {Transformer: _jax_transformer, LSTM: _jax_lstm,
                                  ResNet: _jax_resnet}[type(spec)](spec, rng, jax, jnp)
    # One fresh device buffer per leaf: the state is donated, so no two leaves may share one.
    return jax.tree.map(jnp.asarray, params), jax.tree.map(jnp.asarray, model_state), apply


def _jax_dropout(jax, jnp, x, rate, key):
    keep = jax.random.bernoulli(key, 1 - rate, x.shape)
    return jnp.where(keep, x / (1 - rate), 0.0)


def _jax_layer_norm(jnp, x, p, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + eps) * p["gamma"] + p["beta"]


def _jax_transformer(s: Transformer, rng, jax, jnp):
    d, h, k = s.dim, s.heads, s.key_dim

    def norm():
        return {"gamma": np.ones(d, np.float32), "beta": np.zeros(d, np.float32)}

    def block():
        p = {n: _glorot(rng, (d, h, k), d, h * k) for n in ("wq", "wk", "wv")}
        p.update({n: np.zeros((h, k), np.float32) for n in ("bq", "bk", "bv")})
        p.update(wo=_glorot(rng, (h, k, d), h * k, d), bo=np.zeros(d, np.float32),
                 w1=_glorot(rng, (d, s.ff), d, s.ff), b1=np.zeros(s.ff, np.float32),
                 w2=_glorot(rng, (s.ff, d), s.ff, d), b2=np.zeros(d, np.float32),
                 ln1=norm(), ln2=norm())
        return p

    params = {"tokens": rng.uniform(-0.05, 0.05, (s.vocab, d)).astype(np.float32),
              "positions": rng.uniform(-0.05, 0.05, (s.seq, d)).astype(np.float32),
              "blocks": [block() for _ in range(s.blocks)],
              "head": _glorot(rng, (d, s.classes), d, s.classes),
              "head_bias": np.zeros(s.classes, np.float32)}

    def apply(params, model_state, ids, key):
        x = params["tokens"][ids] + params["positions"][None]
        keys = jax.random.split(key, 2 * len(params["blocks"]))
        for i, p in enumerate(params["blocks"]):
            q = jnp.einsum("btd,dhk->bthk", x, p["wq"]) + p["bq"]
            kk = jnp.einsum("btd,dhk->bthk", x, p["wk"]) + p["bk"]
            v = jnp.einsum("btd,dhk->bthk", x, p["wv"]) + p["bv"]
            weights = jax.nn.softmax(jnp.einsum("bqhk,bshk->bhqs", q, kk) / math.sqrt(k), -1)
            attended = jnp.einsum("bhqs,bshk->bqhk", weights, v)
            attended = jnp.einsum("bqhk,hkd->bqd", attended, p["wo"]) + p["bo"]
            x = _jax_layer_norm(jnp, x + _jax_dropout(jax, jnp, attended, s.dropout, keys[2 * i]),
                                p["ln1"], s.ln_epsilon)
            fed = jax.nn.relu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
            x = _jax_layer_norm(jnp, x + _jax_dropout(jax, jnp, fed, s.dropout, keys[2 * i + 1]),
                                p["ln2"], s.ln_epsilon)
        return x.mean(1) @ params["head"] + params["head_bias"], model_state

    return params, (), apply


def _jax_lstm(s: LSTM, rng, jax, jnp):
    u = s.units
    q, r = np.linalg.qr(rng.standard_normal((4 * u, u)))  # Keras's orthogonal initialiser
    bias = np.zeros(4 * u, np.float32)
    bias[u:2 * u] = 1.0  # unit_forget_bias
    params = {"embeddings": rng.uniform(-0.05, 0.05, (s.vocab, s.dim)).astype(np.float32),
              "kernel": _glorot(rng, (s.dim, 4 * u), s.dim, 4 * u),
              "recurrent": (q * np.sign(np.diag(r))).T.astype(np.float32),
              "bias": bias,
              "head": _glorot(rng, (u, s.classes), u, s.classes),
              "head_bias": np.zeros(s.classes, np.float32)}

    def apply(params, model_state, ids, key):
        x = params["embeddings"][ids] @ params["kernel"] + params["bias"]  # (B, T, 4u), all steps

        def cell(carry, x_t):  # Keras's gate order: input, forget, cell, output
            h, c = carry
            i, f, g, o = jnp.split(x_t + h @ params["recurrent"], 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None

        zeros = jnp.zeros((ids.shape[0], u), x.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
        return h @ params["head"] + params["head_bias"], model_state

    return params, (), apply


def _jax_resnet(s: ResNet, rng, jax, jnp):
    def conv(size, cin, cout):
        return _glorot(rng, (size, size, cin, cout), size * size * cin, size * size * cout)

    def bn(c):
        return ({"gamma": np.ones(c, np.float32), "beta": np.zeros(c, np.float32)},
                {"mean": np.zeros(c, np.float32), "var": np.ones(c, np.float32)})

    cin = s.filters[0]
    params, state = {"stem": conv(3, s.channels, cin)}, {}
    params["stem_bn"], state["stem_bn"] = bn(cin)
    params["blocks"], state["blocks"] = [], []
    for filters, stride in s.strides():
        p, st = {"conv1": conv(3, cin, filters), "conv2": conv(3, filters, filters)}, {}
        p["bn1"], st["bn1"] = bn(filters)
        p["bn2"], st["bn2"] = bn(filters)
        if stride > 1:  # projection shortcut; its presence is what makes the block stride 2
            p["proj"] = conv(1, cin, filters)
            p["proj_bn"], st["proj_bn"] = bn(filters)
        params["blocks"].append(p)
        state["blocks"].append(st)
        cin = filters
    params["head"] = _glorot(rng, (cin, s.classes), cin, s.classes)
    params["head_bias"] = np.zeros(s.classes, np.float32)

    def conv2d(x, kernel, stride):
        return jax.lax.conv_general_dilated(x, kernel, (stride, stride), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def batch_norm(x, p, st):
        """Training mode: batch statistics; the moving ones follow, Keras's way."""
        mean = x.mean((0, 1, 2))
        var = ((x - mean) ** 2).mean((0, 1, 2))
        m = s.bn_momentum
        new = {"mean": st["mean"] * m + jax.lax.stop_gradient(mean) * (1 - m),
               "var": st["var"] * m + jax.lax.stop_gradient(var) * (1 - m)}
        return (x - mean) / jnp.sqrt(var + s.bn_epsilon) * p["gamma"] + p["beta"], new

    def apply(params, model_state, x, key):
        new_state = {"blocks": []}
        x, new_state["stem_bn"] = batch_norm(conv2d(x, params["stem"], 1), params["stem_bn"],
                                             model_state["stem_bn"])
        x = jax.nn.relu(x)
        for p, st in zip(params["blocks"], model_state["blocks"]):
            stride, new = (2 if "proj" in p else 1), {}
            y, new["bn1"] = batch_norm(conv2d(x, p["conv1"], stride), p["bn1"], st["bn1"])
            y, new["bn2"] = batch_norm(conv2d(jax.nn.relu(y), p["conv2"], 1), p["bn2"], st["bn2"])
            if "proj" in p:
                x, new["proj_bn"] = batch_norm(conv2d(x, p["proj"], 2), p["proj_bn"],
                                               st["proj_bn"])
            x = jax.nn.relu(y + x)
            new_state["blocks"].append(new)
        return x.mean((1, 2)) @ params["head"] + params["head_bias"], new_state

    return params, state, apply


# --- hand-written PyTorch ---------------------------------------------------------------------
def build_torch(spec: Spec):
    """An nn.Module (torch's own initialisers) mapping a batch to logits."""
    from torch import nn
    return {Transformer: _torch_transformer, LSTM: _torch_lstm, ResNet: _torch_resnet}[
        type(spec)](spec, nn)


def _torch_transformer(s: Transformer, nn):
    import torch

    class Block(nn.Module):
        """Post-norm encoder block; dropout only after attention and after the feed-forward
        (nn.TransformerEncoderLayer would also drop attention weights and hidden units)."""

        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(s.dim, s.heads, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(s.dim, s.ff), nn.ReLU(), nn.Linear(s.ff, s.dim))
            self.norm1 = nn.LayerNorm(s.dim, eps=s.ln_epsilon)
            self.norm2 = nn.LayerNorm(s.dim, eps=s.ln_epsilon)
            self.drop = nn.Dropout(s.dropout)

        def forward(self, x):
            x = self.norm1(x + self.drop(self.attention(x, x, x, need_weights=False)[0]))
            return self.norm2(x + self.drop(self.ff(x)))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(s.vocab, s.dim)
            self.positions = nn.Embedding(s.seq, s.dim)
            self.blocks = nn.Sequential(*[Block() for _ in range(s.blocks)])
            self.head = nn.Linear(s.dim, s.classes)
            self.register_buffer("steps", torch.arange(s.seq), persistent=False)

        def forward(self, ids):
            x = self.tokens(ids) + self.positions(self.steps)
            return self.head(self.blocks(x).mean(1))

    return Model()


def _torch_lstm(s: LSTM, nn):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(s.vocab, s.dim)
            self.lstm = nn.LSTM(s.dim, s.units, batch_first=True)  # gates i, f, g, o
            self.head = nn.Linear(s.units, s.classes)

        def forward(self, ids):
            _, (h, _) = self.lstm(self.embedding(ids))
            return self.head(h[-1])

    return Model()


def _torch_resnet(s: ResNet, nn):
    def conv_bn(cin, cout, size, stride):
        return [nn.Conv2d(cin, cout, size, stride, padding=size // 2, bias=False),
                nn.BatchNorm2d(cout, eps=s.bn_epsilon, momentum=1 - s.bn_momentum)]

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(),
                                      *conv_bn(cout, cout, 3, 1))
            self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride > 1 \
                else nn.Identity()

        def forward(self, x):
            return (self.body(x) + self.shortcut(x)).relu()

    layers, cin = [*conv_bn(s.channels, s.filters[0], 3, 1), nn.ReLU()], s.filters[0]
    for filters, stride in s.strides():
        layers.append(Block(cin, filters, stride))
        cin = filters
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(cin, s.classes))
