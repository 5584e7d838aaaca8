"""CIFAR's batches read straight from the verified .tar.gz, never from an extracted copy.

Keras extracts the archive and unpickles the files on disk; here the pickles are streamed out of
the archive whose sha256 `get_file` has just checked, so a file changed in the cache folder
afterwards can never be unpickled. The download path is Keras's (`<name>-target_archive`), so
the two share the cached archive.
"""

from __future__ import annotations

import tarfile

import numpy as np

from nhanh import config
from nhanh.datasets import _common


def fetch_batches(folder: str, remote_name: str, file_hash: str, fname: str,
                  members: list[str]) -> dict[str, dict]:
    """{member: its unpickled dict, with str keys} for the named members of a verified archive."""
    path = _common.fetch_verified(folder, remote_name, file_hash, fname)
    batches = {}
    with tarfile.open(path, "r|gz") as archive:  # one streaming pass: no seeking in the gzip
        for member in archive:
            if member.name in members and member.isfile():
                with archive.extractfile(member) as f:
                    raw = _common.SafeUnpickler(f, encoding="bytes").load()
                batches[member.name] = {k.decode("utf8") if isinstance(k, bytes) else k: v
                                        for k, v in raw.items()}
    missing = [m for m in members if m not in batches]
    if missing:
        raise ValueError(f"{path} has no {missing}: not the expected CIFAR archive. Delete it "
                         f"from the cache to download it again.")
    return batches


def images_and_labels(batch: dict, label_key: str) -> tuple[np.ndarray, list]:
    data = batch["data"]
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def to_data_format(x: np.ndarray) -> np.ndarray:
    """Batches hold channels first; Keras gives channels last unless configured otherwise."""
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
