"""Generators, iterators and DataLoaders as training data: step by step, same numbers."""

import numpy as np
import pytest

import nhanh
from nhanh import layers
from helpers import linear_data, linear_model


def _batches(x, y, batch_size, repeat=1):
    for _ in range(repeat):
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


class Batches:
    """A re-iterable sequence of batches with a length, like a Keras PyDataset."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        return _batches(self.x, self.y, self.batch_size)


def test_generator_training_equals_array_training_without_shuffle():
    x, y = linear_data(30)
    a, b = linear_model(), linear_model()
    b.set_weights(a.get_weights())
    ha = a.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(_batches(x, y, 4, repeat=3), steps_per_epoch=8, epochs=3, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-5)


def test_reiterable_source_restarts_each_epoch_and_validates():
    x, y = linear_data(30)
    model = linear_model()
    history = model.fit(Batches(x, y, 7), epochs=2, verbose=0,
                        validation_data=Batches(x[:10], y[:10], 5))
    assert set(history.history) == {"loss", "val_loss"} and len(history.epoch) == 2
    np.testing.assert_allclose(model.evaluate(Batches(x[:10], y[:10], 5), verbose=0),
                               history.history["val_loss"][-1], rtol=1e-5)
    np.testing.assert_allclose(model.predict(Batches(x, y, 7), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_exhausted_generator_stops_training_with_a_warning():
    x, y = linear_data(20)
    model = linear_model()
    with pytest.warns(RuntimeWarning, match="ran out of batches"):
        history = model.fit(_batches(x, y, 5), steps_per_epoch=4, epochs=3, verbose=0)
    assert history.epoch == [0]


def test_torch_dataloader():
    torch = pytest.importorskip("torch")
    x, y = linear_data(32)
    dataset = torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float32),
                                             torch.tensor(y, dtype=torch.float32))
    loader = torch.utils.data.DataLoader(dataset, batch_size=8)
    model = linear_model()
    history = model.fit(loader, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    np.testing.assert_allclose(model.evaluate(loader, verbose=0),
                               model.evaluate(x, y, batch_size=8, verbose=0), rtol=1e-5)


def test_bad_generator_batches():
    x, y = linear_data(8)
    model = linear_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="y cannot be given with a generator"):
        model.fit(_batches(x, y, 4), y, verbose=0)
    with pytest.raises(TypeError, match="must be numeric"):
        model.fit(iter([(np.array([["a", "b"]]), np.array([1.0]))]), verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        model.fit(iter([]), verbose=0)
    with pytest.raises(ValueError, match="validation_split needs array data"):
        model.fit(_batches(x, y, 4), validation_split=0.5, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_built_from_the_first_batch():
    x, y = linear_data(16)
    model = nhanh.Sequential([layers.Dense(3, activation="relu"), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(_batches(x, y, 4), epochs=1, verbose=0)
    assert model.input_shape == (None, 2)
