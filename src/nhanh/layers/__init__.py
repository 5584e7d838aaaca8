"""Layers, by Keras 3 names (and Keras 2 aliases such as Convolution2D and MaxPool2D)."""

from nhanh.layers.activation import Activation
from nhanh.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from nhanh.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D,
)
from nhanh.layers.alpha_dropout import AlphaDropout
from nhanh.layers.attention import AdditiveAttention, Attention
from nhanh.layers.conv import Conv1D, Conv2D, Conv3D, Convolution1D, Convolution2D, Convolution3D
from nhanh.layers.conv_transpose import (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, Convolution1DTranspose,
    Convolution2DTranspose, Convolution3DTranspose,
)
from nhanh.layers.cropping_padding import Cropping3D, ZeroPadding3D
from nhanh.layers.dense import Dense
from nhanh.layers.einsum_dense import EinsumDense
from nhanh.layers.embedding import Embedding, Masking
from nhanh.layers.depthwise_separable import (
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
    SeparableConvolution2D,
)
from nhanh.layers.gru import GRU, GRUCell
from nhanh.layers.group_query_attention import GroupedQueryAttention, GroupQueryAttention
from nhanh.layers.input_layer import Input, InputLayer
from nhanh.layers.jax_layer import JaxLayer
from nhanh.layers.layer import InputSpec, Layer
from nhanh.layers.lstm import LSTM, LSTMCell
from nhanh.layers.merging import (
    Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
    concatenate, dot, maximum, minimum, multiply, subtract,
)
from nhanh.layers.multi_head_attention import MultiHeadAttention
from nhanh.layers.normalization import (
    BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization,
)
from nhanh.layers.pooling import (
    AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalAvgPool1D,
    GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D,
    MaxPooling1D, MaxPooling2D, MaxPooling3D,
)
from nhanh.layers.pipeline import Pipeline
from nhanh.layers.preprocessing import CategoryEncoding, Normalization
from nhanh.layers.discretization import Discretization
from nhanh.layers.hashed_crossing import HashedCrossing
from nhanh.layers.hashing import Hashing
from nhanh.layers.integer_lookup import IntegerLookup
from nhanh.layers.string_lookup import StringLookup
from nhanh.layers.text_vectorization import TextVectorization
from nhanh.layers.torch_module_wrapper import TorchModuleWrapper
from nhanh.layers.regularization import (
    ActivityRegularization, Dropout, GaussianDropout, GaussianNoise, SpatialDropout1D,
    SpatialDropout2D, SpatialDropout3D,
)
from nhanh.layers.rms_normalization import RMSNormalization
from nhanh.layers.reversible_embedding import ReversibleEmbedding
from nhanh.layers.rnn import RNN
from nhanh.layers.simple_rnn import SimpleRNN, SimpleRNNCell
from nhanh.layers.spectral_normalization import SpectralNormalization
from nhanh.layers.stacked_rnn_cells import StackedRNNCells
from nhanh.layers.up_sampling import UpSampling3D
from nhanh.layers.reshaping import (
    Cropping1D, Cropping2D, Flatten, Permute, RepeatVector, Reshape, UpSampling1D, UpSampling2D,
    ZeroPadding1D, ZeroPadding2D,
)
from nhanh.layers.utility import Identity, Lambda, Rescaling
from nhanh.layers.audio import MelSpectrogram, STFTSpectrogram
from nhanh.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from nhanh.layers.flax_layer import FlaxLayer
from nhanh.layers.image_color_layers import (
    RandomBrightness, RandomColorDegeneration, RandomColorJitter, RandomContrast,
    RandomGaussianBlur, RandomGrayscale, RandomHue, RandomSaturation, RandomSharpness,
)
from nhanh.layers.image_histogram_layers import (
    AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, Equalization, RandomInvert,
    RandomPosterization, Solarization,
)
from nhanh.layers.image_mixing import CutMix, MixUp, RandomErasing
from nhanh.layers.image_policies import AugMix, RandAugment
from nhanh.layers.image_resizing import CenterCrop, RandomCrop, Resizing
from nhanh.layers.image_warps import (
    RandomElasticTransform, RandomFlip, RandomPerspective, RandomRotation, RandomShear,
    RandomTranslation, RandomZoom,
)
from nhanh.layers.max_num_bounding_boxes import MaxNumBoundingBoxes
from nhanh.layers.serialization import deserialize, serialize
from nhanh.layers.wrapper import Wrapper
from nhanh.layers.wrappers import Bidirectional, TimeDistributed


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
