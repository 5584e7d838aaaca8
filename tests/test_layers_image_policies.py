"""RandAugment and AugMix: with their random picks fixed by hand they must equal their
sub-layers composed (the sub-layers are checked against Keras in test_layers_image_color.py and
the geometric tests); seeded, training-only, and advancing inside a compiled fit."""

import numpy as np
import pytest

import nhanh
from nhanh.layers.image_policies import AugMix, RandAugment
from tests.conftest import to_numpy

X = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")


def compiled(fn, x=X):
    """fn(images) as numbers; compiled on JAX, where eager ops.switch compiles every branch."""
    if nhanh.config.backend() == "jax":
        import jax

        return np.asarray(jax.jit(fn)(x))
    return to_numpy(fn(nhanh.ops.convert_to_tensor(x)))


def test_rand_augment_applies_the_picked_layers_in_order():
    layer = RandAugment(num_ops=2, factor=0.5, seed=1)
    names = layer.op_names
    assert names[3:6] == ("random_brightness", "random_color_degeneration", "random_contrast")
    t = layer.get_random_transformation({"images": X})
    t["layer_idxes"] = np.array([3, 5], "int32")
    brightness, contrast = layer.ops_layers[3], layer.ops_layers[5]
    bt, ct = t["transforms"][3], t["transforms"][5]

    def expected(x):
        return contrast.transform_images(brightness.transform_images(x, bt), ct)

    np.testing.assert_allclose(compiled(lambda x: layer.transform_images(x, t)),
                               compiled(expected), rtol=1e-5, atol=1e-3)


def test_aug_mix_mixes_its_chains():
    layer = AugMix(num_chains=2, chain_depth=1, factor=0.3, all_ops=False, seed=2)
    t = layer.get_random_transformation({"images": X})
    n = len(layer.ops_layers)
    assert n == 7
    t["chain_mixing_weights"] = np.array([0.25, 0.75], "float32")
    t["weight_sample"] = np.float32(0.4)
    (a,), (b,) = t["chain_transforms"]
    a["pick"], b["pick"] = np.int32(5), np.int32(n)  # auto-contrast; nothing
    one = layer.ops_layers[5].transform_images(nhanh.ops.convert_to_tensor(X), None)
    expected = np.clip(0.4 * X + 0.6 * (0.25 * to_numpy(one) + 0.75 * X), 0, 255)
    np.testing.assert_allclose(compiled(lambda x: layer.transform_images(x, t)), expected,
                               rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("make", [lambda: RandAugment(num_ops=1, seed=3),
                                  lambda: AugMix(num_chains=2, chain_depth=1, seed=3)],
                         ids=["RandAugment", "AugMix"])
def test_seeded_draws_training_only_and_config(make):
    a, b = make(), make()
    ta, tb = a.get_random_transformation({"images": X}), b.get_random_transformation(
        {"images": X})
    flat_a, flat_b = nhanh.tree.flatten(ta), nhanh.tree.flatten(tb)
    for u, v in zip(flat_a, flat_b):
        if not isinstance(u, int):
            np.testing.assert_array_equal(to_numpy(u), to_numpy(v))
    again = nhanh.tree.flatten(a.get_random_transformation({"images": X}))
    assert any(not np.array_equal(to_numpy(u), to_numpy(v))
               for u, v in zip(flat_a, again) if not isinstance(u, int))
    np.testing.assert_array_equal(to_numpy(a(X, training=False)), X)
    config = a.get_config()
    assert type(a).from_config(config).get_config() == config


def test_policies_train_inside_fit_and_draw_anew_each_step():
    rand_augment = RandAugment(num_ops=1, factor=0.3, seed=3)
    aug_mix = AugMix(num_chains=1, chain_depth=1, all_ops=False, seed=3)
    model = nhanh.Sequential([nhanh.Input((8, 8, 3)), rand_augment, aug_mix,
                              nhanh.layers.Flatten(), nhanh.layers.Dense(1)])
    model.compile("sgd", "mse")  # one model: PyTorch's step capture is paid once
    before = [int(to_numpy(p.generator.state.value)[1]) for p in (rand_augment, aug_mix)]
    history = model.fit(X / 255.0, np.ones((2, 1), "float32"), batch_size=1, epochs=2,
                        verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    after = [int(to_numpy(p.generator.state.value)[1]) for p in (rand_augment, aug_mix)]
    assert all(a >= b + 4 for a, b in zip(after, before)), (before, after)  # 4 steps
    np.testing.assert_allclose(model.predict(X, verbose=0), model.predict(X, verbose=0))
