"""The convolution family in one import (Keras 2 spelled this `keras.layers.convolutional`).

The layers live in conv.py, conv_transpose.py and depthwise_separable.py, one concept each.
"""

from nhanh.layers.conv import Conv1D, Conv2D, Conv3D, Convolution1D, Convolution2D, Convolution3D
from nhanh.layers.conv_transpose import (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, Convolution1DTranspose,
    Convolution2DTranspose, Convolution3DTranspose,
)
from nhanh.layers.depthwise_separable import (
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
    SeparableConvolution2D,
)

__all__ = ["Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
           "Convolution1D", "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose",
           "Convolution3D", "Convolution3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D",
           "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
           "SeparableConvolution2D"]
