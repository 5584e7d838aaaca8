"""The storage layer under saving: Keras 3's HDF5 weights layout, the .keras zip, crash-safe
writes, and one attack file per way a stranger's file could reach outside itself or exhaust
memory. Each attack file is checked to be a real attack (plain h5py/zipfile falls for it) where
that is cheap, and nhanh must refuse it with a message naming the file part and the reason.
"""

import io
import os
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile

import h5py
import numpy as np
import pytest

from nhanh.saving.archive import ArchiveReader, atomic_open, atomic_write, write_archive
from nhanh.saving.h5_store import H5Reader, H5Writer

os.environ.setdefault("KERAS_BACKEND", "jax")
pytestmark = [pytest.mark.engine_independent,
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # Keras's np.array(...)

LABEL = "m.keras: model.weights.h5"
CANARY = np.array([13.0, 17.0, 19.0, 23.0], "float32")


@pytest.fixture(scope="module")
def keras_model():
    """A tiny Keras Sequential with a bfloat16 layer and built optimizer slots."""
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense"),
                              keras.layers.Dense(1, name="dense_1", dtype="bfloat16")],
                             name="sequential")
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def _keras_layout(model):
    """(path, name, arrays) triples of Keras's weights layout for a flat Sequential."""
    import keras
    arrays = lambda vs: [keras.ops.convert_to_numpy(v.value) for v in vs]  # noqa: E731
    out = [(f"layers/{layer.name}", layer.name, arrays(layer.weights)) for layer in model.layers]
    out.append(("optimizer", model.optimizer.name, arrays(model.optimizer.variables)))
    out.append(("", model.name, []))
    return out


# -- Keras 3 interoperability ----------------------------------------------------------------

def test_keras_loads_weights_written_by_h5writer(tmp_path, keras_model):
    import keras
    layout = _keras_layout(keras_model)
    path = tmp_path / "m.weights.h5"
    with H5Writer(str(path)) as writer:
        for p, name, arrays in layout:
            writer.write_vars(p, iter(arrays), name=name)
    clone = keras.models.clone_model(keras_model)
    clone.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    clone.optimizer.build(clone.trainable_variables)
    clone.load_weights(str(path))
    for (_, _, want), layer in zip(layout, clone.layers):
        for w, v in zip(want, layer.weights):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(v.value), w)
    assert clone.layers[1].kernel.dtype == "bfloat16"
    with h5py.File(path) as f:  # Keras's exact attributes and dataset names
        assert dict(f["layers/dense/vars"].attrs) == {"name": "dense"}
        assert dict(f["vars"].attrs) == {"name": "sequential"} and len(f["vars"]) == 0
        assert sorted(f["layers/dense/vars"]) == ["0", "1"]
        assert f["layers/dense_1/vars/0"].attrs["dtype"] == "bfloat16"


def test_h5reader_reads_every_dataset_keras_wrote(tmp_path, keras_model):
    path = tmp_path / "k.weights.h5"
    keras_model.save_weights(str(path))
    layout = _keras_layout(keras_model)
    with H5Reader(str(path), label="k.weights.h5") as reader:
        assert reader.paths() == sorted(p for p, _, _ in layout)
        for p, _, arrays in layout:
            assert reader.has(p) and reader.count(p) == len(arrays)
            for i, want in enumerate(arrays):
                got = reader.read(p, i, want.shape, want.dtype.name, f"{p}/vars/{i}")
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
        # bfloat16 read as float32 gives the same numbers, widened
        kernel = layout[1][2][0]
        np.testing.assert_array_equal(reader.read("layers/dense_1", 0, kernel.shape, "float32",
                                                  "k"), kernel.astype("float32"))
        assert not reader.has("layers/nothing")


def test_keras_archive_opens_and_its_weights_read(tmp_path, keras_model):
    path = tmp_path / "k.keras"
    keras_model.save(str(path))
    with ArchiveReader(str(path), label="k.keras") as archive:
        assert set(archive.names()) == {"metadata.json", "config.json", "model.weights.h5"}
        assert b'"class_name": "Sequential"' in archive.read_bytes("config.json", 1 << 20)
        weights = archive.extract_to_temp("model.weights.h5", 1 << 24)
        with H5Reader(weights, label="k.keras: model.weights.h5") as reader:
            assert reader.count("layers/dense") == 2
        assert os.path.exists(weights)
    assert not os.path.exists(weights)  # the private copy goes with the reader


