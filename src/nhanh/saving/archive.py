"""Crash-safe file writes and the `.keras` zip archive, read without trusting its headers.

Writing: every file goes to a temporary name in the target's folder (`.m.keras.tmp-<random>`)
and is fsynced and `os.replace`d onto the target only when it is complete, so a crash or an
exception mid-write leaves any previous file whole. Archives are written as Keras 3 writes them:
members stored uncompressed (ZIP_STORED), file members streamed in chunks.

Reading (`ArchiveReader`) refuses the whole archive, before any member is read, when a member:
- has a name that is absolute, has a drive letter, a backslash, a NUL or control character, an
  empty, `.` or `..` part, or duplicates another name (zip slip; CVE-2026-12479's `../` assets);
- is a symlink or any other special file (only plain files and folders are accepted), is
  encrypted, or uses a compression other than stored or deflate;
- declares more than `max_member_bytes` (default 64 GiB) or more than `max_total_bytes` in all;
- is stored yet declares a size different from what it stores, or is deflated and declares more
  than DEFLATE can produce (1032:1, `MAX_DEFLATE_RATIO`), or, above `BOMB_FLOOR_BYTES` (64 MiB),
  more than `BOMB_RATIO` (200) times what it stores: real weights, configs and vocabularies
  compress far less, and Keras itself stores members uncompressed;
- overlaps another member's bytes, or runs past the end of the archive.
Reads are then streamed with hard caps: a member may yield neither more than its declared size
nor more than the caller's `max_bytes`, whatever the header says, and its CRC-32 must match.
Members are never extracted under their own names: `extract_to_temp` copies one member to a
private temporary file (h5py needs random access), removed when the reader closes.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from typing import BinaryIO, Iterator

from nhanh.distribution import placement

CHUNK = 1 << 20
MAX_MEMBERS = 65_536
MAX_MEMBER_BYTES = 1 << 36  # 64 GiB
MAX_DEFLATE_RATIO = 1032
BOMB_RATIO = 200
BOMB_FLOOR_BYTES = 64 << 20
_LOCAL_HEADER = 30
_DRIVE = re.compile(r"^[A-Za-z]:")


# -- atomic writes ---------------------------------------------------------------------------

def _temp_name(path: str) -> str:
    folder, base = os.path.split(os.path.abspath(path))
    suffix = os.path.splitext(base)[1]  # kept last: some writers check the extension
    return os.path.join(folder, f".{base}.tmp-{secrets.token_hex(6)}{suffix}")


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    On an exception the temporary file is removed and any previous `path` is left untouched.
    In a multi-process run, only process 0 writes `path`: the others write to a private
    temporary file that is then deleted (they must still read every variable, since reading
    a variable split over processes is a collective operation all of them join).
    """
    path = os.fspath(path)
    if not placement.writes_files():
        with tempfile.TemporaryDirectory() as folder:
            yield os.path.join(folder, os.path.basename(path))
        return
    temp = _temp_name(path)
    # Created here (O_EXCL, mode 0o666 less the umask) so it gets normal permissions.
    os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield temp
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
        raise
    _fsync_folder(os.path.dirname(os.path.abspath(path)))


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[BinaryIO]:
    """Like `open(path, mode)` for writing, with `atomic_write`'s guarantees."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a new file: `mode` must start with 'w'; got "
                         f"{mode!r}.")
    with atomic_write(path) as temp:
        with open(temp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


# -- member names ----------------------------------------------------------------------------

def _name_problem(name: str) -> str | None:
    """Why `name` may not be a member of a model archive, or None when it may."""
    if not name:
        return "has an empty name"
    if "\\" in name:
        return "contains a backslash"
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return "contains a NUL or control character"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if ".." in parts:
        return "climbs out of the archive with '..'"
    if "." in parts or "" in parts:
        return "has an empty or '.' path part"
    return None


def write_archive(path: str | os.PathLike,
                  members: list[tuple[str, bytes | str | os.PathLike]]) -> None:
    """Write a `.keras` zip atomically; a member given as a file path is streamed, not loaded."""
    seen = set()
    for name, _ in members:
        problem = _name_problem(name)
        if problem or name in seen:
            raise ValueError(f"Archive member {name!r} {problem or 'is given twice'}; member names "
                             "are relative paths such as 'assets/vocabulary.txt'.")
        seen.add(name)
    with atomic_open(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o600 << 16
            if isinstance(content, (bytes, bytearray, memoryview)):
                zf.writestr(info, bytes(content))
                continue
            size = os.path.getsize(content)
            info.file_size = size
            with open(content, "rb") as src, \
                    zf.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as dst:
                shutil.copyfileobj(src, dst, CHUNK)


# -- reading ---------------------------------------------------------------------------------

def source_size(source) -> int:
    """Bytes in a file given by path or as an open binary file (its position is kept)."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    position = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(position)
    return size


