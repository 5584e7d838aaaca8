"""A text classifier on raw strings: TextVectorization inside the model.

The data is real English text that ships with Python itself: the docstrings of the functions
and classes of standard-library modules, labelled by the topic of their module (numbers and
maths, text processing, files and the operating system, the internet and email). The model
takes the docstrings as plain Python strings in `fit` and `predict`: its TextVectorization
layer runs on the host, before the compiled step (see the summary), and the Embedding,
pooling and Dense layers run on the device. Nothing is downloaded.
"""

import importlib
import inspect

import numpy as np

import nhanh
from nhanh import layers

TOPICS = {
    "numbers": ["math", "cmath", "statistics", "decimal", "fractions", "random", "numbers",
                "operator"],
    "text": ["string", "re", "textwrap", "difflib", "unicodedata", "codecs", "locale",
             "gettext"],
    "files": ["os", "os.path", "shutil", "pathlib", "glob", "tempfile", "filecmp", "stat",
              "fnmatch", "zipfile", "tarfile"],
    "internet": ["socket", "http.client", "urllib.request", "urllib.parse", "smtplib",
                 "ftplib", "email.message", "email.utils", "imaplib", "poplib", "ssl"],
}


def docstrings(module_name: str) -> list[str]:
    """The docstrings of a module's public functions and classes (and their methods)."""
    module = importlib.import_module(module_name)
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isclass(obj) or callable(obj)):
            continue
        members = [obj] + [m for k, m in vars(obj).items()
                           if not k.startswith("_") and callable(m)] if inspect.isclass(obj) \
            else [obj]
        for member in members:
            doc = inspect.getdoc(member)
            if doc and len(doc.split()) >= 5:
                found.append(" ".join(doc.split()[:80]))
    return found


nhanh.utils.set_random_seed(0)
rng = np.random.default_rng(0)
texts, labels = [], []
for label, modules in enumerate(TOPICS.values()):
    docs = sorted({d for m in modules for d in docstrings(m)})  # each text once
    texts += docs
    labels += [label] * len(docs)
texts, labels = np.array(texts), np.array(labels, dtype="int32")
order = rng.permutation(len(texts))
texts, labels = texts[order], labels[order]
cut = int(0.8 * len(texts))
x_train, y_train, x_test, y_test = texts[:cut], labels[:cut], texts[cut:], labels[cut:]
print(f"{len(x_train)} training and {len(x_test)} held-out docstrings, "
      f"{len(TOPICS)} topics: {', '.join(TOPICS)}")

vectorize = layers.TextVectorization(max_tokens=4000, output_sequence_length=64)
vectorize.adapt(x_train)
model = nhanh.Sequential([
    layers.Input(shape=(), dtype="string"),  # one string per sample
    vectorize,
    layers.Embedding(4000, 32),
    layers.GlobalAveragePooling1D(),
    layers.Dense(len(TOPICS), activation="softmax"),
])
model.compile(optimizer=nhanh.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.summary(line_length=80)
model.fit(x_train, y_train, batch_size=32, epochs=15, validation_split=0.1, verbose=2)

predicted = model.predict(list(x_test), verbose=0).argmax(axis=-1)
accuracy = float(np.mean(predicted == y_test))
chance = float(np.max(np.bincount(y_test)) / len(y_test))
names = list(TOPICS)
for text, p in zip(x_test[:3], predicted[:3]):
    print(f"{names[p]:>9}: {text[:70]}")
print(f"majority-class accuracy: {chance:.4f}")
print(f"test accuracy: {accuracy:.4f}")
