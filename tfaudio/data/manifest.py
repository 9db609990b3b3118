"""``dataset.json`` manifests, deterministic split / shard assignment, shard file names.

Split assignment hashes the clip id (with the seed), so a clip keeps its split when
files are added or removed: nothing is reshuffled.

Example:
    >>> fr = parse_split_spec("train=0.8,val=0.1,test=0.1")
    >>> assign_split("dog/001.wav", fr, seed=0) in ("train", "val", "test")
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

MANIFEST_NAME = "dataset.json"
SHARD_SUFFIX = ".tfrecord"
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def shard_name(split: str, index: int, count: int) -> str:
    """``train-00003-of-00010.tfrecord``."""
    return f"{split}-{index:05d}-of-{count:05d}{SHARD_SUFFIX}"


def parse_split_spec(spec: str | dict | None) -> dict[str, float]:
    """Parses ``"train=0.8,val=0.1,test=0.1"`` into ordered fractions summing to 1.

    Args:
        spec: the string, a dict, or ``None`` (everything in ``train``).

    Returns:
        ``{name: fraction}`` in the given order.

    Raises:
        ValueError: bad syntax, names, negative fractions or a sum other than 1.
    """
    if spec is None or spec == "":
        return {"train": 1.0}
    if isinstance(spec, dict):
        items = list(spec.items())
    else:
        items = []
        for part in str(spec).split(","):
            if "=" not in part:
                raise ValueError(f"split={spec!r}: {part!r} is not name=fraction "
                                 "(e.g. train=0.8,val=0.1,test=0.1)")
            name, value = part.split("=", 1)
            try:
                items.append((name.strip(), float(value)))
            except ValueError as err:
                raise ValueError(f"split={spec!r}: {value!r} is not a number") from err
    out: dict[str, float] = {}
    for name, frac in items:
        if not _SPLIT_NAME.match(name):
            raise ValueError(f"split name {name!r} must be letters, digits or _")
        if name in out:
            raise ValueError(f"split={spec!r}: {name!r} appears twice")
        if not 0.0 <= float(frac) <= 1.0:
            raise ValueError(f"split={spec!r}: fraction {frac} of {name!r} is outside [0, 1]")
        out[name] = float(frac)
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split={spec!r}: fractions sum to {total:g}, expected 1")
    return out


def unit_hash(key: str, seed: int = 0, salt: str = "split") -> float:
    """A uniform number in [0, 1) fixed by ``(salt, seed, key)`` (SHA-1 based)."""
    digest = hashlib.sha1(f"{salt}:{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_split(key: str, fractions: dict[str, float], seed: int = 0) -> str:
    """The split of clip ``key``: deterministic, independent of the other clips."""
    u = unit_hash(key, seed)
    acc = 0.0
    names = list(fractions)
    for name in names:
        acc += fractions[name]
        if u < acc:
            return name
    return [n for n in names if fractions[n] > 0][-1]


def assign_shard(key: str, num_shards: int, seed: int = 0) -> int:
    """Shard index of clip ``key`` among ``num_shards`` (hash based, order free)."""
    return int(unit_hash(key, seed, "shard") * num_shards)


def write_manifest(out_dir: str, manifest: dict) -> str:
    """Writes ``dataset.json`` (indented, key order kept: split order matters) and returns its path."""
    path = os.path.join(out_dir, MANIFEST_NAME)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return path


def read_manifest(path_or_dir: str) -> dict:
    """Reads ``dataset.json`` from a dataset folder (or the file itself).

    Raises:
        FileNotFoundError: no manifest there.
        ValueError: not JSON, or a schema version this tfaudio cannot read.
    """
    from tfaudio.data.schema import FORMAT_NAME, SCHEMA_VERSION

    path = path_or_dir
    if os.path.isdir(path):
        path = os.path.join(path, MANIFEST_NAME)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no {MANIFEST_NAME} manifest")
    try:
        with open(path, encoding="utf-8") as f:
            manifest: dict[str, Any] = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: format={manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version={version!r}; this tfaudio reads "
                         f"versions <= {SCHEMA_VERSION}")
    return manifest
