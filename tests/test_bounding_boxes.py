"""nhanh.utils.bounding_boxes against Keras 3's keras.utils.bounding_boxes (Keras on JAX in
this process, same inputs): every pair of formats, clipping, crop/pad, affine hulls, IoU and
CIoU, anchor deltas; and the densifying of ragged per-image box lists, checked by hand."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nhanh import ops
from nhanh.utils import bounding_boxes as bb

os.environ.setdefault("KERAS_BACKEND", "jax")


@pytest.fixture(scope="module")
def kb():
    return pytest.importorskip("keras").utils.bounding_boxes


def np_(x):
    return ops.convert_to_numpy(x)


def boxes_xyxy(seed=0, shape=(2, 5)):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20, shape + (2,))
    return np.concatenate([xy, xy + rng.uniform(1, 10, shape + (2,))], -1).astype("float32")


def test_convert_format_all_pairs_match_keras(kb):
    xyxy = boxes_xyxy()
    for source in bb.SUPPORTED_FORMATS:
        src = np.asarray(kb.convert_format(xyxy.copy(), "xyxy", source, height=30, width=40))
        for target in bb.SUPPORTED_FORMATS:
            ours = np_(bb.convert_format(src, source, target, height=30, width=40))
            theirs = np.asarray(kb.convert_format(src.copy(), source, target, height=30,
                                                  width=40))
            np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=f"{source}->{target}")


def test_convert_format_dict_round_trip_and_errors():
    xyxy = boxes_xyxy()
    given = {"boxes": xyxy, "labels": np.zeros((2, 5), "int32")}
    out = bb.convert_format(given, "xyxy", "center_yxhw")
    assert given["boxes"] is xyxy and set(out) == {"boxes", "labels"}  # caller's dict kept
    back = bb.convert_format(out, "center_yxhw", "xyxy")
    np.testing.assert_allclose(np_(back["boxes"]), xyxy, atol=1e-5)
    # relative to relative needs no image size
    rel = bb.convert_format(xyxy / 50, "rel_xyxy", "rel_center_xywh")
    np.testing.assert_allclose(np_(rel)[..., 2:], (xyxy[..., 2:] - xyxy[..., :2]) / 50,
                               atol=1e-6)
    with pytest.raises(ValueError, match="height"):
        bb.convert_format(xyxy, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="source"):
        bb.convert_format(xyxy, "xyz", "xyxy")
    with pytest.raises(ValueError, match="last axis of size 4"):
        bb.convert_format(xyxy[..., :3], "xyxy", "xywh")


def test_clip_to_image_size_matches_keras(kb):
    given = {"boxes": boxes_xyxy() - 5, "labels": np.arange(10).reshape(2, 5)}
    ours = bb.clip_to_image_size(given, height=12, width=14)
    theirs = kb.clip_to_image_size(dict(given), height=12, width=14)
    np.testing.assert_allclose(np_(ours["boxes"]), np.asarray(theirs["boxes"]))
    np.testing.assert_array_equal(np_(ours["labels"]), np.asarray(theirs["labels"]))
    assert (np_(ours["labels"]) == -1).any()  # the case that drops labels is exercised
    # other formats: the same clip, expressed in that format (Keras refuses them)
    xywh = bb.clip_to_image_size(bb.convert_format(given, "xyxy", "xywh"), 12, 14, "xywh")
    np.testing.assert_allclose(np_(bb.convert_format(xywh["boxes"], "xywh", "xyxy")),
                               np.asarray(theirs["boxes"]), atol=1e-4)
    np.testing.assert_array_equal(np_(xywh["labels"]), np.asarray(theirs["labels"]))
    rel = {"boxes": given["boxes"] / 10, "labels": given["labels"]}
    ours = bb.clip_to_image_size(rel, bounding_box_format="rel_xyxy")
    theirs = kb.clip_to_image_size(dict(rel), bounding_box_format="rel_xyxy")
    np.testing.assert_allclose(np_(ours["boxes"]), np.asarray(theirs["boxes"]), atol=1e-6)
    np.testing.assert_array_equal(np_(ours["labels"]), np.asarray(theirs["labels"]))
    with pytest.raises(ValueError, match="height"):
        bb.clip_to_image_size(given)


def test_crop_pad_affine_match_keras(kb):
    xyxy = boxes_xyxy()
    np.testing.assert_allclose(np_(bb.crop(xyxy, 3, 4, 10, 12)), kb.crop(xyxy, 3, 4, 10, 12))
    np.testing.assert_allclose(np_(bb.pad(xyxy, 3, 4)), kb.pad(xyxy, 3, 4))
    args = [np.array(v, "float32") for v in
            ([10., -30.], [.1, -.2], [.05, 0.], [1.2, .8], [5., 0.], [0., -7.])]
    ours = bb.affine_transform(xyxy, *args, 30, 40)
    theirs = kb.affine_transform(xyxy, *args, 30, 40)
    np.testing.assert_allclose(np_(ours), np.asarray(theirs), atol=1e-4)
    centred = bb.affine_transform(xyxy, *args, 30, 40, center_x=0.2, center_y=0.7)
    np.testing.assert_allclose(
        np_(centred), kb.affine_transform(xyxy, *args, 30, 40, center_x=0.2, center_y=0.7),
        atol=1e-4)
    # other absolute formats go through xyxy
    crop_xywh = bb.crop(bb.convert_format(xyxy, "xyxy", "xywh"), 3, 4, 10, 12,
                        bounding_box_format="xywh")
    np.testing.assert_allclose(np_(bb.convert_format(crop_xywh, "xywh", "xyxy")),
                               kb.crop(xyxy, 3, 4, 10, 12), atol=1e-5)


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "center_yxhw"])
def test_iou_and_ciou_match_keras(kb, fmt):
    a = np.asarray(kb.convert_format(boxes_xyxy(), "xyxy", fmt))
    b = np.asarray(kb.convert_format(
        boxes_xyxy()[0] + np.random.default_rng(1).uniform(-3, 3, (5, 4)).astype("float32"),
        "xyxy", fmt))
    part = a - np.float32(12)  # some coordinates negative: real boxes, not padding
    for one, two, masking in [(a[0], b, True), (a, b, False), (b, a, False),
                              (a, a - 30, True), (part, a, True)]:  # a - 30: all padding
        ours = np_(bb.compute_iou(one, two, fmt, use_masking=masking))
        theirs = np.asarray(kb.compute_iou(one, two, fmt, use_masking=masking))
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    near = np.asarray(kb.convert_format(  # overlapping pairs of different shapes
        boxes_xyxy() + np.random.default_rng(2).uniform(-1, 1, (2, 5, 4)).astype("float32"),
        "xyxy", fmt))
    ours = np_(bb.compute_ciou(a, near, fmt))
    np.testing.assert_allclose(ours, np.asarray(kb.compute_ciou(a, near, fmt)), atol=1e-5)
    assert (np_(bb.compute_iou(a, near, fmt)).diagonal(axis1=1, axis2=2) > 0.1).all()


def test_iou_closed_form():
    one = np.array([[0, 0, 2, 2]], "float32")
    two = np.array([[1, 1, 3, 3], [2, 2, 4, 4], [0, 0, 2, 2]], "float32")
    np.testing.assert_allclose(np_(bb.compute_iou(one, two, "xyxy")), [[1 / 7, 0, 1]],
                               atol=1e-6)
    with pytest.raises(ValueError, match="image_shape"):
        bb.compute_iou(one, two, "rel_xyxy")


@pytest.mark.parametrize("variance", [None, [0.1, 0.1, 0.2, 0.2]])
def test_deltas_match_keras_and_invert(kb, variance):
    boxes, anchors = boxes_xyxy(), boxes_xyxy(seed=3)[0]
    ours = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=variance)
    theirs = np.asarray(kb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy",
                                                variance=variance))
    np.testing.assert_allclose(np_(ours), theirs, atol=1e-5)
    decoded = bb.decode_deltas_to_boxes(anchors, ours, "xyxy", "rel_xywh", variance=variance,
                                        image_shape=(30, 40, 3))
    expected = kb.decode_deltas_to_boxes(anchors, theirs, "xyxy", "rel_xywh",
                                         variance=variance, image_shape=(30, 40, 3))
    np.testing.assert_allclose(np_(decoded), np.asarray(expected), atol=1e-5)
    np.testing.assert_allclose(np_(bb.convert_format(decoded, "rel_xywh", "xyxy", 30, 40)),
                               boxes, atol=1e-3)
    levels = bb.decode_deltas_to_boxes({"p3": anchors}, {"p3": ours}, "xyxy", "xyxy",
                                       variance=variance)
    np.testing.assert_allclose(np_(levels["p3"]), boxes, atol=1e-3)
    with pytest.raises(ValueError, match="variance"):
        bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=[1, 2])


def test_densify_ragged_lists():
    ragged = {"boxes": [[[1, 2, 3, 4]], [[1, 1, 2, 2], [0, 0, 5, 5]], []],
              "labels": [[7], [8, 9], []]}
    dense = bb.densify_bounding_boxes(ragged, is_batched=True)
    np.testing.assert_array_equal(np_(dense["boxes"]), [
        [[1, 2, 3, 4], [0, 0, 0, 0]], [[1, 1, 2, 2], [0, 0, 5, 5]], [[0] * 4] * 2])
    np.testing.assert_array_equal(np_(dense["labels"]), [[7, -1], [8, 9], [-1, -1]])
    short = bb.densify_bounding_boxes(ragged, is_batched=True, max_boxes=1,
                                      boxes_default_value=-1)
    np.testing.assert_array_equal(np_(short["labels"]), [[7], [8], [-1]])
    np.testing.assert_array_equal(np_(short["boxes"])[2], [[-1] * 4])
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        bb.densify_bounding_boxes({"boxes": [[1, 2, 3, 4]]})
    with pytest.raises(ValueError, match="same length"):
        bb.densify_bounding_boxes({"boxes": [[[1, 2, 3, 4]], []], "labels": [[1]]},
                                  is_batched=True)