def test_write_archive_matches_keras_and_streams_file_members(tmp_path):
    weights = tmp_path / "w.h5"
    with H5Writer(str(weights)) as writer:
        writer.write_vars("layers/dense", [np.ones((3, 2), "float32")], name="dense")
    out = tmp_path / "m.keras"
    write_archive(str(out), [("metadata.json", b"{}"), ("config.json", b'{"a": 1}'),
                             ("model.weights.h5", str(weights)),
                             ("assets/layers/lookup/vocabulary.txt", b"a\nb\n")])
    with zipfile.ZipFile(out) as zf:  # stored, as Keras writes them
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    with ArchiveReader(str(out), label="m.keras") as archive:
        assert archive.names()[:3] == ["metadata.json", "config.json", "model.weights.h5"]
        assert archive.read_bytes("model.weights.h5", 1 << 20) == weights.read_bytes()
        assert archive.asset_names("assets/layers/lookup/") == \
            ["assets/layers/lookup/vocabulary.txt"]
        folder = archive.extract_assets_to_temp("assets/layers/lookup/", 100)
        assert os.listdir(folder) == ["vocabulary.txt"]
        assert open(os.path.join(folder, "vocabulary.txt"), "rb").read() == b"a\nb\n"
        with pytest.raises(ValueError, match="more than the 3 it may hold"):
            archive.extract_assets_to_temp("assets/", 3)
    assert not os.path.exists(folder)
    with pytest.raises(ValueError, match=r"'\.\./x' climbs out"):
        write_archive(str(out), [("../x", b"")])


def test_readers_take_file_objects(tmp_path):
    buffer = io.BytesIO()
    with H5Writer(buffer) as writer:
        writer.write_vars("", [np.arange(3, dtype="int64")], name="root")
    with H5Reader(io.BytesIO(buffer.getvalue()), label="buf") as reader:
        np.testing.assert_array_equal(reader.read("", 0, (3,), "float32", "v"), [0, 1, 2])


# -- HDF5 attack files -----------------------------------------------------------------------

def _h5(tmp_path, build, name="evil.h5"):
    path = tmp_path / name
    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        build(f)
    return str(path)


def _refused(path, *patterns):
    with pytest.raises(ValueError) as info:
        H5Reader(path, label=LABEL)
    message = str(info.value)
    assert message.startswith(LABEL)
    for p in patterns:
        assert p in message, message
    return message


def test_h5_external_and_soft_links_refused(tmp_path):
    other = _h5(tmp_path, lambda f: f.create_dataset("secret", data=CANARY), "other.h5")
    ext = _h5(tmp_path, lambda f: f.__setitem__("layers/dense/vars/0",
                                                h5py.ExternalLink(other, "/secret")))
    with h5py.File(ext) as f:  # a real attack: plain h5py follows the link into other.h5
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], CANARY)
    _refused(ext, "'layers/dense/vars/0'", "external link")
    soft = _h5(tmp_path, lambda f: (f.create_dataset("hidden", data=CANARY),
                                    f.__setitem__("layers/d/vars/0", h5py.SoftLink("/hidden"))))
    _refused(soft, "'layers/d/vars/0'", "soft link")


def test_h5_external_storage_never_reads_the_other_file(tmp_path):
    """CVE-2026-1669: a dataset whose bytes live in another file on the loading machine."""
    canary = tmp_path / "canary.bin"
    canary.write_bytes(CANARY.tobytes())
    path = _h5(tmp_path, lambda f: f.create_dataset(
        "layers/dense/vars/0", shape=(4,), dtype="float32", external=[(str(canary), 0, 16)]))
    with h5py.File(path) as f:  # a real attack: plain h5py returns the canary's bytes
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], CANARY)
    message = _refused(path, "'layers/dense/vars/0'", "external storage", "CVE-2026-1669")
    assert "13.0" not in message and "17" not in message


