"""Sharded TFRecord writer for labelled clips, with splits and a ``dataset.json`` manifest.

Records go to a hidden temporary folder inside ``out_dir`` and are moved into place only
when the whole run succeeds: a failed run leaves no shards behind. A run that is killed
(SIGKILL, power loss) cannot remove its folder; the writer holds a lock on a file in it
while it runs, so the next writer into the same ``out_dir`` removes the folders whose
lock nobody holds (:func:`leftover_folders`), and ``tfaudio inspect`` reports them.

Example:
    >>> clips = [Clip(id=f"c{i}", audio=np.zeros((16000, 1), np.float32), labels=[0])
    ...          for i in range(10)]
    >>> m = write_dataset(clips, "/tmp/ds", sample_rate=16000, vocabulary=["silence"],
    ...                   splits="train=0.8,test=0.2", num_shards=2)
    >>> m["total_clips"]
    10
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from tfaudio._checks import one_of, positive_float, positive_int
from tfaudio.data import manifest as mf
from tfaudio.data import schema

TEMP_PREFIX = ".tfaudio-writing-"  # the writer's temporary folder inside out_dir
_LOCK_NAME = ".lock"
_NO_LOCK_GRACE_SECONDS = 60.0  # a folder without a lock file younger than this is left


def _try_lock(path: str) -> IO[str] | None:
    """An open file holding an exclusive lock on ``path``; ``None`` if another holds it.

    Raises:
        OSError: locks are not available here (no ``fcntl``, or a file system without
            locking): the caller cannot tell whether a writer is alive.
    """
    try:
        import fcntl
    except ImportError as err:  # Windows
        raise OSError(f"no file locking on this platform ({err})") from err
    f = open(path, "a+")  # the lock lives as long as this file stays open
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    except OSError:
        f.close()
        raise
    return f


def _folder_size(path: str) -> tuple[int, int]:
    files = nbytes = 0
    for root, _, names in os.walk(path):
        for n in names:
            files += 1
            try:
                nbytes += os.path.getsize(os.path.join(root, n))
            except OSError:
                pass
    return files, nbytes


def leftover_folders(out_dir: str, remove: bool = False) -> list[dict]:
    """Temporary folders of interrupted writers in ``out_dir`` (a killed ``make-tfrecords``).

    A folder is a leftover when no live writer holds the lock on its ``.lock`` file (the
    kernel releases it when a process dies, however it dies), or, for a folder without
    a lock file, when it is older than a minute. Folders of writers that are still
    running are never listed.

    Args:
        out_dir: dataset folder.
        remove: delete the leftovers (while holding their lock).

    Returns:
        One dict per leftover: ``path``, ``files``, ``bytes``, ``removed``, ``writer``
        (what its lock file says: pid, host, start time), or ``unknown`` (a reason) when
        the platform cannot tell whether its writer is alive; those are never removed.
    """
    if not os.path.isdir(out_dir):
        return []
    found = []
    for name in sorted(os.listdir(out_dir)):
        path = os.path.join(out_dir, name)
        if not name.startswith(TEMP_PREFIX) or not os.path.isdir(path):
            continue
        lock_path = os.path.join(path, _LOCK_NAME)
        entry = {"path": path, "removed": False}
        held = None
        if os.path.exists(lock_path):
            try:
                held = _try_lock(lock_path)
            except OSError as err:
                entry["unknown"] = str(err)
            if held is None and "unknown" not in entry:
                continue  # a live writer
            try:
                with open(lock_path, encoding="utf-8") as f:
                    entry["writer"] = json.load(f)
            except (OSError, ValueError):
                entry["writer"] = {}
        elif time.time() - os.path.getmtime(path) < _NO_LOCK_GRACE_SECONDS:
            continue  # a writer between creating its folder and locking it
        entry["files"], entry["bytes"] = _folder_size(path)
        if remove and "unknown" not in entry:
            shutil.rmtree(path, ignore_errors=True)
            entry["removed"] = not os.path.exists(path)
        if held is not None:
            held.close()
        found.append(entry)
    return found


@dataclass
class Clip:
    """One clip to write.

    Attributes:
        id: unique key (source path relative to the source folder, or any string);
            its hash decides the split and the shard.
        audio: ``(time, channels)`` (or ``(time,)``) float in [-1, 1] or int16.
        labels: class indices into the writer's vocabulary.
        start_seconds: offset in the source file, if cut from a longer one.
        f0_hz: optional f0 per frame (0 = unvoiced), with ``f0_hop_seconds``.
        f0_hop_seconds: the hop of ``f0_hz``.
        split: the split to write the clip to (one of the writer's splits); ``None``
            (default) lets the hash of ``id`` choose (e.g. for speaker-disjoint splits).
    """

    id: str
    audio: np.ndarray
    labels: list[int] = field(default_factory=list)
    start_seconds: float | None = None
    f0_hz: np.ndarray | None = None
    f0_hop_seconds: float | None = None
    split: str | None = None


class _Shard:
    def __init__(self, path: str):
        import tensorflow as tf

        self.path = path
        self.writer = tf.io.TFRecordWriter(path)
        self.records = 0
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.writer.write(data)
        self.records += 1
        self.bytes += len(data) + 16  # length, length CRC, payload, payload CRC

    def close(self) -> None:
        self.writer.close()


class DatasetWriter:
    """Writes clips into split shards and a manifest; use as a context manager.

    Args:
        out_dir: dataset folder (created). Must not already hold a dataset unless
            ``overwrite=True``.
        sample_rate: rate of every clip (Hz).
        vocabulary: class names; ``Clip.labels`` index into it.
        encoding: ``"pcm16"`` (default), ``"float32"`` or ``"flac"``.
        splits: ``"train=0.8,val=0.1,test=0.1"`` or a dict; default all ``train``.
        seed: split/shard hash seed.
        num_shards: shards per split (clips are spread by hash of id); or
        shard_size_mb: start a new shard past this size (default 100 MB when neither
            is given).
        num_channels: required channel count; ``None`` takes the first clip's and
            then requires it of every clip.
        overwrite: replace an existing dataset in ``out_dir``.
        extra: more keys for the manifest (e.g. ``source``, ``generator``).
    """

    def __init__(self, out_dir: str, sample_rate: int, vocabulary: Iterable[str] = (),
                 encoding: str = "pcm16", splits: str | dict | None = None, seed: int = 0,
                 num_shards: int | None = None, shard_size_mb: float | None = None,
                 num_channels: int | None = None, overwrite: bool = False,
                 extra: dict | None = None):
        self.sample_rate = positive_int("sample_rate", sample_rate)
        self.encoding = one_of("encoding", encoding, schema.ENCODINGS)
        self.vocabulary = [str(v) for v in vocabulary]
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError("vocabulary has duplicate class names")
        self.fractions = mf.parse_split_spec(splits)
        self.seed = int(seed)
        if num_shards is not None and shard_size_mb is not None:
            raise ValueError("give num_shards or shard_size_mb, not both")
        self.num_shards = None if num_shards is None else positive_int("num_shards", num_shards)
        size = 100.0 if shard_size_mb is None and num_shards is None else shard_size_mb
        self.shard_bytes = None if size is None else positive_float("shard_size_mb", size) * 1e6
        self.num_channels = None if num_channels is None else positive_int("num_channels", num_channels)
        self.out_dir = out_dir
        self.extra = dict(extra or {})
        for old in leftover_folders(out_dir, remove=True):  # of interrupted runs
            what = (f"{os.path.basename(old['path'])} ({old['files']} files, "
                    f"{old['bytes'] / 1e6:.1f} MB)")
            if old["removed"]:
                print(f"tfaudio.data: removed the temporary folder {what} of an interrupted "
                      f"run into {out_dir} (writer {old.get('writer') or 'unknown'})",
                      file=sys.stderr)
            else:
                print(f"tfaudio.data: WARNING: {what} in {out_dir} may be left by an "
                      f"interrupted run ({old.get('unknown', 'could not remove it')}); "
                      f"delete it if no other run is writing there", file=sys.stderr)
        existing = os.path.join(out_dir, mf.MANIFEST_NAME)
        if os.path.exists(existing) and not overwrite:
            raise FileExistsError(f"{out_dir} already holds a dataset ({mf.MANIFEST_NAME}); "
                                  "choose another folder or pass overwrite=True (--overwrite)")
        os.makedirs(out_dir, exist_ok=True)
        self._overwrite = overwrite
        self._tmp = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=out_dir)
        self._lock = None
        try:  # held while this writer lives; released by the kernel if it is killed
            self._lock = _try_lock(os.path.join(self._tmp, _LOCK_NAME))
        except OSError:
            pass  # no locking here: leftovers are then reported, never removed
        if self._lock is not None:
            self._lock.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                         "started": time.strftime("%Y-%m-%dT%H:%M:%S")}))
            self._lock.flush()
        self._open: dict[tuple[str, int], _Shard] = {}
        self._done: dict[str, list[_Shard]] = {s: [] for s in self.fractions}
        self._seq: dict[str, int] = {s: 0 for s in self.fractions}
        self._stats = {s: {"clips": 0, "seconds": 0.0, "labels": {}} for s in self.fractions}
        self._ids: set[str] = set()
        self._min_n: int | None = None
        self._max_n = 0
        self._closed = False

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def _shard_for(self, split: str, key: str) -> _Shard:
        if self.num_shards is not None:
            idx = mf.assign_shard(key, self.num_shards, self.seed)
        else:
            idx = self._seq[split]
            current = self._open.get((split, idx))
            if current is not None and current.bytes >= self.shard_bytes:
                current.close()
                self._done[split].append(self._open.pop((split, idx)))
                idx = self._seq[split] = idx + 1
        shard = self._open.get((split, idx))
        if shard is None:
            shard = self._open[(split, idx)] = _Shard(
                os.path.join(self._tmp, f"{split}-{idx:05d}.partial"))
        return shard

    def add(self, clip: Clip) -> str:
        """Writes one clip; returns the split it went to.

        Raises:
            ValueError: duplicate id, empty audio, a label outside the vocabulary,
                a channel count different from the dataset's, or an unknown
                ``clip.split``.
        """
        if self._closed:
            raise RuntimeError("DatasetWriter is closed")
        audio = np.asarray(clip.audio)
        if audio.ndim == 1:
            audio = audio[:, None]
        if audio.ndim != 2 or audio.shape[0] == 0:
            raise ValueError(f"{clip.id}: audio has shape {audio.shape}; expected "
                             "(time, channels) with time >= 1")
        if self.num_channels is None:
            self.num_channels = int(audio.shape[1])
        if audio.shape[1] != self.num_channels:
            raise ValueError(f"{clip.id}: {audio.shape[1]} channel(s), but the dataset has "
                             f"{self.num_channels}; convert to mono (--mono) or split the data")
        if clip.id in self._ids:
            raise ValueError(f"{clip.id}: duplicate clip id")
        for lab in clip.labels:
            if not 0 <= int(lab) < len(self.vocabulary):
                raise ValueError(f"{clip.id}: label {lab} is outside the vocabulary of "
                                 f"{len(self.vocabulary)} classes")
        if clip.split is not None and clip.split not in self.fractions:
            raise ValueError(f"{clip.id}: split={clip.split!r} is not one of the dataset's "
                             f"splits {list(self.fractions)}")
        self._ids.add(clip.id)
        split = clip.split or mf.assign_split(clip.id, self.fractions, self.seed)
        ex = schema.make_example(
            audio, self.sample_rate, labels=[int(v) for v in clip.labels],
            label_text=[self.vocabulary[int(v)] for v in clip.labels], id=clip.id,
            encoding=self.encoding, start_seconds=clip.start_seconds, f0_hz=clip.f0_hz,
            f0_hop_seconds=clip.f0_hop_seconds)
        self._shard_for(split, clip.id).write(ex.SerializeToString())
        n = int(audio.shape[0])
        st = self._stats[split]
        st["clips"] += 1
        st["seconds"] += n / self.sample_rate
        for lab in clip.labels:
            name = self.vocabulary[int(lab)]
            st["labels"][name] = st["labels"].get(name, 0) + 1
        self._min_n = n if self._min_n is None else min(self._min_n, n)
        self._max_n = max(self._max_n, n)
        return split

    def abort(self) -> None:
        """Discards everything written so far (nothing is left in ``out_dir``)."""
        for shard in self._open.values():
            shard.close()
        self._open.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._release()
        self._closed = True

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def close(self, inputs: int | None = None, skipped: list[dict] | None = None) -> dict:
        """Finishes the shards, moves them into place and writes ``dataset.json``.

        Args:
            inputs: how many source items were offered (default: clips written +
                skipped); recorded so that ``inputs == written + skipped`` can be checked.
            skipped: ``[{"file": ..., "reason": ...}]`` for sources left out.

        Returns:
            The manifest dict.
        """
        if self._closed:
            raise RuntimeError("DatasetWriter is closed")
        for key, shard in sorted(self._open.items()):
            shard.close()
            self._done[key[0]].append(shard)
        self._open.clear()
        skipped = list(skipped or [])
        written = sum(s["clips"] for s in self._stats.values())
        inputs = written + len(skipped) if inputs is None else int(inputs)
        if inputs != written + len(skipped):
            self.abort()
            raise RuntimeError(f"count mismatch: {inputs} inputs != {written} written + "
                               f"{len(skipped)} skipped")
        if self._overwrite:
            for name in os.listdir(self.out_dir):
                if name.endswith(mf.SHARD_SUFFIX) or name == mf.MANIFEST_NAME:
                    os.remove(os.path.join(self.out_dir, name))
        splits = {}
        for split, shards in self._done.items():
            shards = [s for s in shards if s.records]
            entries = []
            for i, s in enumerate(shards):
                name = mf.shard_name(split, i, len(shards))
                os.replace(s.path, os.path.join(self.out_dir, name))
                entries.append({"file": name, "records": s.records, "bytes": s.bytes})
            st = self._stats[split]
            splits[split] = {"clips": st["clips"], "seconds": round(st["seconds"], 6),
                             "labels": dict(sorted(st["labels"].items())), "shards": entries}
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._release()
        self._closed = True
        from tfaudio._version import __version__

        manifest = {
            "format": schema.FORMAT_NAME,
            "schema_version": schema.SCHEMA_VERSION,
            "created_by": f"tfaudio {__version__}",
            "sample_rate": self.sample_rate,
            "num_channels": self.num_channels or 1,
            "encoding": self.encoding,
            "label_vocabulary": self.vocabulary,
            "num_classes": len(self.vocabulary),
            "split_fractions": self.fractions,
            "seed": self.seed,
            "splits": splits,
            "total_clips": written,
            "total_seconds": round(sum(s["seconds"] for s in splits.values()), 6),
            "num_samples": {"min": self._min_n or 0, "max": self._max_n},
            "inputs": inputs,
            "skipped": skipped,
            **self.extra,
        }
        mf.write_manifest(self.out_dir, manifest)
        return manifest


def write_dataset(clips: Iterable[Clip], out_dir: str, *, inputs: int | None = None,
                  skipped: list[dict] | None = None, progress: bool = False,
                  total: int | None = None, **writer_args) -> dict:
    """Writes ``clips`` with a :class:`DatasetWriter`; all or nothing.

    If iterating ``clips`` raises, nothing is left in ``out_dir`` and the error
    propagates.

    Args:
        clips: iterable of :class:`Clip`.
        out_dir: dataset folder.
        inputs: source count for the manifest (see :meth:`DatasetWriter.close`).
        skipped: skipped sources (``{"file", "reason"}`` dicts); a list that the
            iterable may still be appending to while it runs.
        progress: show a tqdm progress bar.
        total: length of ``clips`` for the progress bar.
        **writer_args: :class:`DatasetWriter` arguments (``sample_rate``, ...).

    Returns:
        The manifest dict.
    """
    from tqdm import tqdm

    with DatasetWriter(out_dir, **writer_args) as writer:
        bar = tqdm(total=total, unit="clip", desc="writing", disable=not progress)
        try:
            for clip in clips:
                writer.add(clip)
                bar.update(1)
        finally:
            bar.close()
        return writer.close(inputs=inputs, skipped=skipped)
