"""get_file: fetch a file once into the Keras cache, verified, atomically and resumably.

The cache is Keras's own on purpose: `cache_dir`, else `$KERAS_HOME` (read at each call, not at
import), else `~/.keras`, with files at the paths Keras 3 gives them (`<cache>/datasets/<fname>`;
`<fname>_archive` plus an extraction folder when extracting). A data set Keras downloaded is
found by nhanh, checked against the same hash, and the other way round: fetched once per machine.
A cache folder that cannot be created or written falls back to `<tmp>/.keras`, with a warning.

Where this differs from Keras, on purpose:
- A download goes to `<target>.part` beside the target and is renamed onto it (`os.replace`)
  only once complete (byte count = Content-Length) and, with a hash, verified. So the target
  path only ever holds a whole file, even after a crash or Ctrl-C.
- Resumable: a leftover `.part` is continued with an HTTP Range request; a server that ignores
  Range sends the whole file and the part is rewritten. A resumed file that fails its hash is
  fetched once more from scratch. A second process finding `.part` locked (POSIX `flock`)
  downloads into a private temporary file instead (no resume for it).
- A hash mismatch deletes the file and raises, naming both hashes; Keras names only one.
- Extraction checks every member first and refuses the whole archive (nothing written) if one
  would land outside the target folder: absolute paths, `..`, links pointing outside, devices.
  Keras skips such members with a warning. An archive is extracted into a temporary folder and
  renamed into place, and only after a download or when the folder is missing (Keras extracts
  again on every call). A file that is no archive raises instead of warning.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent downloads share `.part`
    fcntl = None

_CHUNK = 1 << 16
_TIMEOUT_S = 60  # per network read: a stalled server fails (and can be resumed) instead of hanging


class DownloadError(OSError):
    """A download failed: the message names the URL and the cause."""


def keras_home() -> str:
    """The cache root Keras 3 uses: `$KERAS_HOME`, else `~/.keras`."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _algorithm(hash_algorithm: str, file_hash: str | None) -> str:
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"`hash_algorithm` must be 'auto', 'sha256' or 'md5', got "
                         f"{hash_algorithm!r}.")
    if hash_algorithm != "auto":
        return hash_algorithm
    return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"


def hash_file(fpath: str, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The hex digest of a file.

    Args:
        fpath: The file.
        algorithm: 'sha256', 'md5', or 'auto' (md5 here, as in Keras: there is no hash to size).
        chunk_size: Bytes read at a time.
    """
    hasher = hashlib.new(_algorithm(algorithm, None))
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto",
                  chunk_size: int = 65535) -> bool:
    """Whether a file has this sha256 or md5 hash.

    Args:
        fpath: The file.
        file_hash: The expected hex digest (either case).
        algorithm: 'auto' (sha256 for 64 hex digits, else md5), 'sha256' or 'md5'.
        chunk_size: Bytes read at a time.
    """
    return hash_file(fpath, _algorithm(algorithm, file_hash), chunk_size) == file_hash.lower()


def _cache_root(cache_dir) -> str:
    root = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else keras_home())
    try:
        os.makedirs(root, exist_ok=True)
    except OSError:
        pass
    if not os.access(root, os.W_OK):
        fallback = os.path.join(tempfile.gettempdir(), ".keras")
        warnings.warn(f"The cache folder {root!r} cannot be written to; using {fallback!r}. "
                      f"Pass a writable `cache_dir` (or set KERAS_HOME) to choose.", stacklevel=3)
        root = fallback
    return root


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _claim(part: str):
    """Open `part` for appending, locked; if another process holds it, a private temp file."""
    handle = open(part, "ab")
    if fcntl is None:
        return handle, part
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle, part
    except OSError:
        handle.close()
        fd, path = tempfile.mkstemp(dir=os.path.dirname(part),
                                    prefix=os.path.basename(part) + ".", suffix=".tmp")
        return os.fdopen(fd, "wb"), path


def _range_total(content_range: str | None) -> tuple[int | None, int | None]:
    """(first byte, total) from a Content-Range header such as 'bytes 100-199/200' or '*/200'."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", content_range or "")
    if match is None:
        return None, None
    first, total = match.groups()
    return (int(first) if first else None), (int(total) if total != "*" else None)


