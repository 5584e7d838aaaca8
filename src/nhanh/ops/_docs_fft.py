"""Documentation stubs of the fft ops (see _docs.py: never called).

Keras passes complex numbers as (real, imag) pairs of float tensors of one shape; the
transforms run on the last axis (the last two for fft2 and ifft2), unnormalised forward.
"""



def fft(x):
    """The discrete Fourier transform along the last axis.

    Args:
        x: A (real, imag) pair of float tensors of one shape.

    Returns:
        A (real, imag) pair of tensors of that shape.
    """


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes.

    Args:
        x: A (real, imag) pair of float tensors of one shape, of rank >= 2.

    Returns:
        A (real, imag) pair of tensors of that shape.
    """


def ifft2(x):
    """The inverse 2-D discrete Fourier transform over the last two axes (divides by their
    sizes, so ifft2(fft2(x)) = x).

    Args:
        x: A (real, imag) pair of float tensors of one shape, of rank >= 2.

    Returns:
        A (real, imag) pair of tensors of that shape.
    """


def rfft(x, fft_length=None):
    """The Fourier transform of a real signal along the last axis: the non-negative
    frequencies only.

    Args:
        x: Float tensor.
        fft_length: Int, the transform's length: the signal is cropped or zero-padded to it.
            `None`: the last axis's size.

    Returns:
        A (real, imag) pair of tensors whose last axis has fft_length // 2 + 1 bins.
    """


def irfft(x, fft_length=None):
    """The inverse of `rfft`: a real signal from its non-negative frequencies.

    Args:
        x: A (real, imag) pair of float tensors, the last axis holding the frequency bins.
        fft_length: Int, the output's length. `None`: 2 * (bins - 1).

    Returns:
        A float tensor whose last axis has `fft_length` samples.
    """


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform: overlapping frames, each windowed and rfft'ed.

    Args:
        x: Float32 or float64 signal of shape (..., samples).
        sequence_length: Int, the window (frame) length.
        sequence_stride: Int, the hop between frame starts.
        fft_length: Int >= sequence_length; the window is zero-padded to it, centred.
        window: `"hann"`, `"hamming"` (periodic windows), a tensor of shape
            (sequence_length,), or `None` for no window.
        center: Bool; reflect the signal by fft_length // 2 samples at both ends, so frame t
            is centred on sample t * sequence_stride.

    Returns:
        A (real, imag) pair of shape (..., frames, fft_length // 2 + 1).
    """


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """The inverse of `stft`, by weighted overlap-add divided by the summed squared window
    (exact where the windows overlap enough, e.g. Hann with a quarter-length hop).

    Args:
        x: A (real, imag) pair of shape (..., frames, fft_length // 2 + 1).
        sequence_length: Int, the window length `stft` used.
        sequence_stride: Int, the hop `stft` used.
        fft_length: Int, the FFT length `stft` used.
        length: Int, the number of samples to return; `None`: all the frames cover (less
            the centring padding).
        window: The window `stft` used (`"hann"`, `"hamming"`, a tensor, or `None`; with
            `None` the result is scaled by fft_length / sequence_stride, as in Keras).
        center: Bool; `stft` centred the frames, so fft_length // 2 samples are cut at the
            start (and at the end when `length` is None).

    Returns:
        A float tensor of shape (..., samples).
    """


def view_as_complex(x):
    """A complex64 tensor from real and imaginary parts stacked on the last axis.

    Args:
        x: Float tensor of shape (..., 2).

    Returns:
        A complex64 tensor of shape (...).
    """


def view_as_real(x):
    """The real and imaginary parts of a complex tensor, stacked on a new last axis.

    Args:
        x: Complex tensor.

    Returns:
        A float tensor of shape (..., 2).
    """


def polar(abs_, angle):
    """The complex numbers abs_ * (cos(angle) + i sin(angle)), as torch.polar.

    Args:
        abs_: Float tensor, the magnitudes.
        angle: Float tensor, the angles in radians, broadcast against `abs_`.

    Returns:
        A complex tensor of the broadcast shape.
    """
