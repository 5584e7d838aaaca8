"""A sequence task with Embedding + LSTM: is a sequence of tokens sorted?

Sequences of 3 to 10 tokens (ids 1..30, padded with 0 at the end) are either sorted or
shuffled; the padding is masked, so the LSTM sees only real tokens.
"""

import numpy as np

import nhanh
from nhanh import layers

nhanh.utils.set_random_seed(0)
rng = np.random.default_rng(0)

VOCAB, MAX_LEN, N = 31, 10, 3000


def make_sequence(sorted_):
    length = rng.integers(3, MAX_LEN + 1)
    tokens = rng.choice(np.arange(1, VOCAB), size=length, replace=False)
    tokens = np.sort(tokens) if sorted_ else rng.permutation(tokens)
    if not sorted_ and np.all(np.diff(tokens) > 0):  # a shuffle that came out sorted
        tokens = tokens[::-1]
    return np.pad(tokens, (0, MAX_LEN - length))


labels = rng.integers(0, 2, N)
x = np.stack([make_sequence(bool(label)) for label in labels]).astype("int32")
y = labels.astype("float32")

model = nhanh.Sequential([
    layers.Input((MAX_LEN,), dtype="int32"),
    layers.Embedding(VOCAB, 16, mask_zero=True),
    layers.LSTM(32),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=64, epochs=20, validation_split=0.2, verbose=2)
print(f"validation accuracy: {history.history['val_accuracy'][-1]:.4f}")
