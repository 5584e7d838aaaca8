"""A functional model with two inputs and two outputs, on scikit-learn's breast-cancer data.

The 30 measurements of each tumour are split in two inputs: the 9 "mean ..." features other
than 'mean area', and the 20 "... error" and "worst ..." features. Each input goes through its
own Dense branch; the branches are concatenated and feed two heads:

- "area": regression of the (standardised) 'mean area', which is not among the inputs;
- "diagnosis": classification, malignant (0) or benign (1).

    python examples/functional_two_inputs.py                       # JAX
    NHANH_BACKEND=torch python examples/functional_two_inputs.py   # PyTorch
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import nhanh
from nhanh import layers

nhanh.utils.set_random_seed(0)

# 1. Data: hold out a fifth (stratified by diagnosis), standardise with the training statistics.
data = load_breast_cancer()
names = list(data.feature_names)
x_train, x_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.2, stratify=data.target, random_state=0)
scaler = StandardScaler().fit(x_train)
x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

area = names.index("mean area")
means = [i for i, n in enumerate(names) if n.startswith("mean") and i != area]
others = [i for i, n in enumerate(names) if not n.startswith("mean")]


def split(x, y):
    inputs = {"means": x[:, means], "others": x[:, others]}
    targets = {"area": x[:, area], "diagnosis": y}
    return inputs, targets


train_inputs, train_targets = split(x_train, y_train)
test_inputs, test_targets = split(x_test, y_test)

# 2. Model: two inputs, a branch each, concatenated, two heads.
means_in = layers.Input(shape=(len(means),), name="means")
others_in = layers.Input(shape=(len(others),), name="others")
a = layers.Dense(16, activation="relu")(means_in)
b = layers.Dense(16, activation="relu")(others_in)
h = layers.Concatenate()([a, b])
h = layers.Dense(16, activation="relu")(h)
area_out = layers.Dense(1, name="area")(h)
diagnosis_out = layers.Dense(1, activation="sigmoid", name="diagnosis")(h)
model = nhanh.Model(inputs=[means_in, others_in], outputs=[area_out, diagnosis_out])

# 3. Per-output losses, loss weights and metrics, keyed by output name.
model.compile(optimizer=nhanh.optimizers.Adam(learning_rate=0.003),
              loss={"area": "mse", "diagnosis": "binary_crossentropy"},
              loss_weights={"area": 0.5, "diagnosis": 1.0},
              metrics={"diagnosis": ["accuracy"]})
model.fit(train_inputs, train_targets, epochs=50, batch_size=32, verbose=0)

# 4. Evaluate on the held-out tumours; the regression baseline predicts the training mean (0).
results = model.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
baseline = np.mean((test_targets["area"] - train_targets["area"].mean()) ** 2)
print(f"test diagnosis accuracy: {results['diagnosis_accuracy']:.4f}")
print(f"test area mse: {results['area_loss']:.4f}")
print(f"baseline area mse (predict the mean): {baseline:.4f}")
