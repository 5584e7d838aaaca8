"""A small ConvNet on scikit-learn's 8x8 handwritten digits (1797 images, no download).

    python examples/digits_cnn.py                       # JAX
    NHANH_BACKEND=torch python examples/digits_cnn.py   # PyTorch
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nhanh
from nhanh import layers

nhanh.utils.set_random_seed(0)

# 1. Data: pixel values 0..16 scaled to [0, 1], shaped (n, height, width, channels);
#    a fifth of the images, stratified by digit, is held out for testing.
digits = load_digits()
x = (digits.images / 16.0).astype("float32")[..., np.newaxis]
y = digits.target
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.2, stratify=y, random_state=0)

# 2. Model.
model = nhanh.Sequential([
    layers.Input(shape=(8, 8, 1)),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.BatchNormalization(),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, activation="relu", padding="same"),
    layers.BatchNormalization(),
    layers.Flatten(),
    layers.Dropout(0.5),
    layers.Dense(10, activation="softmax"),
])

# 3. Compile, train, evaluate on the held-out images.
model.compile(optimizer=nhanh.optimizers.Adam(learning_rate=0.001),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")
