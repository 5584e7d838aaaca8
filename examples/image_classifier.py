"""An image classifier with augmentation inside the model, on scikit-learn's 8x8 handwritten
digits (1797 images, no download).

The augmentation layers (small rotations, shifts and zooms, contrast changes, and erased
patches) act only while training: `fit` sees a freshly distorted copy of every image at every
epoch, drawn on the device inside the compiled step, while `evaluate` and `predict` see the
images as they are.

    python examples/image_classifier.py                       # JAX
    NHANH_BACKEND=torch python examples/image_classifier.py   # PyTorch
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nhanh
from nhanh import layers
from nhanh.layers.image_color_layers import RandomContrast
from nhanh.layers.image_mixing import RandomErasing
from nhanh.layers.image_warps import RandomRotation, RandomTranslation, RandomZoom

nhanh.utils.set_random_seed(0)

# 1. Data: pixel values 0..16 scaled to [0, 1], shaped (n, height, width, channels);
#    a fifth of the images, stratified by digit, is held out for testing.
digits = load_digits()
x = (digits.images / 16.0).astype("float32")[..., np.newaxis]
y = digits.target
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.2, stratify=y, random_state=0)

# 2. Model: augmentation first (identity at inference), then a small ConvNet.
augmentation = [
    RandomRotation(0.04, fill_mode="constant"),         # up to 0.04 turn (about 14 degrees)
    RandomTranslation(0.1, 0.1, fill_mode="constant"),  # up to 10% of the height / width
    RandomZoom(0.1, fill_mode="constant"),              # in or out by up to 10%
    RandomContrast(0.2, value_range=(0, 1)),
    RandomErasing(factor=0.3, scale=(0.02, 0.1), fill_value=0.0, value_range=(0, 1)),
]
model = nhanh.Sequential([
    layers.Input(shape=(8, 8, 1)),
    *augmentation,
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.BatchNormalization(),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, activation="relu", padding="same"),
    layers.BatchNormalization(),
    layers.Flatten(),
    layers.Dropout(0.3),
    layers.Dense(10, activation="softmax"),
])

# 3. Compile, train, evaluate on the held-out images.
model.compile(optimizer=nhanh.optimizers.Adam(learning_rate=0.002),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")
