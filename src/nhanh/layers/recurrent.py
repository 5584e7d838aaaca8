"""Recurrent layers in one import (also Keras 2's `layers.recurrent` path): the RNN base, the
cells, SimpleRNN, LSTM and GRU. Each lives in its own module."""

from nhanh.layers.gru import GRU, GRUCell
from nhanh.layers.lstm import LSTM, LSTMCell
from nhanh.layers.rnn import RNN
from nhanh.layers.simple_rnn import SimpleRNN, SimpleRNNCell

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell"]