class ArchiveReader:
    """A `.keras` zip opened for reading, every member checked before any is read."""

    def __init__(self, source: str | os.PathLike | BinaryIO, *, label: str,
                 max_member_bytes: int = MAX_MEMBER_BYTES,
                 max_total_bytes: int = 4 * MAX_MEMBER_BYTES):
        self.label = label
        self._temps: list[str] = []
        self._temp_dir: str | None = None
        try:
            self._zip = zipfile.ZipFile(source, "r")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError,
                NotImplementedError) as e:
            raise ValueError(f"{label}: not a readable zip archive (truncated, corrupt or not a "
                             f".keras file): {e}.") from None
        try:
            self._infos = self._check(source_size(source), max_member_bytes,
                                      max_total_bytes)
        except BaseException:
            self._zip.close()
            raise

    def _refuse(self, name: str, why: str) -> ValueError:
        return ValueError(f"{self.label}: member {name!r} {why}; refusing the whole archive. "
                          "Load only files saved by nhanh or Keras 3 from a source you trust to "
                          "be intact.")

    def _check(self, archive_size: int, max_member: int, max_total: int) -> dict:
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ValueError(f"{self.label}: {len(infos)} members, more than the "
                             f"{MAX_MEMBERS} a model archive may hold.")
        by_name: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.orig_filename
            problem = _name_problem(name)
            if problem:
                raise self._refuse(name, problem)
            key = name.rstrip("/")
            if key in by_name:
                raise self._refuse(name, "appears twice in the archive")
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if info.create_system == 3 and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                what = "a symlink" if kind == stat.S_IFLNK else f"a special file (mode {oct(mode)})"
                raise self._refuse(name, f"is {what}; only plain files belong in a model archive")
            if info.flag_bits & 0x1:
                raise self._refuse(name, "is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._refuse(name, f"uses compression method {info.compress_type}; only "
                                         "stored and deflate are accepted")
            if info.is_dir() and info.file_size:
                raise self._refuse(name, "is a folder that declares data")
            self._check_size(info, max_member)
            total += info.file_size
            if total > max_total:
                raise self._refuse(name, f"brings the declared total past {max_total} bytes")
            by_name[key] = info
        # Members may neither overlap (the "overlapping files" bomb) nor run past the end.
        end = 0
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset < end:
                raise self._refuse(info.orig_filename, "overlaps the previous member's data")
            end = (info.header_offset + _LOCAL_HEADER + len(info.orig_filename.encode("utf-8"))
                   + info.compress_size)
            if end > archive_size:
                raise self._refuse(info.orig_filename, f"runs past the end of the "
                                                       f"{archive_size}-byte archive (truncated?)")
        return {i.orig_filename: i for i in infos}

    def _check_size(self, info: zipfile.ZipInfo, max_member: int) -> None:
        name, size, packed = info.orig_filename, info.file_size, info.compress_size
        if size > max_member:
            raise self._refuse(name, f"declares {size} bytes, more than the limit of {max_member}")
        if info.compress_type == zipfile.ZIP_STORED and size != packed:
            raise self._refuse(name, f"is stored uncompressed yet declares {size} bytes for "
                                     f"{packed} stored")
        if size > MAX_DEFLATE_RATIO * packed + 1024 or (
                size > BOMB_FLOOR_BYTES and size > BOMB_RATIO * packed):
            raise self._refuse(name, f"declares {size} bytes but stores only {packed}: a "
                                     "decompression bomb")

    # -- queries ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every member name, in archive order."""
        return list(self._infos)

    def size(self, name: str) -> int:
        """A member's declared size (checked against what it stores when the archive opened;
        reads are capped by it too)."""
        if name not in self._infos:
            raise ValueError(f"{self.label}: no member {name!r} in the archive.")
        return self._infos[name].file_size

    def asset_names(self, prefix: str) -> list[str]:
        """Files (not folders) whose names start with `prefix`, e.g. 'assets/layers/lookup/'."""
        return sorted(n for n, i in self._infos.items()
                      if n.startswith(prefix) and not i.is_dir())

    def _stream(self, name: str, max_bytes: int) -> Iterator[bytes]:
        info = self._infos.get(name)
        if info is None or info.is_dir():
            raise ValueError(f"{self.label}: no file {name!r} in the archive; it holds "
                             f"{self.names()}.")
        if info.file_size > max_bytes:
            raise self._refuse(name, f"declares {info.file_size} bytes, more than the "
                                     f"{max_bytes} it may hold")
        count = 0
        with self._open(info) as f:
            while True:
                chunk = self._read(f, name, min(CHUNK, max_bytes + 1 - count))
                if not chunk:
                    break
                count += len(chunk)
                if count > info.file_size or count > max_bytes:
                    raise self._refuse(name, f"yields more than its declared {info.file_size} "
                                             f"bytes (limit {max_bytes})")
                yield chunk
        if count != info.file_size:
            raise self._refuse(name, f"yields {count} bytes but declares {info.file_size}")

    def _open(self, info: zipfile.ZipInfo):
        try:
            return self._zip.open(info)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
            raise self._refuse(info.orig_filename, f"is corrupt ({e})") from None

    def _read(self, f, name: str, n: int) -> bytes:
        try:
            return f.read(n)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
            raise self._refuse(name, f"is corrupt: its data do not match its header "
                                     f"({type(e).__name__}: {e})") from None

    def read_bytes(self, name: str, max_bytes: int) -> bytes:
        """The member's bytes, read with a hard cap of `max_bytes`."""
        return b"".join(self._stream(name, max_bytes))

    def extract_to_temp(self, name: str, max_bytes: int) -> str:
        """Copy the member to a private temporary file (removed on close); return its path."""
        if self._temp_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="nhanh-archive-")
        fd, temp = tempfile.mkstemp(dir=self._temp_dir, suffix=".member")
        self._temps.append(temp)
        with os.fdopen(fd, "wb") as out:
            for chunk in self._stream(name, max_bytes):
                out.write(chunk)
        return temp

    def extract_assets_to_temp(self, prefix: str, max_bytes: int) -> str:
        """Copy the files under `prefix` into a private temporary folder (removed on close),
        keeping their names below `prefix`, for layers whose `load_assets` takes a folder.

        Safe because every member name was checked when the archive opened (no `..`, no
        absolute or drive paths, no links); `max_bytes` caps the files together.
        """
        if self._temp_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="nhanh-archive-")
        folder = tempfile.mkdtemp(dir=self._temp_dir, prefix="assets-")
        left = max_bytes
        for name in self.asset_names(prefix):
            target = os.path.join(folder, *name[len(prefix):].lstrip("/").split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "xb") as out:
                for chunk in self._stream(name, left):
                    out.write(chunk)
                left -= out.tell()
        return folder

    def close(self) -> None:
        self._zip.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        self._temps.clear()

    def __enter__(self) -> "ArchiveReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
