"""Train a classifier, export it to ONNX, and serve predictions with onnxruntime alone.

The model learns scikit-learn's iris flowers (4 measurements, 3 species; nothing is
downloaded). `model.export(path, format="onnx")` writes one file with the weights inside and a
free batch axis; the serving side (`make_classifier`) needs only onnxruntime and NumPy, not
nhanh, JAX or PyTorch, and answers any batch size.

    python examples/serve_onnx.py                       # trained on JAX
    NHANH_BACKEND=torch python examples/serve_onnx.py   # trained on PyTorch
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

import nhanh
from nhanh import layers


def train(epochs: int = 60):
    """(model, standardised test features, test labels, species names)."""
    nhanh.utils.set_random_seed(0)
    data = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float32"), data.target, test_size=0.3, stratify=data.target,
        random_state=0)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    model = nhanh.Sequential([
        layers.Input((4,), name="measurements"),
        layers.Dense(16, activation="relu"),
        layers.Dense(3, activation="softmax", name="species"),
    ])
    model.compile(optimizer=nhanh.optimizers.Adam(0.02),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=16, verbose=0)
    return model, x_test, y_test, list(data.target_names)


def make_classifier(path: str):
    """A function batch -> predicted class indices, running the ONNX file with onnxruntime
    (this is all a server needs)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def classify(batch: np.ndarray) -> np.ndarray:
        probabilities = session.run(None, {input_name: np.asarray(batch, np.float32)})[0]
        return probabilities.argmax(axis=-1)

    classify.session = session
    return classify


def main(epochs: int = 60, path: str | None = None) -> dict:
    """Train, export, serve; print and return what was seen."""
    model, x_test, y_test, names = train(epochs)
    with tempfile.TemporaryDirectory() as folder:
        path = path or os.path.join(folder, "iris.onnx")
        model.export(path, format="onnx", verbose=False)
        print(f"exported to {path} ({os.path.getsize(path)} bytes)")
        classify = make_classifier(path)

    served = classify(x_test)
    for features, label, guess in list(zip(x_test, y_test, served))[:5]:
        print(f"  {np.round(features, 2)} -> {names[guess]:<10} (true: {names[label]})")
    print(f"served one at a time: {[int(classify(x_test[i:i + 1])[0]) for i in range(3)]}")

    expected = model.predict(x_test, verbose=0)
    probabilities = classify.session.run(None, {"measurements": x_test})[0]
    agreement = float(np.mean(served == expected.argmax(axis=-1)))
    difference = float(np.abs(probabilities - expected).max())
    accuracy = float(np.mean(served == y_test))
    print(f"agreement with predict: {agreement:.4f}")
    print(f"max abs difference from predict: {difference:.2e}")
    print(f"test accuracy (onnxruntime): {accuracy:.4f}")
    return {"agreement": agreement, "difference": difference, "accuracy": accuracy}


if __name__ == "__main__":
    main()
