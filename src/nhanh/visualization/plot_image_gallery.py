"""keras.visualization.plot_image_gallery: a grid of images in one matplotlib figure.

Differences from Keras, on purpose: the figure is returned (Keras returns None), so a caller
can save or inspect it; and when the batch does not fill `rows` x `cols`, the grid has
ceil(batch / rows) columns with the spare cells left blank (Keras's floor division drops the
last images).
"""

from __future__ import annotations

import math

import numpy as np

from nhanh import ops
from nhanh.visualization._common import images_channels_last, pyplot


def plot_image_gallery(images, y_true=None, y_pred=None, label_map: dict | None = None,
                       rows: int | None = None, cols: int | None = None,
                       value_range=(0, 255), scale: float = 2, path: str | None = None,
                       show: bool | None = None, transparent: bool = True, dpi: int = 60,
                       legend_handles=None, data_format: str | None = None):
    """Plots a batch of images in a grid, and saves it to `path` or shows it.

    Args:
        images: A batch of images `(batch, height, width, channels)` (or channels_first).
        y_true: Class indices of the images, written as titles.
        y_pred: Predicted class indices, written as titles.
        label_map: {class index: name}; needed with `y_true` / `y_pred`.
        rows: Rows of the grid; defaults to ceil(sqrt(batch)).
        cols: Columns; defaults to ceil(batch / rows).
        value_range: The images' (low, high), mapped to [0, 255] for display.
        scale: Inches per image.
        path: File to save the figure to (then it is closed).
        show: Show the figure with plt.show(); defaults to True without `path`. Pass
            show=False to keep the figure open.
        transparent: Save with a transparent background.
        dpi: Resolution of the saved file.
        legend_handles: matplotlib handles for a legend.
        data_format: "channels_last" or "channels_first" for `images`.

    Returns:
        The matplotlib Figure.
    """
    plt = pyplot()
    if path is not None and show:
        raise ValueError("plot_image_gallery: pass either `path` (to save the figure) or "
                         "show=True (to display it), not both.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("plot_image_gallery: `y_true` / `y_pred` are class indices, so a "
                         "`label_map` {index: name} is needed to title the images.")
    show = path is None if show is None else show
    images = images_channels_last(images, data_format, "plot_image_gallery")
    batch = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch)))
    cols = cols or int(math.ceil(batch / rows))
    low, high = value_range
    images = (images.astype("float32") - low) / (high - low) * 255.0
    images = np.clip(images, 0, 255).astype("uint8")
    if images.shape[-1] == 1:
        images = images[..., 0]
    y_true = None if y_true is None else np.asarray(ops.convert_to_numpy(y_true)).reshape(-1)
    y_pred = None if y_pred is None else np.asarray(ops.convert_to_numpy(y_pred)).reshape(-1)

    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale, rows * scale), frameon=False,
                             layout="tight", squeeze=False)
    fig.subplots_adjust(wspace=0, hspace=0)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    for index, axis in enumerate(axes.reshape(-1)):
        axis.axis("off")
        if index >= batch:
            continue
        axis.imshow(images[index], cmap="gray" if images.ndim == 3 else None, vmin=0,
                    vmax=255)
        axis.margins(x=0, y=0)
        title = []
        if y_true is not None and index < len(y_true):
            title.append(f"Label: {label_map.get(y_true[index].item(), 'Unknown')}")
        if y_pred is not None and index < len(y_pred):
            title.append(f"Pred: {label_map.get(y_pred[index].item(), 'Unknown')}")
        if title:
            axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        fig.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close(fig)
    elif show:
        plt.show()
        plt.close(fig)
    return fig