def _open(origin: str, offset: int):
    """urlopen, asking for the bytes from `offset` on; None when the part is already whole."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        return urllib.request.urlopen(urllib.request.Request(origin, headers=headers),
                                      timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset and _range_total(e.headers.get("Content-Range"))[1] == offset:
            return None  # range past the end: the part we hold is the whole file
        raise DownloadError(f"URL fetch failure on {origin}: HTTP {e.code} {e.reason}.") from e
    except urllib.error.URLError as e:
        raise DownloadError(f"URL fetch failure on {origin}: {e.reason}. Check the URL and "
                            f"your network connection.") from e
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(f"URL fetch failure on {origin}: {e!r}.") from e


def _fetch_into(handle, path: str, origin: str, resumable: bool) -> bool:
    """Write origin's bytes into `handle`, continuing what it holds; True if it continued."""
    from nhanh.utils.progbar import Progbar

    offset = os.fstat(handle.fileno()).st_size
    response = _open(origin, offset)
    if response is None:
        return True
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length is not None and length.isdigit() else None
        first, _ = _range_total(response.headers.get("Content-Range"))
        resumed = bool(offset) and getattr(response, "status", None) == 206 and first == offset
        if not resumed and offset:  # the server sent the whole file: start the part over
            handle.seek(0)
            handle.truncate()
            offset = 0
        total = None if length is None else offset + length
        progbar, done, cause = Progbar(total), offset, None
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as e:
                cause = repr(e)
                break
            if not chunk:
                break
            handle.write(chunk)
            done += len(chunk)
            progbar.update(done, finalize=False)
        handle.flush()
        if cause is None and total is not None and done != total:
            cause = "the connection closed early"
        if cause is not None:
            kept = (f" The {done} bytes received are kept in {path}; calling get_file again "
                    f"resumes from there." if resumable else "")
            raise DownloadError(f"URL fetch failure on {origin}: the download stopped after "
                                f"{done} of {total if total is not None else '?'} bytes "
                                f"({cause}).{kept}")
        progbar.update(done, finalize=True)
    return resumed


def _download(origin: str, target: str, file_hash: str | None, algorithm: str,
              fresh: bool) -> None:
    print(f"Downloading data from {origin}", flush=True)
    part = target + ".part"
    handle, path = _claim(part)
    try:
        if fresh:  # under the lock: never pull a part from under another process's download
            handle.seek(0)
            handle.truncate()
        try:
            resumed = _fetch_into(handle, path, origin, resumable=path == part)
        except BaseException:
            if path != part or os.fstat(handle.fileno()).st_size == 0:
                _remove(path)  # keep only a part that a later call can resume from
            raise
        if file_hash is not None:
            actual = hash_file(path, algorithm)
            if actual != file_hash:
                _remove(path)
                if resumed:  # the remote file may have changed since the part was written
                    handle.close()
                    return _download(origin, target, file_hash, algorithm, fresh=True)
                raise ValueError(
                    f"The file downloaded from {origin} is incomplete or corrupted: its "
                    f"{algorithm} hash is {actual}, expected {file_hash}. It was deleted. Check "
                    f"`file_hash` and the URL, then try again.")
        os.replace(path, target)
    finally:
        handle.close()


def _check_member(base: str, name: str, archive: str, link: str | None = None,
                  hard: bool = False, special: bool = False) -> None:
    def inside(relative: str) -> bool:
        resolved = os.path.realpath(os.path.join(base, relative))
        return os.path.commonpath([resolved, base]) == base

    why = None
    if os.path.isabs(name) or re.match(r"^[A-Za-z]:", name):
        why = "has an absolute path"
    elif not inside(name):
        why = "leaves the extraction folder (`..`)"
    elif special:
        why = "is a device or FIFO"
    elif link is not None and (os.path.isabs(link) or not inside(
            link if hard else os.path.join(os.path.dirname(name), link))):
        why = f"is a link to {link!r}, outside the extraction folder"
    if why:
        raise ValueError(f"Refusing to extract {archive}: member {name!r} {why}. Nothing was "
                         f"extracted. The archive is broken or malicious; check where it came "
                         f"from (and pass `file_hash`).")


def _extract_tar(file_path: str, path: str) -> None:
    base = os.path.realpath(path)
    with tarfile.open(file_path) as archive:
        members = archive.getmembers()
        for m in members:
            link = m.linkname if (m.issym() or m.islnk()) else None
            _check_member(base, m.name, file_path, link, hard=m.islnk(),
                          special=m.isdev())
        os.makedirs(path, exist_ok=True)
        if hasattr(tarfile, "data_filter"):  # Python's own checks, as a second line
            archive.extractall(path, members, filter="data")
        else:
            archive.extractall(path, members)


def _extract_zip(file_path: str, path: str) -> None:
    base = os.path.realpath(path)
    with zipfile.ZipFile(file_path) as archive:
        for info in archive.infolist():
            _check_member(base, info.filename, file_path)
        os.makedirs(path, exist_ok=True)
        archive.extractall(path)


