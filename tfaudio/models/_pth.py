"""Reads PyTorch ``.pth`` state dicts as NumPy arrays, without importing torch.

A ``.pth`` written by ``torch.save`` (zip format) is a zip archive: ``<root>/data.pkl``
pickles the dict, with each tensor stored as a call to
``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`` and each
storage as a persistent id ``("storage", torch.<Type>Storage, key, location, numel)``
whose raw little-endian bytes are the record ``<root>/data/<key>``.

The unpickler here is restricted: it resolves only ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the typed storage classes, and refuses any other
global, so a file cannot run code on load.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from typing import Any

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


def _rebuild_tensor_v2(storage: np.ndarray, storage_offset: int, size: tuple, stride: tuple,
                       requires_grad: bool = False, backward_hooks: Any = None,
                       metadata: Any = None) -> np.ndarray:
    """A NumPy copy of the strided view ``storage[offset + sum(i_k * stride_k)]``."""
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise pickle.UnpicklingError(f"bad tensor layout: size {size}, stride {stride}")
    if 0 in size:
        return np.zeros(size, storage.dtype)
    last = int(storage_offset) + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if storage_offset < 0 or last >= storage.size:
        raise pickle.UnpicklingError(
            f"tensor of size {size}, stride {stride} at offset {storage_offset} reaches "
            f"element {last} of a storage of {storage.size}")
    base = storage[int(storage_offset):]
    view = np.lib.stride_tricks.as_strided(
        base, shape=size, strides=tuple(s * storage.itemsize for s in stride), writeable=False)
    return np.array(view)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, root: str, path: str):
        super().__init__(file)
        self._archive, self._root, self._path = archive, root, path
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"{self._path}: refusing to load global {module}.{name} (only state dicts of "
            "plain tensors are read without torch)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"{self._path}: unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        if key not in self._storages:
            raw = self._archive.read(f"{self._root}/data/{key}")
            data = np.frombuffer(raw, storage_type.dtype.newbyteorder("<"))
            if data.size < int(numel):
                raise pickle.UnpicklingError(f"{self._path}: storage {key} holds {data.size} "
                                             f"elements, expected {numel}")
            self._storages[key] = data.astype(storage_type.dtype, copy=False)
        return self._storages[key]


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """A ``torch.save``'d state dict (zip format) as ``{name: np.ndarray}``, torch-free.

    Args:
        path: a ``.pth`` / ``.pt`` file written by ``torch.save`` (PyTorch >= 1.6).

    Returns:
        An ordered dict of NumPy arrays (copies), in the file's order.

    Raises:
        ValueError: not a zip-format torch file, big-endian data, or anything but plain
            tensors inside (``pickle.UnpicklingError`` is wrapped with the path).
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a zip-format torch file (torch.save since PyTorch 1.6)")
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError(f"{path}: expected one <root>/data.pkl record, found {pickles}")
        root = pickles[0][: -len("/data.pkl")]
        order = f"{root}/byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise ValueError(f"{path}: big-endian tensors are not supported")
        import io

        try:
            state = _Unpickler(io.BytesIO(archive.read(pickles[0])), archive, root,
                               path).load()
        except pickle.UnpicklingError as err:
            raise ValueError(f"{path}: {err}") from err
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    return state
