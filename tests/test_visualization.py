"""nhanh.visualization against Keras 3's keras.visualization (Keras on JAX in this process)
where Keras's runs without OpenCV (masks, galleries: the same pixels in every axis), and by
pixels one can predict where it does not (draw_bounding_boxes: the outline's colour at known
coordinates). Plots render on matplotlib's Agg canvas."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nhanh.visualization import (draw_bounding_boxes, draw_segmentation_masks,
                                 plot_bounding_box_gallery, plot_image_gallery,
                                 plot_segmentation_mask_gallery)

os.environ.setdefault("KERAS_BACKEND", "jax")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")
pytestmark = pytest.mark.engine_independent  # NumPy and matplotlib; no engine involved


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images_and_masks(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (3, 6, 7, 3)).astype("float32")
    masks = rng.integers(-1, 4, (3, 6, 7, 1)).astype("int32")
    return images, masks


def shown(fig):
    """The arrays shown in the figure's axes, in order."""
    return [np.asarray(ax.images[0].get_array()) for ax in fig.axes if ax.images]


@pytest.mark.parametrize("kwargs", [{}, {"num_classes": 5, "alpha": 0.3},
                                    {"blend": False}, {"ignore_index": 2},
                                    {"color_mapping": {0: (1, 2, 3), 1: (250, 0, 9),
                                                       2: (0, 0, 0), 3: (9, 9, 9)}}])
def test_draw_segmentation_masks_matches_keras(keras, kwargs):
    images, masks = images_and_masks()
    ours = draw_segmentation_masks(images, masks, **kwargs)
    # Keras 3.15.1 infers num_classes as the largest class, leaving that class unpainted
    # (its later source adds 1, as nhanh does): give it the count
    theirs = np.asarray(keras.visualization.draw_segmentation_masks(
        images, masks, **{"num_classes": int(masks.max()) + 1, **kwargs}))
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    first = draw_segmentation_masks(images.transpose(0, 3, 1, 2), masks.transpose(0, 3, 1, 2),
                                    data_format="channels_first", **kwargs)
    np.testing.assert_array_equal(first, theirs)
    np.testing.assert_array_equal(draw_segmentation_masks(images, masks[..., 0], **kwargs),
                                  theirs)  # masks without a channel axis


def test_draw_segmentation_masks_errors():
    images, masks = images_and_masks()
    with pytest.raises(TypeError, match="integer"):
        draw_segmentation_masks(images, masks.astype("float32"))
    with pytest.raises(ValueError, match="batch"):
        draw_segmentation_masks(images[0], masks[0])
    with pytest.raises(ValueError, match="missing"):
        draw_segmentation_masks(images, masks, color_mapping={0: (1, 1, 1)})


def test_draw_bounding_boxes_outlines_at_known_pixels():
    images = np.zeros((2, 16, 16, 3), "uint8")
    boxes = {"boxes": np.array([[[2, 3, 10, 12], [0, 0, 15, 15]],
                                [[4, 4, 8, 8], [1, 1, 5, 5]]], "float32"),
             "labels": np.array([[0, -1], [1, 0]])}
    out = draw_bounding_boxes(images, boxes, "xyxy", color=(255, 0, 0), line_thickness=1)
    red = np.array([255, 0, 0])
    assert out.shape == images.shape and out.dtype == np.uint8
    drawn = np.zeros((16, 16), bool)
    drawn[3, 2:11] = drawn[12, 2:11] = drawn[3:13, 2] = drawn[3:13, 10] = True
    np.testing.assert_array_equal(out[0].any(-1), drawn)  # the -1 box is not drawn
    assert (out[0][drawn] == red).all()
    assert (out[1][4, 4:9] == red).all() and (out[1][1, 1:6] == red).all()
    # a thicker line grows inward; other formats give the same picture
    thick = draw_bounding_boxes(images, boxes, "xyxy", color=(0, 9, 0), line_thickness=2)
    assert (thick[0, 4, 3:10] == [0, 9, 0]).all() and not thick[0, 5, 4:9].any()
    xywh = {"boxes": np.concatenate([boxes["boxes"][..., :2], boxes["boxes"][..., 2:]
                                     - boxes["boxes"][..., :2]], -1), "labels": boxes["labels"]}
    np.testing.assert_array_equal(
        draw_bounding_boxes(images, xywh, "xywh", color=(255, 0, 0), line_thickness=1), out)
    first = draw_bounding_boxes(images.transpose(0, 3, 1, 2), boxes, "xyxy",
                                color=(255, 0, 0), line_thickness=1,
                                data_format="channels_first")
    np.testing.assert_array_equal(first, out)
    # floats in [0, 1] are scaled to [0, 255]
    half = draw_bounding_boxes(np.full((1, 16, 16, 3), 0.5, "float32"),
                               {"boxes": boxes["boxes"][:1], "labels": boxes["labels"][:1]},
                               "xyxy", line_thickness=1)
    assert half[0, 8, 6].tolist() == [127, 127, 127]


