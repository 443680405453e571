"""A skops file cannot make aims import a module before --trust, nor unpack a zip bomb."""

from __future__ import annotations

import copy
import io
import json
import struct
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from skops.io import dumps

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours import load_bytes, skops_flavour

PROBE = "sklearn.aims_import_probe"


def _genuine() -> bytes:
    return dumps(LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]))


def _with_schema(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    edit(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = json.dumps(schema) if info.filename == "schema.json" else source.read(info)
            target.writestr(info.filename, body)
    return out.getvalue()


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module inside the sklearn package that leaves a file behind when it is imported."""
    marker = tmp_path / "imported"
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "aims_import_probe.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
        "class Thing:\n    pass\n"
    )
    monkeypatch.setattr(sklearn, "__path__", [*sklearn.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, PROBE, raising=False)
    return marker


def test_a_file_naming_an_unloaded_sklearn_module_does_not_import_it(probe: Path) -> None:
    def add_probe(schema: dict) -> None:
        node = copy.deepcopy(schema["content"])
        schema["content"]["content"]["probe"] = {
            "__class__": "Thing",
            "__module__": PROBE,
            "__loader__": "ObjectNode",
            "content": node,
            "__id__": 1,
        }

    crafted = _with_schema(_genuine(), add_probe)
    assert skops_flavour.untrusted_types(crafted) == [f"{PROBE}.Thing"]
    with pytest.raises(PermissionDenied, match=f"{PROBE}.Thing.*pass --trust"):
        load_bytes(crafted, "skops", name="crafted.skops")
    assert not probe.exists(), "the module named by the file was imported"
    assert PROBE not in sys.modules
    # The probe really would have recorded an import: importing it leaves the file.
    __import__(PROBE)
    assert probe.exists()


def _bomb(size: int) -> bytes:
    """A genuine skops model plus a member of ``size`` zero bytes, deflated to about size/1000."""
    out = io.BytesIO(_genuine())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z, z.open("padding.npy", "w") as f:
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    return out.getvalue()


def test_a_zip_bomb_is_refused_in_constant_memory() -> None:
    bomb = _bomb(64 << 20)
    assert len(bomb) < 150_000  # under 150 KB that would unpack to 64 MiB
    tracemalloc.start()
    try:
        with pytest.raises(
            InvalidInput, match=r"times its size; the limit is 100.*AIMS_SKOPS_MAX_RATIO"
        ):
            load_bytes(bomb, "skops", name="bomb.skops")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"refusing the bomb took {peak:,} bytes"


def test_the_size_limit_names_its_variable_and_can_be_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    genuine = _genuine()
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(genuine)).infolist())
    monkeypatch.setenv("AIMS_SKOPS_MAX_BYTES", str(unpacked - 1))
    with pytest.raises(
        InvalidInput, match=f"limit of {unpacked - 1:,} bytes.*raise AIMS_SKOPS_MAX_BYTES"
    ):
        load_bytes(genuine, "skops", name="m.skops")
    monkeypatch.setenv("AIMS_SKOPS_MAX_BYTES", str(unpacked))
    assert load_bytes(genuine, "skops", name="m.skops").describe()["flavour"] == "skops"
    monkeypatch.setenv("AIMS_SKOPS_MAX_BYTES", "lots")
    with pytest.raises(InvalidInput, match="AIMS_SKOPS_MAX_BYTES='lots' is not a positive number"):
        load_bytes(genuine, "skops", name="m.skops")


def test_a_directory_that_understates_a_member_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # The directory says the padding is 1000 bytes; decompression would give 64 MiB.
    bomb = bytearray(_bomb(64 << 20))
    name = b"padding.npy"
    local = bomb.find(b"PK\x03\x04")
    while local != -1:
        if bomb[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", bomb, local + 22, 1000)
        local = bomb.find(b"PK\x03\x04", local + 4)
    central = bomb.find(b"PK\x01\x02")
    while central != -1:
        if bomb[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", bomb, central + 24, 1000)
        central = bomb.find(b"PK\x01\x02", central + 4)
    monkeypatch.setenv("AIMS_SKOPS_MAX_RATIO", "1e9")  # only the reading pass can catch it
    with pytest.raises(InvalidInput, match=r"bomb\.skops: not a readable skops model"):
        load_bytes(bytes(bomb), "skops", name="bomb.skops")
