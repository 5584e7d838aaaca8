"""Models that begin with host layers (TextVectorization, StringLookup, ...) take raw strings in
fit / evaluate / predict / *_on_batch and eager calls.

The reference is the same device part as a model of its own, fed the host layers' output by
hand (the layer called on the strings): same weights, same data order, so the same numbers
must come out, epoch by epoch."""

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops, optimizers
from nhanh.models.summary import DEVICE_LINE, HOST_LINE, summary_lines

POS, NEG = ["good", "great", "fine", "nice", "fun"], ["bad", "awful", "poor", "sad", "dull"]


def texts(n, seed=0, ragged=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    lengths = rng.integers(1, 6, n) if ragged else np.full(n, 4)
    x = np.array([" ".join(rng.choice(POS if t else NEG, k)) for t, k in zip(y, lengths)])
    return x, y.astype("float32")


def vectorizer(length=4):
    tv = layers.TextVectorization(max_tokens=16, output_sequence_length=length)
    tv.adapt(POS + NEG)
    return tv


def device_part():
    return [layers.Embedding(16, 4), layers.GlobalAveragePooling1D(),
            layers.Dense(1, activation="sigmoid")]


def twin_models(length=4):
    """(a Sequential on raw strings, the same device layers on token ids, same weights)."""
    tv = vectorizer(length)
    text_model = nhanh.Sequential([tv, *device_part()])
    text_model.build((None,))
    id_model = nhanh.Sequential([nhanh.Input((length,), dtype="int32"), *device_part()])
    id_model.set_weights(text_model.get_weights())
    for m in (text_model, id_model):
        m.compile(optimizers.SGD(learning_rate=0.5), "binary_crossentropy", metrics=["accuracy"])
    return tv, text_model, id_model


def test_sequential_fit_evaluate_predict_on_raw_strings_match_the_device_part_on_ids():
    x, y = texts(60)
    xv, yv = texts(20, seed=1)
    tv, text_model, id_model = twin_models()
    ids, ids_v = np.asarray(tv(x)), np.asarray(tv(xv))
    h_text = text_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                            validation_data=(list(xv), yv))
    h_ids = id_model.fit(ids, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                         validation_data=(ids_v, yv))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(h_text.history[key], h_ids.history[key], rtol=1e-5)
    assert h_text.history["accuracy"][-1] > 0.9  # the strings did carry the labels
    for a, b in zip(text_model.get_weights(), id_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(text_model.evaluate(xv, yv, verbose=0),
                               id_model.evaluate(ids_v, yv, verbose=0), rtol=1e-5)
    expected = id_model.predict(ids_v, verbose=0)
    np.testing.assert_allclose(text_model.predict(xv, verbose=0), expected,
                               rtol=1e-5)
    np.testing.assert_allclose(text_model.predict_on_batch(list(xv)), expected, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(text_model(xv)), expected, rtol=1e-5)


def test_on_batch_methods_and_validation_split_take_strings():
    x, y = texts(40)
    tv, text_model, id_model = twin_models()
    ids = np.asarray(tv(x))
    np.testing.assert_allclose(text_model.train_on_batch(x[:16], y[:16]),
                               id_model.train_on_batch(ids[:16], y[:16]), rtol=1e-5)
    np.testing.assert_allclose(text_model.test_on_batch(x, y), id_model.test_on_batch(ids, y),
                               rtol=1e-5)
    h_text = text_model.fit(x, y, epochs=1, batch_size=8, validation_split=0.25, shuffle=False,
                            verbose=0)
    h_ids = id_model.fit(ids, y, epochs=1, batch_size=8, validation_split=0.25, shuffle=False,
                         verbose=0)
    np.testing.assert_allclose(h_text.history["val_loss"], h_ids.history["val_loss"], rtol=1e-5)


def test_generator_batches_go_through_the_host_layers_per_batch():
    x, y = texts(48, ragged=True)
    tv = vectorizer(length=None)  # ragged: each batch pads to its own longest text
    model = nhanh.Sequential([tv, *device_part()])
    model.compile("adam", "binary_crossentropy")

    def batches():
        while True:
            for i in range(0, 48, 16):
                yield x[i:i + 16], y[i:i + 16]

    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    whole = model.predict(x, verbose=0)  # pads to the data's longest text, once
    by_batch = np.concatenate([ops.convert_to_numpy(model(x[i:i + 16]))
                               for i in range(0, 48, 16)])
    np.testing.assert_allclose(whole, by_batch, rtol=1e-5, atol=1e-6)


def test_functional_with_a_string_input_and_a_numeric_input():
    x, y = texts(40)
    rng = np.random.default_rng(3)
    num = rng.normal(size=(40, 2)).astype("float32")
    vocab = POS + NEG
    text = nhanh.Input(shape=(), dtype="string", name="text")
    extra = nhanh.Input(shape=(2,), name="extra")
    hot = layers.TextVectorization(output_mode="multi_hot", vocabulary=vocab, name="tv")(text)
    joined = layers.Concatenate(name="join")([hot, extra])
    out = layers.Dense(1, activation="sigmoid", name="head")(joined)
    model = nhanh.Model({"text": text, "extra": extra}, out)
    model.compile(optimizers.SGD(learning_rate=0.3), "binary_crossentropy")
    # The reference: the device part as its own functional model, fed the encoding by hand.
    hot_in, extra_in = nhanh.Input((len(vocab) + 1,)), nhanh.Input((2,))
    head = layers.Dense(1, activation="sigmoid")
    ref = nhanh.Model([hot_in, extra_in], head(layers.Concatenate()([hot_in, extra_in])))
    ref.set_weights(model.get_weights())
    ref.compile(optimizers.SGD(learning_rate=0.3), "binary_crossentropy")
    encoded = np.asarray(model.get_layer("tv")(x))
    h = model.fit({"text": x, "extra": num}, y, batch_size=8, epochs=2, shuffle=False,
                  validation_split=0.25, verbose=0)
    h_ref = ref.fit([encoded, num], y, batch_size=8, epochs=2, shuffle=False,
                    validation_split=0.25, verbose=0)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(h.history["val_loss"], h_ref.history["val_loss"], rtol=1e-5)
    expected = ref.predict([encoded, num], verbose=0)
    np.testing.assert_allclose(model.predict({"text": list(x), "extra": num}, verbose=0),
                               expected, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model({"text": x, "extra": num})), expected,
                               rtol=1e-5)


