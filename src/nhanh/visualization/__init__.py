"""keras.visualization: boxes and masks drawn onto images, and galleries of images plotted
with matplotlib (see each module)."""

from nhanh.visualization.draw_bounding_boxes import draw_bounding_boxes
from nhanh.visualization.draw_segmentation_masks import draw_segmentation_masks
from nhanh.visualization.plot_bounding_box_gallery import plot_bounding_box_gallery
from nhanh.visualization.plot_image_gallery import plot_image_gallery
from nhanh.visualization.plot_segmentation_mask_gallery import plot_segmentation_mask_gallery

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
           "plot_image_gallery", "plot_segmentation_mask_gallery"]