def extract_archive(file_path: str, path: str = ".", archive_format="auto") -> bool:
    """Extract a tar (.tar, .tar.gz, .tar.bz2, ...) or zip archive into `path`.

    Every member is checked before anything is written; one that would land outside `path`
    raises ValueError and nothing is extracted.

    Args:
        file_path: The archive.
        path: Folder to extract into (created if missing).
        archive_format: 'auto' (= ['tar', 'zip']), 'tar', 'zip', a list of those, or None.

    Returns:
        Whether the file was one of the formats tried (and so was extracted).
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(f"`archive_format` must be 'auto', 'tar', 'zip', a list of those or "
                             f"None, got {archive_format!r}.")
    file_path, path = os.fspath(file_path), os.fspath(path)
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            _extract_tar(file_path, path)
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            _extract_zip(file_path, path)
            return True
    return False


def _extract_into_place(archive: str, folder: str, archive_format) -> None:
    parent, name = os.path.split(folder)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{name}.", suffix=".extracting")
    try:
        if not extract_archive(archive, staging, archive_format):
            raise ValueError(f"Could not extract {archive}: it is not a "
                             f"{archive_format if archive_format != 'auto' else 'tar or zip'} "
                             f"archive. Pass `extract=False` to keep the file as it is.")
        if os.path.isdir(folder) and not os.path.islink(folder):
            shutil.rmtree(folder)
        elif os.path.lexists(folder):
            os.remove(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _targets(datadir: str, fname: str, provided: bool, extract: bool) -> tuple[str, str | None]:
    """(download path, extraction folder), named as Keras 3 names them (shared cache)."""
    if not extract:
        return os.path.join(datadir, fname), None
    if provided and "." in fname:
        stem = fname[:fname.find(".")]
        return os.path.join(datadir, fname), os.path.join(datadir, f"{stem}_extracted")
    return os.path.join(datadir, f"{fname}_archive"), os.path.join(datadir, fname)


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None,
             cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format="auto", cache_dir: str | None = None,
             force_download: bool = False) -> str:
    """Download a file from a URL unless the cache already holds it (Keras's `get_file`).

    Args:
        fname: Local file name; None takes the last part of `origin`'s path. When extracting,
            a name without an extension names the extraction folder.
        origin: URL of the file.
        untar: Deprecated; same as `extract=True, archive_format='tar'`.
        md5_hash: Deprecated; an md5 `file_hash`.
        file_hash: Expected sha256 or md5 hex digest. A cached file with another hash is
            downloaded again; a download with another hash is deleted and raises ValueError.
        cache_subdir: Folder under the cache root (an absolute path is used as it is).
        hash_algorithm: 'auto' (sha256 for 64 hex digits, else md5), 'sha256' or 'md5'.
        extract: Extract the archive (tar or zip) and return the folder.
        archive_format: 'auto', 'tar', 'zip', a list of those, or None.
        cache_dir: Cache root; None means `$KERAS_HOME` or `~/.keras`, shared with Keras.
        force_download: Download even if the cache holds the file.

    Returns:
        The path of the file, or of the extraction folder when extracting.

    Raises:
        DownloadError: the server could not be reached or the download stopped (an HTTP
            download that stopped resumes on the next call).
        ValueError: bad arguments, a hash mismatch, or an archive member escaping its folder.
    """
    if origin is None:
        raise ValueError("`origin` is required: the URL of the file to download, e.g. "
                         "get_file('data.npz', origin='https://example.com/data.npz').")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if file_hash is not None:
        file_hash = str(file_hash).lower()
    algorithm = _algorithm(hash_algorithm, file_hash)
    datadir = os.path.join(_cache_root(cache_dir), cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    provided = bool(fname)
    fname = os.fspath(fname) if fname else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"Can't take a file name from origin={origin!r} (its path ends with "
                         f"'/'); pass `fname`.")
    if os.sep in fname or "/" in fname:
        raise ValueError(f"`fname` must be a file name, not a path; got fname={fname!r}. Pass "
                         f"the folder as `cache_dir` (or `cache_subdir`).")
    extract = extract or untar
    target, folder = _targets(datadir, fname, provided, extract)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash,
                                                                    algorithm):
        print(f"A local file was found at {target}, but its {algorithm} hash does not match "
              f"{file_hash} (incomplete or outdated); downloading it again.", flush=True)
        download = True
    if download:
        _download(origin, target, file_hash, algorithm, fresh=force_download)
    if not extract:
        return target
    if download or not os.path.isdir(folder):
        _extract_into_place(target, folder, "tar" if untar else archive_format)
    return folder