def test_h5_virtual_dataset_refused(tmp_path):
    source = _h5(tmp_path, lambda f: f.create_dataset("data", data=CANARY), "source.h5")

    def build(f):
        layout = h5py.VirtualLayout(shape=(4,), dtype="float32")
        layout[:] = h5py.VirtualSource(source, "data", shape=(4,))
        f.create_virtual_dataset("layers/dense/vars/0", layout)
    _refused(_h5(tmp_path, build), "'layers/dense/vars/0'", "virtual dataset")


def test_h5_hard_link_alias_named_type_deep_nesting_refused(tmp_path):
    def alias(f):
        f["a/vars/0"] = np.zeros(2, "float32")
        f["a/vars/1"] = f["a/vars/0"]
    _refused(_h5(tmp_path, alias), "second path")

    def named(f):
        f["t"] = np.dtype("float32")
        f.create_dataset("a/vars/0", shape=(2,), dtype=f["t"])
    _refused(_h5(tmp_path, named), "named")
    _refused(_h5(tmp_path, lambda f: f.create_group("/".join(["g"] * 70))), "deeper than 64")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
@pytest.mark.parametrize("kind", ["contiguous", "gzip"])
def test_h5_declared_6gib_dataset_refused_with_little_memory(tmp_path, kind):
    """CVE-2026-0897: 6 GiB declared, almost nothing stored; checked under an address-space
    limit that makes a plain h5py read fail, so the refusal cannot have allocated it."""
    n = (6 << 30) // 4

    def build(f):
        if kind == "gzip":
            d = f.create_dataset("layers/d/vars/0", shape=(n,), dtype="float32",
                                 chunks=(1 << 16,), compression="gzip")
            d[: 1 << 16] = 1.0
        else:
            f.create_dataset("layers/d/vars/0", shape=(n,), dtype="float32")
    path = _h5(tmp_path, build)
    assert os.path.getsize(path) < 1 << 20
    module = os.path.join(os.path.dirname(__file__), "..", "src", "nhanh", "saving", "h5_store.py")
    script = textwrap.dedent(f"""
        import importlib.util, resource, h5py
        spec = importlib.util.spec_from_file_location("h5_store", {module!r})
        store = importlib.util.module_from_spec(spec); spec.loader.exec_module(store)
        vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
        limit = vm * 1024 + (1 << 30)  # 1 GiB above what the process has now
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            store.H5Reader({path!r}, label="m.keras: model.weights.h5")
        except ValueError as e:
            print("REFUSED", e)
        try:
            h5py.File({path!r})["layers/d/vars/0"][()]
            print("PLAIN READ OK")
        except MemoryError:
            print("PLAIN READ MemoryError")
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=env)
    assert "REFUSED m.keras: model.weights.h5: object 'layers/d/vars/0'" in out.stdout, out
    assert "CVE-2026-0897" in out.stdout and "6442450944 bytes" in out.stdout
    assert "PLAIN READ MemoryError" in out.stdout, out  # the limit bites a real read


def test_h5_non_numeric_dtypes_refused(tmp_path):
    _refused(_h5(tmp_path, lambda f: f.create_dataset("a/vars/0", data=np.array([b"x", b"y"]))),
             "'a/vars/0'", "dtype")
    _refused(_h5(tmp_path, lambda f: f.create_dataset(
        "a/vars/0", data=np.zeros(2, [("x", "f4"), ("y", "i4")]))), "'a/vars/0'", "dtype")
    _refused(_h5(tmp_path, lambda f: f.create_dataset(
        "a/vars/0", data=np.zeros(2, "V2"))), "'a/vars/0'", "dtype")  # opaque, not bfloat16


def test_h5_shape_and_dtype_checked_before_reading(tmp_path):
    path = str(tmp_path / "w.h5")
    with H5Writer(path) as writer:
        writer.write_vars("layers/dense", [np.ones((3, 2), "float32"),
                                           np.array([300, 1], "int64")], name="dense")
    with H5Reader(path, label=LABEL) as reader:
        what = "layers/dense/vars/0 (variable dense/kernel)"
        with pytest.raises(ValueError, match=r"dense/kernel\): the file holds shape \(3, 2\) but "
                                             r"the variable has shape \(2, 3\)"):
            reader.read("layers/dense", 0, (2, 3), "float32", what)
        with pytest.raises(ValueError, match=r"float32 values, which do not convert safely to "
                                             r"the variable's int32"):
            reader.read("layers/dense", 0, (3, 2), "int32", what)
        with pytest.raises(ValueError, match="values from 1 to 300 do not fit the variable's int8"):
            reader.read("layers/dense", 1, (2,), "int8", "v1")
        assert reader.read("layers/dense", 1, (2,), "int16", "v1").dtype == np.int16


def test_h5_vars_must_be_named_0_to_n_minus_1(tmp_path):
    path = _h5(tmp_path, lambda f: (f.create_dataset("a/vars/0", data=CANARY),
                                    f.create_dataset("a/vars/2", data=CANARY),
                                    f.create_dataset("b/vars/1", data=CANARY),
                                    f.create_dataset("b/vars/0/x", data=CANARY)))
    with H5Reader(path, label=LABEL) as reader:
        with pytest.raises(ValueError, match=r"'a/vars' holds datasets \['0', '2'\]; Keras's "
                                             r"layout names them '0'..'1'"):
            reader.count("a")
        with pytest.raises(ValueError, match=r"'b/vars' holds datasets \['0/', '1'\]"):
            reader.count("b")  # "0" is a group, not a dataset
        assert reader.count("") == 0


def test_h5_truncated_and_random_files_refused(tmp_path):
    path = tmp_path / "w.h5"
    with H5Writer(str(path)) as writer:
        writer.write_vars("layers/dense", [np.ones((64, 64), "float32")], name="dense")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(str(path), "truncated")
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    _refused(str(path), "not a readable HDF5 file")


# -- zip attack files ------------------------------------------------------------------------

def _zip(tmp_path, members, name="evil.keras"):
    path = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for info, data in members:
                zf.writestr(info, data)
    return str(path)


def _zip_refused(path, *patterns):
    with pytest.raises(ValueError) as info:
        ArchiveReader(path, label="m.keras")
    message = str(info.value)
    assert message.startswith("m.keras"), message
    for p in patterns:
        assert p in message, message


def test_zip_slip_refused_and_nothing_written_outside(tmp_path):
    (tmp_path / "in").mkdir()
    path = _zip(tmp_path / "in", [("config.json", b"{}"), ("../evil", b"pwned")])
    _zip_refused(path, "'../evil'", "climbs out")
    assert not (tmp_path / "evil").exists()
    _zip_refused(_zip(tmp_path, [("assets/../../evil", b"x")]), "'assets/../../evil'", "'..'")
    _zip_refused(_zip(tmp_path, [("/tmp/evil", b"x")]), "'/tmp/evil'", "absolute")
    _zip_refused(_zip(tmp_path, [("C:/evil", b"x")]), "drive letter")
    _zip_refused(_zip(tmp_path, [("assets\\..\\evil", b"x")]), "backslash")
    path = _zip(tmp_path, [("evil.h5Xconfig.json", b"x")])  # zipfile itself cuts names at NUL
    data = open(path, "rb").read().replace(b"evil.h5X", b"evil.h5\x00")
    open(path, "wb").write(data)
    _zip_refused(path, "'evil.h5\\x00config.json'", "NUL")


def test_zip_symlink_and_duplicate_members_refused(tmp_path):
    link = zipfile.ZipInfo("assets/vocab.txt")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    _zip_refused(_zip(tmp_path, [(link, b"/etc/passwd")]), "'assets/vocab.txt'", "symlink")
    _zip_refused(_zip(tmp_path, [("config.json", b"{}"), ("config.json", b"{}")]),
                 "'config.json'", "twice")


def _patch(path, name, value, local=22, central=24):
    """Rewrite a 4-byte field of a member's local and central headers (default: its declared
    uncompressed size; `local=None, central=42`: where its local header is)."""
    data = bytearray(open(path, "rb").read())
    raw = name.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", local, 30), (b"PK\x01\x02", central, 46)):
        start = 0
        while offset is not None and (start := data.find(signature, start)) >= 0:
            if data[start + name_at: start + name_at + len(raw)] == raw:
                data[start + offset: start + offset + 4] = struct.pack("<I", value)
            start += 4
    open(path, "wb").write(bytes(data))


def test_zip_decompression_bombs_refused(tmp_path):
    deflate = lambda n: zipfile.ZipInfo(n)  # noqa: E731
    real = deflate("model.weights.h5")
    real.compress_type = zipfile.ZIP_DEFLATED
    path = tmp_path / "bomb.keras"  # a real bomb: 80 MiB of zeros in ~80 KB
    with zipfile.ZipFile(path, "w") as zf, zf.open(real, "w") as f:
        zero = bytes(1 << 20)
        for _ in range(80):
            f.write(zero)
    assert os.path.getsize(path) < 1 << 20
    _zip_refused(str(path), "'model.weights.h5'", "decompression bomb")
    lie = deflate("config.json")  # a header that declares 3 GiB for 1 KB of deflate data
    lie.compress_type = zipfile.ZIP_DEFLATED
    for declared in (3 << 30, 50 << 20):  # over and under the 64 MiB floor: both impossible
        path = _zip(tmp_path, [(lie, os.urandom(1000))])
        _patch(path, "config.json", declared)
        _zip_refused(path, "'config.json'", f"declares {declared} bytes", "decompression bomb")


def test_zip_member_longer_than_declared_and_hard_cap(tmp_path):
    info = zipfile.ZipInfo("config.json")
    info.compress_type = zipfile.ZIP_DEFLATED
    path = _zip(tmp_path, [(info, b"A" * 10_000)])
    _patch(path, "config.json", 100)
    with ArchiveReader(path, label="m.keras") as archive:
        with pytest.raises(ValueError, match=r"m.keras: member 'config.json' is corrupt: its data "
                                             r"do not match its header"):
            archive.read_bytes("config.json", 1 << 20)
    path = _zip(tmp_path, [("config.json", b"A" * 10_000)], "ok.keras")
    with ArchiveReader(path, label="m.keras") as archive:
        with pytest.raises(ValueError, match=r"'config.json' declares 10000 bytes, more than the "
                                             r"100 it may hold"):
            archive.read_bytes("config.json", 100)
        with pytest.raises(ValueError, match="no file 'model.weights.h5'"):
            archive.extract_to_temp("model.weights.h5", 100)


def test_zip_overlapping_members_refused(tmp_path):
    """The overlapping-files bomb: two central entries share one member's bytes."""
    path = _zip(tmp_path, [("config.json", b"{}" * 100), ("metadata.json", b"{}" * 100)])
    _patch(path, "metadata.json", 0, local=None, central=42)
    _zip_refused(path, "overlaps the previous member")


def test_zip_truncated_and_not_a_zip_refused(tmp_path):
    path = _zip(tmp_path, [("config.json", b"{}" * 1000), ("model.weights.h5", b"x" * 5000)])
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) - 30])
    _zip_refused(path, "not a readable zip archive")
    open(path, "wb").write(np.random.default_rng(0).bytes(4096))
    _zip_refused(path, "not a readable zip archive")


# -- crash-safe writes -----------------------------------------------------------------------

def _leftovers(folder):
    return [n for n in os.listdir(folder) if ".tmp-" in n]


def test_failed_writes_leave_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "m.keras"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("crash")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as temp:
            with H5Writer(temp) as writer:
                writer.write_vars("a", [np.ones(3)])
                raise RuntimeError("crash")
    with pytest.raises(FileNotFoundError):  # a member file vanishes part way through
        write_archive(target, [("config.json", b"{}"), ("model.weights.h5",
                                                        str(tmp_path / "missing.h5"))])
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []
    with atomic_open(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and _leftovers(tmp_path) == []
