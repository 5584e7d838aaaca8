"""audio_dataset_from_directory: a folder of .wav files (one sub-folder per class) as batches.

Files, labels and the training/validation split are Keras 3's for the same seed
(directory_listing.py). WAV files are read with the standard library's `wave` module (integer
PCM, 8 to 32 bits); a file `wave` cannot read (e.g. 32-bit float WAV) is read with
`scipy.io.wavfile` when SciPy is installed. Samples become float32 in [-1, 1), one column per
channel, as `tf.audio.decode_wav` gives them (16-bit values / 32768). `sampling_rate` resamples
with `scipy.signal.resample_poly` (Keras uses tensorflow-io there, so the numbers differ
slightly). Keras 3 has no format='grain' for audio, nor has nhanh.
"""

from __future__ import annotations

import math
import wave

import numpy as np

from nhanh.utils import directory_listing as listing
from nhanh.utils.batched_dataset import from_samples

ALLOWED_FORMATS = (".wav",)


def _read_with_wave(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
        raw = f.readframes(f.getnframes())
    if width == 1:  # unsigned 8-bit
        data = (np.frombuffer(raw, dtype="uint8").astype("float32") - 128.0) / 128.0
    elif width == 3:  # packed 24-bit: widen to 32 bits
        b = np.frombuffer(raw, dtype="uint8").reshape(-1, 3)
        wide = (b[:, 0].astype("int32") | (b[:, 1].astype("int32") << 8)
                | (b[:, 2].astype("int8").astype("int32") << 16))
        data = wide.astype("float32") / float(2 ** 23)
    elif width in (2, 4):
        ints = np.frombuffer(raw, dtype="<i2" if width == 2 else "<i4")
        data = (ints.astype("float64") / float(2 ** (8 * width - 1))).astype("float32")
    else:
        raise ValueError(f"{path}: {8 * width}-bit WAV samples are not supported.")
    return data.reshape(-1, channels), rate


def read_wav(path) -> tuple[np.ndarray, int]:
    """(float32 samples of shape (frames, channels), sampling rate) of a WAV file."""
    try:
        return _read_with_wave(path)
    except wave.Error as e:
        try:
            from scipy.io import wavfile
        except ImportError:
            raise ValueError(f"{path} is a WAV file the standard `wave` module cannot read "
                             f"({e}); `pip install scipy` lets nhanh read it with "
                             "scipy.io.wavfile.") from None
        rate, data = wavfile.read(str(path))
        if data.dtype.kind in "iu":
            bits = 8 * data.dtype.itemsize
            offset = 128.0 if data.dtype.kind == "u" else 0.0
            data = (data.astype("float64") - offset) / float(2 ** (bits - 1))
        data = np.asarray(data, dtype="float32")
        return (data[:, None] if data.ndim == 1 else data), int(rate)


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return audio
    try:
        from scipy.signal import resample_poly
    except ImportError:
        raise ImportError("`sampling_rate` resamples audio with SciPy, which is not installed: "
                          "run `pip install scipy`, or leave sampling_rate=None.") from None
    g = math.gcd(rate_in, rate_out)
    return resample_poly(audio, rate_out // g, rate_in // g, axis=0).astype("float32")


def _fixed_length(audio: np.ndarray, length: int) -> np.ndarray:
    if len(audio) >= length:
        return audio[:length]
    return np.pad(audio, ((0, length - len(audio)), (0, 0)))


def _pad_batch(clips: list) -> np.ndarray:
    """Clips zero-padded at the end to the longest one (tf.data's padded_batch)."""
    longest = max(len(c) for c in clips)
    return np.stack([_fixed_length(c, longest) for c in clips])


def audio_dataset_from_directory(directory, labels="inferred", label_mode: str | None = "int",
                                 class_names=None, batch_size: int | None = 32,
                                 sampling_rate: int | None = None,
                                 output_sequence_length: int | None = None,
                                 ragged: bool = False, shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, follow_links: bool = False,
                                 verbose: bool = True):
    """Batches of audio clips (and labels) from the .wav files under `directory`.

    Args:
        directory: Folder of .wav files; with labels='inferred', one sub-folder per class.
        labels: 'inferred' (from sub-folders), None, or one integer label per file, in the
            sorted order of the file paths.
        label_mode: 'int', 'categorical', 'binary' (exactly 2 classes) or None (audio only).
        class_names: With 'inferred', the sub-folders to use and the order of their indices.
        batch_size: Clips per batch; None yields one clip at a time.
        sampling_rate: Resample every clip to this rate (samples per second); None keeps
            each file's rate.
        output_sequence_length: Cut or zero-pad every clip to this many samples; None pads
            each batch to its longest clip.
        ragged: Yield each batch as a list of clips of their own lengths (in place of
            Keras's RaggedTensor); not with `output_sequence_length`.
        shuffle: Shuffle the files, and each epoch anew; else sorted order.
        seed: Seed of the shuffling; needed with `validation_split` when shuffling.
        validation_split: Fraction of the files held out for validation.
        subset: 'training', 'validation' or 'both' (returns `(train, validation)`).
        follow_links: Whether to walk into sub-folders that are symbolic links.
        verbose: Print how many files and classes were found.

    Returns:
        A BatchedDataset yielding `(audio, labels)` (or audio alone): float32 audio of shape
        (batch, samples, channels); `class_names` and `file_paths` attributes.
    """
    labels, label_mode = listing.check_arguments(labels, label_mode, class_names,
                                                 validation_split, subset, shuffle, seed,
                                                 "audio")
    if ragged and output_sequence_length is not None:
        raise ValueError("Give at most one of `ragged=True` and `output_sequence_length`.")
    if sampling_rate is not None and (isinstance(sampling_rate, bool)
                                      or not isinstance(sampling_rate, int) or sampling_rate <= 0):
        raise ValueError(f"`sampling_rate` must be a positive int or None, got "
                         f"{sampling_rate!r}.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = listing.index_directory(
        directory, labels, ALLOWED_FORMATS, class_names, shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError("label_mode='binary' needs exactly 2 classes, but there are "
                         f"{len(class_names)}: {class_names}. Use 'categorical' or 'int'.")

    def build(part_paths, part_labels, part_shuffle):
        if not part_paths:
            raise ValueError(f"No audio files found in {directory!r} (extension .wav).")
        encoded = (None if label_mode is None else
                   listing.encode_labels(part_labels, label_mode, len(class_names)))

        def load_one(i):
            audio, rate = read_wav(part_paths[i])
            if output_sequence_length is not None:  # decode_wav's desired_samples comes first
                audio = _fixed_length(audio, int(output_sequence_length))
            if sampling_rate is not None:
                audio = _resample(audio, rate, sampling_rate)
            return audio

        return from_samples(len(part_paths), load_one, list if ragged else _pad_batch, encoded,
                            batch_size, part_shuffle, seed, class_names, part_paths)

    if subset == "both":
        train = listing.split(paths, labels, validation_split, "training", "audio files",
                              verbose)
        val = listing.split(paths, labels, validation_split, "validation", "audio files",
                            verbose)
        return build(*train, shuffle), build(*val, False)
    return build(*listing.split(paths, labels, validation_split, subset, "audio files", verbose),
                 shuffle)
