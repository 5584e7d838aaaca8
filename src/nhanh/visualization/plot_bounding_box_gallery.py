"""keras.visualization.plot_bounding_box_gallery: ground-truth and predicted boxes drawn
(draw_bounding_boxes) onto a gallery of images (plot_image_gallery)."""

from __future__ import annotations

import numpy as np

from nhanh.visualization._common import images_channels_last, pyplot
from nhanh.visualization.draw_bounding_boxes import draw_bounding_boxes
from nhanh.visualization.plot_image_gallery import plot_image_gallery


def plot_bounding_box_gallery(images, bounding_box_format: str, y_true: dict | None = None,
                              y_pred: dict | None = None, value_range=(0, 255),
                              true_color=(0, 188, 212), pred_color=(255, 235, 59),
                              line_thickness: int = 2, font_scale: float = 1.0,
                              text_thickness: int | None = None,
                              class_mapping: dict | None = None,
                              ground_truth_mapping: dict | None = None,
                              prediction_mapping: dict | None = None, legend: bool = False,
                              legend_handles=None, rows: int | None = None,
                              cols: int | None = None, data_format: str | None = None,
                              **kwargs):
    """Plots a batch of images with their true and predicted boxes drawn on them.

    Args:
        images: A batch of images `(batch, height, width, channels)` (or channels_first).
        bounding_box_format: Format of the boxes.
        y_true: {"boxes", "labels"} of the true boxes, drawn in `true_color`.
        y_pred: {"boxes", "labels"} of the predicted boxes, drawn in `pred_color`.
        value_range: The images' (low, high).
        true_color: RGB colour of the true boxes.
        pred_color: RGB colour of the predicted boxes.
        line_thickness: Width of the outlines in pixels.
        font_scale: Text size, 1.0 being 12 pixels.
        text_thickness: Stroke width of the text; defaults to `line_thickness`.
        class_mapping: {label: name} for both sets of boxes.
        ground_truth_mapping: {label: name} for the true boxes (overrides `class_mapping`).
        prediction_mapping: {label: name} for the predicted boxes (likewise).
        legend: Add a "Ground Truth" / "Prediction" legend.
        legend_handles: matplotlib handles for a legend of your own (not with `legend`).
        rows: Rows of the grid.
        cols: Columns of the grid.
        data_format: "channels_last" or "channels_first" for `images`.
        **kwargs: Passed to plot_image_gallery (`path`, `show`, `scale`, ...).

    Returns:
        The matplotlib Figure.
    """
    pyplot()
    if legend and legend_handles:
        raise ValueError("plot_bounding_box_gallery: pass `legend=True` (the default legend) "
                         "or `legend_handles`, not both.")
    images = images_channels_last(images, data_format, "plot_bounding_box_gallery")
    low, high = value_range
    plotted = np.clip((images.astype("float32") - low) / (high - low) * 255.0, 0, 255)
    for boxes, color, mapping in ((y_true, true_color, ground_truth_mapping or class_mapping),
                                  (y_pred, pred_color, prediction_mapping or class_mapping)):
        if boxes is not None:
            plotted = draw_bounding_boxes(
                plotted.astype("uint8"), boxes, bounding_box_format, class_mapping=mapping,
                color=color, line_thickness=line_thickness,
                text_thickness=text_thickness or line_thickness, font_scale=font_scale,
                data_format="channels_last")
    if legend:
        from matplotlib import patches

        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0,
                                        label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0,
                                        label="Prediction")]
    return plot_image_gallery(plotted, value_range=(0, 255), legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)