def test_draw_bounding_boxes_writes_class_names():
    images = np.zeros((1, 40, 60, 3), "uint8")
    boxes = {"boxes": np.array([[[5, 20, 50, 38]]], "float32"), "labels": np.array([[3]]),
             "confidences": np.array([[0.9]])}
    plain = draw_bounding_boxes(images, boxes, "xyxy", color=(0, 255, 0), line_thickness=1)
    named = draw_bounding_boxes(images, boxes, "xyxy", class_mapping={3: "cat"},
                                color=(0, 255, 0), line_thickness=1)
    text = named.any(-1) & ~plain.any(-1)
    assert text[:20].any() and not text[21:].any()  # written above the box
    with pytest.raises(ValueError, match="'boxes'"):
        draw_bounding_boxes(images, {"boxes": boxes["boxes"]}, "xyxy")


def test_plot_image_gallery_matches_keras(keras, tmp_path):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (4, 5, 6, 3)).astype("float32")
    fig = plot_image_gallery(images, value_range=(0, 1), show=False)
    keras.visualization.plot_image_gallery(images, value_range=(0, 1), show=False)
    theirs = shown(plt.gcf())
    ours = shown(fig)
    assert len(ours) == len(theirs) == 4 and len(fig.axes) == 4
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    five = plot_image_gallery(np.concatenate([images, images[:1]]), value_range=(0, 1),
                              show=False)
    assert len(shown(five)) == 5 and len(five.axes) == 6  # 3 x 2, one cell blank
    titled = plot_image_gallery(images, y_true=np.array([0, 1, 1, 0]), y_pred=[1, 1, 0, 0],
                                label_map={0: "cat", 1: "dog"}, value_range=(0, 1),
                                show=False)
    assert titled.axes[0].get_title() == "Label: cat  Pred: dog"
    path = tmp_path / "gallery.png"
    plot_image_gallery(images, value_range=(0, 1), path=str(path))
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="label_map"):
        plot_image_gallery(images, y_true=[0, 1, 1, 0])
    with pytest.raises(ValueError, match="path"):
        plot_image_gallery(images, path=str(path), show=True)


def test_plot_segmentation_mask_gallery_matches_keras(keras):
    images, masks = images_and_masks()
    pred = np.roll(masks, 1, axis=2)
    fig = plot_segmentation_mask_gallery(images, num_classes=4, y_true=masks, y_pred=pred,
                                         show=False)
    keras.visualization.plot_segmentation_mask_gallery(images, num_classes=4, y_true=masks,
                                                       y_pred=pred, show=False)
    ours, theirs = shown(fig), shown(plt.gcf())
    assert len(ours) == len(theirs) == 9
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_plot_bounding_box_gallery_draws_both_sets():
    images = np.zeros((2, 16, 16, 3), "float32")
    y_true = {"boxes": np.array([[[1, 1, 6, 6]], [[2, 2, 9, 9]]], "float32"),
              "labels": np.array([[0], [0]])}
    y_pred = {"boxes": np.array([[[8, 8, 14, 14]], [[3, 3, 12, 12]]], "float32"),
              "labels": np.array([[0], [-1]])}
    fig = plot_bounding_box_gallery(images, "xyxy", y_true=y_true, y_pred=y_pred,
                                    line_thickness=1, legend=True, rows=1, cols=2, show=False)
    first, second = shown(fig)
    assert first[1, 1:7].tolist() == [[0, 188, 212]] * 6  # true box
    assert first[8, 8:15].tolist() == [[255, 235, 59]] * 7  # predicted box
    assert not (second == [255, 235, 59]).all(-1).any()  # padded prediction: not drawn
    assert len(fig.legends) == 1
    with pytest.raises(ValueError, match="legend"):
        plot_bounding_box_gallery(images, "xyxy", y_true=y_true, legend=True,
                                  legend_handles=[object()], show=False)
