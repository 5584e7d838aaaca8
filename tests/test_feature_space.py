"""nhanh.utils.FeatureSpace against a NumPy reference written from Keras 3's documented
semantics (Keras's own FeatureSpace runs every call through TensorFlow, which is not
installed here): normalization with the population variance, lookups indexed by descending
frequency after one OOV slot, FarmHash64 bins for hashing, digitize for given bin
boundaries, one-hot of each index space, concatenation in sorted feature order then crosses."""

import farmhash
import numpy as np
import pytest

import nhanh
from nhanh import layers
from nhanh.layers.feature_space import FeatureSpace

COLORS = ["red"] * 5 + ["green"] * 4 + ["blue"] * 3  # no ties: frequency decides the order
SIZES = [7] * 6 + [3] * 4 + [9] * 2


def data(seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(12)
    return {"color": np.array(COLORS)[order], "size": np.array(SIZES, "int32")[order],
            "weight": rng.normal(3.0, 2.0, 12).astype("float32"),
            "price": rng.uniform(-1, 2, 12).astype("float32"),
            "city": np.array(["hanoi", "hue", "hcm", "hanoi"] * 3)[order],
            "zip": rng.integers(100, 200, 12).astype("int32")}


def one_hot(index, depth):
    return np.eye(depth, dtype="float32")[np.asarray(index)]


def reference(train, x):
    """The encoding of `x` after adapting on `train`, computed directly."""
    mean, var = train["weight"].mean(), train["weight"].var()
    color_vocab, size_vocab = ["red", "green", "blue"], [7, 3, 9]
    color = [1 + color_vocab.index(c) if c in color_vocab else 0 for c in x["color"]]
    size = [1 + size_vocab.index(s) if s in size_vocab else 0 for s in x["size"]]
    return {
        "city": one_hot([farmhash.fingerprint64(c) % 8 for c in x["city"]], 8),
        "color": one_hot(color, 4),
        "price": one_hot(np.digitize(x["price"], [0.0, 1.0]), 3),
        "size": one_hot(size, 4),
        "weight": ((x["weight"] - mean) / np.sqrt(var))[:, None],
        "zip": one_hot([farmhash.fingerprint64(str(z)) % 8 for z in x["zip"]], 8),
        "scaled": (2.0 * x["weight"] + 1.0)[:, None],
    }


def make_space(output_mode="concat", crosses=None):
    return FeatureSpace({  # not in sorted order: concat sorts
        "weight": "float_normalized",
        "color": "string_categorical",
        "zip": FeatureSpace.integer_hashed(num_bins=8),
        "price": FeatureSpace.float_discretized(None, bin_boundaries=[0.0, 1.0]),
        "city": FeatureSpace.string_hashed(num_bins=8),
        "size": "integer_categorical",
    }, output_mode=output_mode, crosses=crosses)


def test_concat_matches_the_reference_in_sorted_order():
    train, test = data(0), data(1)
    test["color"][:2] = ["purple", "red"]  # an unseen value goes to the OOV slot
    test["size"][0] = 42
    space = make_space()
    space.adapt(train)
    expected = reference(train, test)
    order = ["city", "color", "price", "size", "weight", "zip"]
    np.testing.assert_allclose(space(test), np.concatenate([expected[n] for n in order], -1),
                               rtol=1e-5, atol=1e-6)
    one = space({k: v[3] for k, v in test.items()})  # one unbatched sample
    np.testing.assert_allclose(one, np.concatenate([expected[n][3] for n in order]), rtol=1e-5,
                               atol=1e-6)


def test_dict_mode_int_outputs_and_crosses_of_looked_up_indices():
    train = data(0)
    space = FeatureSpace({"color": FeatureSpace.string_categorical(output_mode="int"),
                          "size": FeatureSpace.integer_categorical(output_mode="int"),
                          "scaled": FeatureSpace.float_rescaled(scale=2.0, offset=1.0)},
                         crosses=[FeatureSpace.cross(("color", "size"), crossing_dim=16)],
                         output_mode="dict")
    space.adapt({**train, "scaled": train["weight"]})
    out = space({**train, "scaled": train["weight"]})
    assert sorted(out) == ["color", "color_X_size", "scaled", "size"]
    ref = reference(train, train)
    np.testing.assert_array_equal(out["color"], ref["color"].argmax(-1)[:, None])
    np.testing.assert_array_equal(out["size"], ref["size"].argmax(-1)[:, None])
    np.testing.assert_allclose(out["scaled"], ref["scaled"], rtol=1e-6)
    # The cross hashes the looked-up indices (not the raw values), then one-hot encodes.
    crossed = layers.HashedCrossing(16)([out["color"], out["size"]])
    np.testing.assert_array_equal(out["color_X_size"], one_hot(np.asarray(crossed)[:, 0], 16))
    raw = layers.HashedCrossing(16)([train["color"][:, None], train["size"][:, None]])
    assert not np.array_equal(np.asarray(raw), np.asarray(crossed))


def test_adapt_on_batches_equals_adapt_on_the_whole_dict_and_config_round_trips():
    train, test = data(0), data(2)
    whole = make_space(crosses=[("color", "city")])
    whole.adapt(train)
    batched = make_space(crosses=[("color", "city")])
    batched.adapt({k: v[i:i + 5] for k, v in train.items()} for i in range(0, 12, 5))
    np.testing.assert_allclose(batched(test), whole(test), rtol=1e-5, atol=1e-6)
    rebuilt = FeatureSpace.from_config(whole.get_config())
    assert rebuilt.output_mode == "concat" and [c.name for c in rebuilt.crosses] == \
        ["color_X_city"]
    rebuilt.adapt(train)
    np.testing.assert_allclose(rebuilt(test), whole(test), rtol=1e-5, atol=1e-6)
    plain = FeatureSpace.from_config(FeatureSpace({"w": "float"}).get_config())
    np.testing.assert_array_equal(plain({"w": [1.5, -2.0]}), [[1.5], [-2.0]])


def test_a_model_on_get_inputs_trains_on_raw_dicts():
    train = data(0)
    space = make_space()
    space.adapt(train)
    inputs, encoded = space.get_inputs(), space.get_encoded_features()
    assert sorted(inputs) == sorted(train) and encoded.shape == (None, 8 + 4 + 3 + 4 + 1 + 8)
    head = layers.Dense(1, activation="sigmoid", name="head")
    model = nhanh.Model(inputs, head(encoded))
    model.compile("adam", "binary_crossentropy")
    y = (train["color"] == "red").astype("float32")
    model.fit(train, y, epochs=2, batch_size=4, verbose=0)
    kernel, bias = head.get_weights()
    expected = 1 / (1 + np.exp(-(space(train) @ kernel + bias)))
    np.testing.assert_allclose(model.predict(train, verbose=0), expected, rtol=1e-4, atol=1e-6)


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="unknown type 'floaty'"):
        FeatureSpace({"a": "floaty"})
    with pytest.raises(ValueError, match=r"\['a'\].*output_mode='int'.*dict"):
        FeatureSpace({"a": FeatureSpace.string_categorical(output_mode="int")})
    with pytest.raises(ValueError, match=r"\['b'\]"):
        FeatureSpace({"a": "string_categorical"}, crosses=[("a", "b")])
    space = FeatureSpace({"a": "string_categorical"})
    with pytest.raises(ValueError, match="adapt"):
        space({"a": ["x"]})
    space.adapt({"a": ["x", "y"]})
    with pytest.raises(ValueError, match=r"lacks features \['a'\]"):
        space({"b": ["x"]})
