"""More kinds of data for fit / evaluate / predict: pandas, dicts for named inputs, grain and
tf.data datasets. Each gives the same History, weights and predictions as NumPy arrays."""

import numpy as np
import pandas as pd
import pytest

import nhanh
from nhanh import layers

X = np.random.default_rng(1).normal(size=(18, 3)).astype("float32")
Y = (X @ np.array([[0.5], [-1.0], [2.0]], "float32") - 0.2).astype("float32")
SW = np.linspace(0.5, 1.5, 18).astype("float32")
BS = 4


def _sequential(seed=5):
    nhanh.utils.set_random_seed(seed)
    model = nhanh.Sequential([layers.Dense(3, activation="tanh", input_shape=(3,)),
                              layers.Dense(1)])
    model.compile(optimizer=nhanh.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def _two_inputs(seed=5):
    nhanh.utils.set_random_seed(seed)
    a, b = nhanh.Input((2,), name="a"), nhanh.Input((1,), name="b")
    out = layers.Dense(1)(layers.Dense(3, activation="tanh")(layers.Concatenate()([a, b])))
    model = nhanh.Model([a, b], out)
    model.compile(optimizer=nhanh.optimizers.SGD(0.05), loss="mse")
    return model


def _same(ha, hb, a, b):
    assert ha.history.keys() == hb.history.keys()
    for k in ha.history:
        np.testing.assert_allclose(ha.history[k], hb.history[k], rtol=1e-5, atol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def _fit(model, x, y=None, **kw):
    return model.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0, **kw)


def test_pandas_frames_and_series_are_arrays():
    frame = pd.DataFrame(X, columns=["p", "q", "r"])
    a, b = _sequential(), _sequential()
    ha = _fit(a, X, Y, sample_weight=SW, validation_data=(X[:6], Y[:6]))
    hb = _fit(b, frame, pd.Series(Y[:, 0]), sample_weight=pd.Series(SW),
              validation_data=(frame[:6], pd.Series(Y[:6, 0])))
    _same(ha, hb, a, b)
    np.testing.assert_allclose(a.predict(X, verbose=0), b.predict(frame, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(a.evaluate(X, Y, verbose=0),
                               b.evaluate(frame, pd.Series(Y[:, 0]), verbose=0), rtol=1e-6)

    one = nhanh.Sequential([layers.Dense(1, input_shape=(1,))])
    assert one.predict(pd.Series(X[:, 0]), verbose=0).shape == (18, 1)  # Keras: (n,) -> (n, 1)
    with pytest.raises(TypeError, match="numeric"):
        b.predict(pd.DataFrame({"p": ["x"] * 3, "q": [1.0] * 3, "r": [2.0] * 3}), verbose=0)


def test_dicts_for_named_inputs_equal_lists():
    xa, xb = X[:, :2], X[:, 2:]
    a, b, c = _two_inputs(), _two_inputs(), _two_inputs()
    ha = _fit(a, [xa, xb], Y)
    hb = _fit(b, {"b": xb, "a": xa}, Y)  # order of the keys does not matter
    hc = _fit(c, {"a": pd.DataFrame(xa), "b": pd.Series(xb[:, 0])}, pd.Series(Y[:, 0]))
    _same(ha, hb, a, b)
    _same(ha, hc, a, c)
    np.testing.assert_allclose(a.predict([xa, xb], verbose=0),
                               b.predict({"a": xa, "b": xb}, verbose=0), rtol=1e-6)


def _grain_records():
    return [(X[i], Y[i]) for i in range(len(X))]


def test_grain_datasets_and_loader_give_the_arrays_numbers():
    grain = pytest.importorskip("grain")  # a test dependency; absent only in a bare install
    a = _sequential()
    ha = _fit(a, X, Y)
    batched = grain.MapDataset.source(_grain_records()).batch(BS)
    loader = grain.DataLoader(
        data_source=_grain_records(),
        sampler=grain.samplers.IndexSampler(len(X), num_epochs=1, shuffle=False, seed=0),
        operations=[grain.transforms.Batch(BS)], worker_count=0)
    for source in (batched, batched.to_iter_dataset(), loader):
        b = _sequential()
        hb = b.fit(source, epochs=2, verbose=0, shuffle=False)
        _same(ha, hb, a, b)
        np.testing.assert_allclose(a.predict(X, batch_size=BS, verbose=0),
                                   b.predict(source, verbose=0), rtol=1e-6)
    endless = batched.repeat()
    a, b = _sequential(), _sequential()
    _same(a.fit(X, Y, batch_size=BS, epochs=2, steps_per_epoch=3, shuffle=False, verbose=0),
          b.fit(endless, epochs=2, steps_per_epoch=3, verbose=0), a, b)


def test_tf_data_dataset_gives_the_arrays_numbers():
    tf = pytest.importorskip("tensorflow")  # not a dependency of nhanh: runs where installed
    a, b = _sequential(), _sequential()
    ha = _fit(a, X, Y, sample_weight=SW)
    dataset = tf.data.Dataset.from_tensor_slices((X, Y, SW)).batch(BS)
    hb = b.fit(dataset, epochs=2, verbose=0, shuffle=False)
    _same(ha, hb, a, b)
    np.testing.assert_allclose(a.predict(X, verbose=0),
                               b.predict(tf.data.Dataset.from_tensor_slices(X).batch(5),
                                         verbose=0), rtol=1e-6)
    c = _two_inputs()
    named = tf.data.Dataset.from_tensor_slices(({"a": X[:, :2], "b": X[:, 2:]}, Y)).batch(BS)
    hc = c.fit(named.repeat(), epochs=2, steps_per_epoch=5, verbose=0)
    d = _two_inputs()
    _same(hc, _fit(d, [X[:, :2], X[:, 2:]], Y), c, d)
