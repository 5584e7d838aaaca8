"""nhanh.utils.file_utils.get_file against a local HTTP server (never the internet): hashes,
atomic and resumable downloads, the cache shared with Keras (same paths as keras.utils.get_file
gives), and extraction that refuses members escaping their folder."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from local_http import server  # noqa: F401  (the fixture)
from nhanh.utils.file_utils import DownloadError, extract_archive, get_file

pytestmark = pytest.mark.engine_independent  # pure Python: runs once, not once per engine

DATA = bytes(range(256)) * 1000  # 256,000 bytes: several read chunks
SHA = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


def _tar(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                archive.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize("kwargs", [dict(file_hash=SHA), dict(file_hash=MD5),
                                    dict(md5_hash=MD5), dict(file_hash=SHA.upper()), {}])
def test_download_verified_into_cache(server, tmp_path, kwargs):
    server.files["data.bin"] = DATA
    path = get_file("data.bin", server.url("data.bin"), cache_dir=tmp_path, **kwargs)
    assert path == str(tmp_path / "datasets" / "data.bin")
    assert open(path, "rb").read() == DATA
    assert os.listdir(tmp_path / "datasets") == ["data.bin"]  # no partial file left behind


def test_default_cache_is_keras_home(server, tmp_path, monkeypatch):
    server.files["data.bin"] = DATA
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert get_file(origin=server.url("data.bin")) == str(tmp_path / "kh" / "datasets" /
                                                           "data.bin")


def test_hash_mismatch_deletes_the_file_and_names_both_hashes(server, tmp_path):
    server.files["data.bin"] = DATA
    wrong = "0" * 64
    with pytest.raises(ValueError) as err:
        get_file("data.bin", server.url("data.bin"), file_hash=wrong, cache_dir=tmp_path)
    assert wrong in str(err.value) and SHA in str(err.value)
    assert server.url("data.bin") in str(err.value)
    assert os.listdir(tmp_path / "datasets") == []


def test_interrupted_download_never_passes_as_the_file_and_resumes(server, tmp_path):
    server.files["data.bin"] = DATA
    server.truncate["data.bin"] = 100_000
    url = server.url("data.bin")
    with pytest.raises(DownloadError) as err:
        get_file("data.bin", url, cache_dir=tmp_path)  # no hash: only the length can tell
    assert url in str(err.value) and "100000 of 256000" in str(err.value)
    assert not (tmp_path / "datasets" / "data.bin").exists()
    del server.truncate["data.bin"]
    path = get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path)
    assert open(path, "rb").read() == DATA
    assert server.requests[-1] == ("data.bin", "bytes=100000-")  # the rest, not all again
    assert os.listdir(tmp_path / "datasets") == ["data.bin"]


def test_resume_from_a_server_ignoring_range_starts_over(server, tmp_path):
    server.files["data.bin"] = DATA
    server.truncate["data.bin"] = 70_000
    with pytest.raises(DownloadError):
        get_file("data.bin", server.url("data.bin"), cache_dir=tmp_path)
    del server.truncate["data.bin"]
    server.ignore_range = True
    path = get_file("data.bin", server.url("data.bin"), cache_dir=tmp_path)
    assert open(path, "rb").read() == DATA


def test_resumed_file_failing_its_hash_is_fetched_again_whole(server, tmp_path):
    old = b"x" * 200_000  # the remote file changed between the two calls
    server.files["data.bin"] = old
    server.truncate["data.bin"] = 50_000
    with pytest.raises(DownloadError):
        get_file("data.bin", server.url("data.bin"), cache_dir=tmp_path)
    server.truncate.clear()
    server.files["data.bin"] = DATA
    path = get_file("data.bin", server.url("data.bin"), file_hash=SHA, cache_dir=tmp_path)
    assert open(path, "rb").read() == DATA
    assert server.requests[-2:] == [("data.bin", "bytes=50000-"), ("data.bin", None)]


def test_leftover_complete_part_is_used(server, tmp_path):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "data.bin.part").write_bytes(DATA)  # crashed before the rename
    server.files["data.bin"] = DATA
    path = get_file("data.bin", server.url("data.bin"), file_hash=SHA, cache_dir=tmp_path)
    assert open(path, "rb").read() == DATA
    assert server.requests == [("data.bin", "bytes=256000-")]
    (tmp_path / "datasets" / "data.bin.part").write_bytes(DATA[:1000])
    get_file("data.bin", server.url("data.bin"), cache_dir=tmp_path, force_download=True)
    assert server.requests[-1] == ("data.bin", None)  # forced: the leftover part is not trusted
    assert open(path, "rb").read() == DATA


def test_cache_hit_needs_no_server_and_force_download_fetches_again(server, tmp_path):
    server.files["data.bin"] = DATA
    url = server.url("data.bin")
    get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path)
    server.close()  # nothing answers now
    assert open(get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path), "rb").read() == DATA
    with pytest.raises(DownloadError, match="URL fetch failure on " + url):
        get_file("data.bin", url, cache_dir=tmp_path, force_download=True)
    assert open(tmp_path / "datasets" / "data.bin", "rb").read() == DATA  # left as it was


def test_force_download_and_stale_cache_download_again(server, tmp_path):
    server.files["data.bin"] = b"old"
    url = server.url("data.bin")
    get_file("data.bin", url, cache_dir=tmp_path)
    server.files["data.bin"] = DATA
    assert open(get_file("data.bin", url, cache_dir=tmp_path), "rb").read() == b"old"
    assert server.gets("data.bin") == 1
    path = get_file("data.bin", url, cache_dir=tmp_path, force_download=True)
    assert open(path, "rb").read() == DATA and server.gets("data.bin") == 2
    (tmp_path / "datasets" / "data.bin").write_bytes(b"tampered")
    assert open(get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path), "rb").read() == DATA
    assert server.gets("data.bin") == 3


def test_http_errors_name_the_url_and_cause(server, tmp_path):
    with pytest.raises(DownloadError, match=r"URL fetch failure on .*missing\.bin: HTTP 404"):
        get_file("missing.bin", server.url("missing.bin"), cache_dir=tmp_path)
    assert os.listdir(tmp_path / "datasets") == []


@pytest.mark.parametrize("kwargs, want", [
    (dict(), "data.bin"),
    (dict(fname="arch.tar.gz", extract=True), "arch_extracted"),
    (dict(fname="arch", extract=True), "arch"),
    (dict(extract=True), "arch.tar.gz"),
    (dict(fname="arch", untar=True), "arch"),
])
def test_paths_match_keras_cache_layout(server, tmp_path, kwargs, want):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    server.files["arch.tar.gz"] = _tar([("inner/a.txt", b"hello"), ("b.txt", b"bye")])
    server.files["data.bin"] = DATA
    name = "data.bin" if want == "data.bin" else "arch.tar.gz"
    ours = get_file(origin=server.url(name), cache_dir=tmp_path / "n", **kwargs)
    (tmp_path / "k").mkdir()  # Keras falls back to /tmp/.keras for a cache_dir not there yet
    theirs = keras.utils.get_file(origin=server.url(name), cache_dir=str(tmp_path / "k"),
                                  **kwargs)
    assert os.path.relpath(ours, tmp_path / "n") == os.path.relpath(theirs, tmp_path / "k") \
        == os.path.join("datasets", want)
    # A file Keras cached is found: no new request, and the same contents.
    before = len(server.requests)
    shared = get_file(origin=server.url(name), cache_dir=tmp_path / "k", **kwargs)
    assert shared == theirs and len(server.requests) == before
    if "extract" in kwargs or "untar" in kwargs:
        assert open(os.path.join(ours, "inner", "a.txt"), "rb").read() == b"hello"
        assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs)) == ["b.txt", "inner"]


def test_extract_zip_and_reextract_only_after_download(server, tmp_path):
    server.files["z.zip"] = _zip([("d/x.txt", b"1")])
    folder = get_file("z", server.url("z.zip"), extract=True, cache_dir=tmp_path)
    assert open(os.path.join(folder, "d", "x.txt")).read() == "1"
    os.remove(os.path.join(folder, "d", "x.txt"))
    get_file("z", server.url("z.zip"), extract=True, cache_dir=tmp_path)  # cached: kept as is
    assert not os.path.exists(os.path.join(folder, "d", "x.txt"))
    get_file("z", server.url("z.zip"), extract=True, cache_dir=tmp_path, force_download=True)
    assert open(os.path.join(folder, "d", "x.txt")).read() == "1"
    assert sorted(os.listdir(tmp_path / "datasets")) == ["z", "z_archive"]  # no staging left


UNSAFE_TARS = {
    "dotdot": [("ok.txt", b"ok"), ("../evil.txt", b"evil")],
    "absolute": [("ok.txt", b"ok"), ("/tmp/nhanh_evil_abs.txt", b"evil")],
    "symlink_out": [("ok.txt", b"ok"), _link("link", "../../outside")],
    "symlink_abs": [("ok.txt", b"ok"), _link("link", "/etc/passwd")],
    "hardlink_out": [("ok.txt", b"ok"), _link("hard", "../outside.txt", hard=True)],
    "via_subdir": [("ok.txt", b"ok"), ("sub/../../evil.txt", b"evil")],
}


@pytest.mark.parametrize("case", sorted(UNSAFE_TARS))
def test_extraction_refuses_members_escaping_the_folder(server, tmp_path, case):
    server.files["bad.tar.gz"] = _tar(UNSAFE_TARS[case])
    with pytest.raises(ValueError, match="Refusing to extract .*member") as err:
        get_file("bad", server.url("bad.tar.gz"), extract=True, cache_dir=tmp_path)
    bad = UNSAFE_TARS[case][-1]
    assert repr(bad.name if isinstance(bad, tarfile.TarInfo) else bad[0]) in str(err.value)
    assert sorted(os.listdir(tmp_path / "datasets")) == ["bad_archive"]  # nothing extracted
    assert not os.path.exists("/tmp/nhanh_evil_abs.txt")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/nhanh_evil_zip.txt"])
def test_zip_extraction_refuses_escaping_members(tmp_path, name):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip([("ok.txt", b"ok"), (name, b"evil")]))
    with pytest.raises(ValueError, match="Refusing to extract"):
        extract_archive(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_safe_links_inside_are_extracted(tmp_path):
    archive = tmp_path / "ok.tar.gz"
    archive.write_bytes(_tar([("d/a.txt", b"A"), ("top.txt", b"T"), _link("d/s", "a.txt"),
                              _link("d/up", "../top.txt"), _link("h", "d/a.txt", hard=True)]))
    assert extract_archive(str(archive), str(tmp_path / "out"))
    assert open(tmp_path / "out" / "d" / "s").read() == "A"  # symlinks: from their folder
    assert open(tmp_path / "out" / "d" / "up").read() == "T"
    assert open(tmp_path / "out" / "h").read() == "A"


def test_bad_arguments_say_what_to_do(server, tmp_path):
    server.files["data.bin"] = b"not an archive"
    with pytest.raises(ValueError, match="`origin` is required"):
        get_file("x")
    with pytest.raises(ValueError, match="`fname` must be a file name"):
        get_file("a/b.bin", server.url("data.bin"), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`hash_algorithm`"):
        get_file("data.bin", server.url("data.bin"), file_hash=SHA, hash_algorithm="sha1",
                 cache_dir=tmp_path)
    with pytest.raises(ValueError, match="not a tar or zip archive"):
        get_file("data", server.url("data.bin"), extract=True, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`archive_format`"):
        extract_archive(str(tmp_path / "x"), str(tmp_path), archive_format="rar")


@pytest.mark.skipif(os.name != "posix", reason="flock is POSIX")
def test_a_part_locked_by_another_download_is_left_alone(server, tmp_path):
    import fcntl

    server.files["data.bin"] = DATA
    (tmp_path / "datasets").mkdir()
    with open(tmp_path / "datasets" / "data.bin.part", "ab") as other:
        other.write(b"in progress")
        other.flush()
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)  # another process is downloading
        path = get_file("data.bin", server.url("data.bin"), file_hash=SHA, cache_dir=tmp_path)
    assert open(path, "rb").read() == DATA
    assert (tmp_path / "datasets" / "data.bin.part").read_bytes() == b"in progress"
    assert server.requests == [("data.bin", None)]
    assert sorted(os.listdir(tmp_path / "datasets")) == ["data.bin", "data.bin.part"]


def test_file_urls_work(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(DATA)
    path = get_file("copy.bin", source.as_uri(), file_hash=SHA, cache_dir=tmp_path / "c")
    assert open(path, "rb").read() == DATA