def test_summary_shows_the_host_device_boundary():
    text = nhanh.Input(shape=(), dtype="string", name="text")
    extra = nhanh.Input(shape=(2,), name="extra")
    ids = layers.StringLookup(vocabulary=POS, output_mode="one_hot", name="lookup")(text)
    out = layers.Dense(1, name="head")(layers.Concatenate(name="join")([ids, extra]))
    model = nhanh.Model([text, extra], out)
    lines = summary_lines(model, line_length=100)
    body = [ln.split()[0] for ln in lines if ln.strip() and not ln.startswith(("_", "="))]
    assert body.index("──") < body.index("text") < body.index("lookup") < \
        body.index("──", body.index("lookup")) < body.index("extra") < body.index("join")
    assert sum(HOST_LINE in ln for ln in lines) == 1
    assert sum(DEVICE_LINE in ln for ln in lines) == 1
    assert all(len(ln) == 100 for ln in lines[1:-3])
    plain = nhanh.Sequential([nhanh.Input((2,)), layers.Dense(1)])
    assert not any(HOST_LINE in ln for ln in summary_lines(plain, line_length=80))


def test_a_host_layer_after_a_device_layer_is_refused_with_both_names():
    model = nhanh.Sequential([nhanh.Input((3,)), layers.Dense(2, name="dense_first"),
                              layers.IntegerLookup(vocabulary=[1, 2], name="late_lookup")])
    model.compile("sgd", "mse")
    x = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match="late_lookup.*IntegerLookup.*dense_first.*Dense"):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match="late_lookup.*dense_first.*Move"):
        model.fit(x, np.ones((4, 3)), verbose=0)
    inp = nhanh.Input((3,))
    hidden = layers.Dense(2, name="proj")(inp)
    functional = nhanh.Model(inp, layers.Hashing(num_bins=4, name="late_hash")(hidden))
    with pytest.raises(ValueError, match="late_hash.*proj"):
        functional.predict(x, verbose=0)


def test_an_encoding_too_large_to_hold_whole_is_computed_batch_by_batch(monkeypatch):
    from nhanh.training import host_prefix

    x, y = texts(100)
    xv, yv = texts(30, seed=1)
    tv, text_model, id_model = twin_models()
    ids, ids_v = np.asarray(tv(x)), np.asarray(tv(xv))
    monkeypatch.setattr(host_prefix, "WHOLE_LIMIT", 64 * 4 * 4)  # 64 rows of 4 int32 ids
    calls = []
    real_encode = host_prefix.HostRows.encode
    monkeypatch.setattr(host_prefix.HostRows, "encode",
                        lambda self: calls.append(len(self)) or real_encode(self))
    h_text = text_model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                            validation_split=0.2)
    h_ids = id_model.fit(ids, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                         validation_split=0.2)
    assert calls and max(calls) == 16  # batch by batch, never the whole array
    np.testing.assert_allclose(h_text.history["loss"], h_ids.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(h_text.history["val_loss"], h_ids.history["val_loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(text_model.predict(xv, batch_size=16, verbose=0),
                               id_model.predict(ids_v, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(text_model.evaluate(xv, yv, batch_size=16, verbose=0),
                               id_model.evaluate(ids_v, yv, verbose=0), rtol=1e-5)
