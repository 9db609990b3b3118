"""``audio_dataset``: raw-audio TFRecords -> batched ``(audio, label)`` ``tf.data`` pipeline.

The pipeline (AUTOTUNE everywhere)::

    shard files --interleave (parallel, each shard checked: present, readable, frames,
    records parse, counts)--> records --[cache]--[shuffle]--[repeat]--> batch of
    serialized records --parse_example + byte-level crop/pad + decode_raw (parallel map)-->
    [resample] --> (audio, label) --prefetch-->

For ``pcm16``/``float32`` records, cropping and padding happen on the byte strings of the
whole batch (``tf.strings.substr`` + ``tf.io.decode_raw(fixed_length=...)``), so nothing
runs per record except reading: this is what makes the reader fast. ``flac`` records are
decoded one by one first (tensorflow-io in the graph, or soundfile through
``tf.numpy_function``).

Faults, per shard and per pass over the data (see ``docs/tfrecord.md``):

* missing shard (deleted or moved, also while the dataset is iterated): an error naming
  it, or with ``skip_corrupt=True`` all its records counted as skipped; when every shard
  is gone the dataset raises, also with ``skip_corrupt``;
* a shard that cannot be opened (permissions, a folder, an I/O error of the file
  system): the error of the open, naming the file, always. Each shard is opened once
  without ``ignore_errors`` before it is read: ``TFRecordDataset(...).ignore_errors()``
  retries a failed open forever. Its reads are bounded too, so a file that vanishes
  between the two opens reads as empty (reported as corrupt) instead of hanging;
* frame corruption (bad CRC, truncated frame, trailing garbage, a file that is not a
  TFRecord): checked at the shard's end (records read vs the manifest's count, bytes
  consumed vs the file size), an error naming the shard and the index of the first
  unreadable record, or counted with ``skip_corrupt=True``. A TFRecord cannot be
  resynchronised after a bad frame, so the rest of that shard is skipped;
* a record with valid frames that is not a ``tf.train.Example`` of the schema: an error
  naming the shard and the record index, or that record counted and skipped.

Skips are counted in ``dataset.corruption`` (a :class:`CorruptionReport`) and printed to
stderr: records are never lost silently. The checks are TensorFlow ops
(``tf.debugging.Assert``, a counter, hash tables, ``tf.io.matching_files``), not Python
callbacks: no GIL hand-offs inside the pipeline.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from tfaudio._checks import one_of, positive_float, positive_int
from tfaudio.data import manifest as mf
from tfaudio.data import schema

_BLOCK_BYTES = 4 << 20  # bytes per block of records in the per-shard checks ...
_BLOCK_RECORDS = (16, 256)  # ... within these many records
CACHE_AUTO_MAX_BYTES = 1 << 30  # cache="auto": at most 1 GiB of records ...
CACHE_AUTO_MEMORY_FRACTION = 0.25  # ... and at most a quarter of the available memory
_REASONS = ("corrupt", "missing", "unparsable")  # CorruptionReport event reasons


class CorruptRecordError(RuntimeError):
    """A TFRecord shard or record that cannot be read (names the shard and record)."""


class CorruptionReport:
    """What ``skip_corrupt=True`` skipped, accumulated while the dataset is iterated.

    Backed by TensorFlow state (a counter and hash tables updated inside the pipeline,
    no Python callbacks), so it works in any tf.data thread and with Keras ``fit``.

    Attributes:
        skipped_records: records skipped so far (exact with ``dataset.json``; without it,
            1 per missing or corrupt shard, a lower bound).
        events: one dict per skipped part of a shard, sorted by shard and record:
            ``shard``, ``record_index`` (the first record skipped), ``skipped`` (records)
            and ``reason``: ``"missing"`` (the file is gone: all its records),
            ``"corrupt"`` (unreadable frames from ``record_index`` on: the rest of the
            shard) or ``"unparsable"`` (records with valid frames that are not
            ``tf.train.Example`` of the schema); then one dict per inconsistent record
            (``id``, ``skipped`` = 1). A later pass over the same data overwrites a
            shard's event and adds to ``skipped_records``.
    """

    def __init__(self):
        import tensorflow as tf

        self._count = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_records")
        table = tf.lookup.experimental.MutableHashTable
        self._first = table(tf.string, tf.int64, -1)
        self._skipped = table(tf.string, tf.int64, 0)
        self._reason = table(tf.string, tf.int64, -1)  # index into _REASONS
        self._ids = table(tf.string, tf.int64, 0)

    @property
    def skipped_records(self) -> int:
        return int(self._count.numpy())

    @property
    def events(self) -> list[dict]:
        def export(t):
            keys, values = (x.numpy().tolist() for x in t.export())
            return dict(zip(keys, values, strict=True))

        first, skipped, reason = (export(t) for t in (self._first, self._skipped,
                                                       self._reason))
        # keys: the shard path, or "<path>#<record index>" for unparsable records
        out = [{"shard": k.decode().rsplit("#", 1)[0] if r == 2 else k.decode(),
                "record_index": int(v), "skipped": int(skipped.get(k, 0)),
                "reason": _REASONS[r] if 0 <= r < len(_REASONS) else "unknown"}
               for k, v in first.items() for r in [reason.get(k, -1)]]
        out.sort(key=lambda e: (e["shard"], e["record_index"]))
        ids = sorted(self._ids.export()[0].numpy().tolist())
        return out + [{"id": k.decode(), "skipped": 1} for k in ids]

    def _add_event(self, key: Any, record_index: Any, skipped: Any, reason: str) -> Any:
        import tensorflow as tf

        code = tf.constant([_REASONS.index(reason)], tf.int64)
        ops = [self._first.insert(key[None], record_index[None]),
               self._skipped.insert(key[None], skipped[None]),
               self._reason.insert(key[None], code),
               self._count.assign_add(skipped)]
        with tf.control_dependencies(ops):
            return tf.constant(True)

    def _add_ids(self, ids: Any) -> Any:
        import tensorflow as tf

        n = tf.size(ids, out_type=tf.int64)
        ops = [self._ids.insert(ids, tf.ones([tf.size(ids)], tf.int64)),
               self._count.assign_add(n)]
        with tf.control_dependencies(ops):
            return tf.constant(True)

    def __repr__(self) -> str:
        return f"CorruptionReport(skipped_records={self.skipped_records})"


@dataclass
class _Source:
    files: list[str]
    sizes: list[int]  # -1 = unknown
    expected: list[int]  # -1 = unknown
    sample_rate: int
    num_channels: int
    encoding: str
    num_classes: int | None
    avg_record_bytes: float



def no_autograph(fn: Any) -> Any:
    """``fn`` for ``tf.data`` as written, without AutoGraph conversion.

    The reader's dataset functions use ``tf.cond`` explicitly and no Python control flow
    on tensors; AutoGraph would only re-parse their source. Measured on the 2-core CPU:
    building a shuffled training ``audio_dataset`` took 6.2 s with AutoGraph, 1.5 s
    without (every ``tfaudio train`` builds two).
    """
    import tensorflow as tf

    return tf.autograph.experimental.do_not_convert(fn)

def _resolve(pattern_or_dir: str, split: str | None,
             allow_missing: bool = False) -> tuple[list[str], dict | None]:
    import tensorflow as tf

    path = os.fspath(pattern_or_dir)
    if tf.io.gfile.isdir(path):
        manifest = None
        if tf.io.gfile.exists(os.path.join(path, mf.MANIFEST_NAME)):
            manifest = mf.read_manifest(path)
            splits = manifest["splits"]
            if split is not None and split not in splits:
                raise ValueError(f"{path}: split={split!r} is not in the dataset; its splits are "
                                 f"{sorted(splits)}")
            names = [s["file"] for k, v in splits.items() if split in (None, k)
                     for s in v["shards"]]
            files = [os.path.join(path, n) for n in names]
            missing = [f for f in files if not tf.io.gfile.exists(f)]
            if missing and (len(missing) == len(files) or not allow_missing):
                hint = ("" if len(missing) == len(files) else
                        "; pass skip_corrupt=True to read the rest and count the missing "
                        "shards' records as skipped")
                raise FileNotFoundError(f"{path}: {mf.MANIFEST_NAME} lists {len(missing)} of "
                                        f"{len(files)} shard(s) that are missing: {missing}{hint}")
            return files, manifest
        glob = f"{split}-*{mf.SHARD_SUFFIX}" if split else f"*{mf.SHARD_SUFFIX}"
        files = sorted(tf.io.gfile.glob(os.path.join(path, glob)))
        if not files:
            raise FileNotFoundError(f"{path}: no {glob} shards (and no {mf.MANIFEST_NAME})")
        return files, None
    files = sorted(tf.io.gfile.glob(path))
    if not files:
        raise FileNotFoundError(f"{path}: no files match this pattern")
    parent = os.path.dirname(files[0])
    manifest = None
    if tf.io.gfile.exists(os.path.join(parent, mf.MANIFEST_NAME)):
        manifest = mf.read_manifest(parent)
    return files, manifest


def _peek(path: str) -> dict:
    import tensorflow as tf

    try:
        for rec in tf.data.TFRecordDataset(path).take(1):
            return schema.parse_example_numpy(rec.numpy())
    except Exception as err:
        raise CorruptRecordError(f"{path}: record 0 cannot be read to learn the dataset's "
                                 f"sample rate and channels ({type(err).__name__}: {err})") from err
    raise ValueError(f"{path}: shard is empty; cannot learn the sample rate without "
                     f"{mf.MANIFEST_NAME}")


def _source(pattern_or_dir: str, split: str | None, num_classes: int | None,
            allow_missing: bool = False) -> _Source:
    import tensorflow as tf

    files, manifest = _resolve(pattern_or_dir, split, allow_missing)
    listed = {}
    if manifest is not None:
        listed = {s["file"]: s for v in manifest["splits"].values() for s in v["shards"]}
    sizes = []
    for f in files:
        try:
            sizes.append(int(tf.io.gfile.stat(f).length))
        except tf.errors.NotFoundError:  # a missing shard (allow_missing): its manifest size
            sizes.append(int(listed.get(os.path.basename(f), {}).get("bytes", -1)))
    expected = [int(listed.get(os.path.basename(f), {}).get("records", -1)) for f in files]
    if manifest is not None:
        sr, ch, enc = manifest["sample_rate"], manifest["num_channels"], manifest["encoding"]
        if num_classes is None:
            num_classes = manifest.get("num_classes") or len(manifest["label_vocabulary"])
    else:
        first = next((f for f, s in zip(files, sizes, strict=True) if s > 0), files[0])
        info = _peek(first)
        sr, ch, enc = info["sample_rate"], info["num_channels"], info["encoding"]
    known = [(e, s) for e, s in zip(expected, sizes, strict=True) if e > 0 and s > 0]
    avg = sum(s for _, s in known) / sum(e for e, _ in known) if known else 65536.0
    return _Source(files, sizes, expected, int(sr), int(ch), str(enc), num_classes, avg)


def _glob_escape(path: str) -> str:
    """``path`` as a ``tf.io.matching_files`` pattern that matches only itself."""
    return re.sub(r"([][*?\\])", r"\\\1", path)


def _tolerant_records(files: Any, limit: Any) -> Any:
    """``(index, record)`` of TFRecord ``files`` up to the first unreadable frame.

    Reading stops at a bad CRC or a truncated frame (``ignore_errors``; the caller checks
    that nothing was lost), and after at most ``limit`` reads. The bound matters: a file
    that cannot be opened makes ``TFRecordDataset`` return the open's error without
    moving on, so a bare ``ignore_errors()`` retries the open forever. ``zip()`` draws
    from the range on every call, errors included, so such a file ends the stream after
    ``limit`` failed opens instead. :func:`_shard_records` opens every shard first
    without ``ignore_errors`` (its probe); this covers a file that vanishes in between.
    """
    import tensorflow as tf

    return tf.data.Dataset.zip((tf.data.Dataset.range(limit), tf.data.TFRecordDataset(
        files, buffer_size=1 << 20))).ignore_errors()


def _shard_records(path: Any, pattern: Any, size: Any, expected: Any, skip_corrupt: bool,
                   report: CorruptionReport, dropped: _Dropped, every_pattern: Any,
                   block: int = 64, unbatch: bool = True) -> Any:
    """Records of one shard, checked (see the module doc); runs once per shard and pass.

    Args:
        path, pattern: the shard and its escaped glob (to test that it still exists).
        size, expected: its bytes and records (-1 = unknown).
        report, dropped: TF state of what is skipped / dropped and read again.
        every_pattern: the escaped globs of all shards (is anything left?).
        block: records per checked block; ``unbatch=False`` hands the blocks on.
    """
    import tensorflow as tf

    zero = tf.constant(0, tf.int64)
    present = tf.size(tf.io.matching_files(pattern)) > 0
    if skip_corrupt:
        def gone():
            left = tf.size(tf.io.matching_files(every_pattern)) > 0
            a = tf.debugging.Assert(left, [
                "every TFRecord shard of the dataset is gone (deleted or moved after the "
                "dataset was made); the last one found missing:", path])
            skipped = tf.where(expected >= 0, expected, tf.constant(1, tf.int64))
            with tf.control_dependencies([a]):
                p = tf.print("tfaudio.data: WARNING: skipped", skipped, "record(s) of missing "
                             "TFRecord shard", path, "(deleted or moved after the dataset was "
                             "made)", output_stream=sys.stderr)
            with tf.control_dependencies([p]):
                ok = report._add_event(path, zero, skipped, "missing")
            with tf.control_dependencies([ok]):
                return tf.zeros([0], tf.string)

        names = tf.cond(present, lambda: tf.reshape(path, [1]), gone)
    else:
        a = tf.debugging.Assert(present, [
            "TFRecord shard", path, "is missing: deleted or moved after the dataset was "
            "made. Pass skip_corrupt=True to skip a missing shard and count its records."])
        with tf.control_dependencies([a]):
            names = tf.reshape(tf.identity(path), [1])
    # A missing shard (skipped above) is not checked again at its (empty) end.
    size = tf.where(present, size, zero)
    expected = tf.where(present, expected, zero)

    def check(count, nbytes):
        clean = tf.logical_or(size < 0, tf.equal(nbytes, size))
        fewer = tf.logical_and(expected >= 0, count < expected)
        count_ok = tf.logical_or(expected < 0, tf.equal(count, expected))
        if not skip_corrupt:
            a = tf.debugging.Assert(clean, [
                "corrupt TFRecord shard", path, "record index", count,
                "(unreadable record: bad CRC, truncated frame or not a TFRecord file; bytes "
                "read", nbytes, "of", size, "); the records before it are fine. Pass "
                "skip_corrupt=True to skip the rest of this shard and count it."], summarize=8)
            with tf.control_dependencies([a]):
                b = tf.debugging.Assert(count_ok, [
                    "TFRecord shard", path, "holds", count, "records but dataset.json says",
                    expected, ": the shard or the manifest was changed after writing"])
            with tf.control_dependencies([a, b]):
                return tf.constant(True)
        skipped = tf.where(fewer, expected - count,
                           tf.where(clean, zero, tf.constant(1, tf.int64)))

        def record():
            p = tf.print("tfaudio.data: WARNING: skipped", skipped,
                         "record(s) of corrupt TFRecord shard", path, "from record index",
                         count, "(bytes read", nbytes, "of", size, ")",
                         output_stream=sys.stderr)
            with tf.control_dependencies([p]):
                return report._add_event(path, count, skipped, "corrupt")

        return tf.cond(skipped > 0, record, lambda: tf.constant(True))

    # The schema without audio/pcm (parsing that copies every payload, and the batch
    # parse downstream does it anyway): the parse still walks every record's proto and
    # checks every other feature. A record that lacks only audio/pcm fails downstream.
    spec = {k: v for k, v in _reader_spec().items() if k != schema.PCM}

    def parses(recs):  # an op that fails on a record outside the schema
        # (it reads a parsed value: grappler prunes a parse whose values go unused)
        f = tf.io.parse_example(recs, spec)
        return [tf.debugging.Assert(tf.reduce_all(f[schema.NUM_SAMPLES] >= 0), [
            "negative audio/num_samples"])]

    def probe(files):
        # Opens the file without ignore_errors, so a shard that cannot be opened (gone
        # since the check above, no permission, a folder, an I/O error) raises here,
        # naming the file: under ignore_errors() TFRecordDataset retries a failed open
        # forever. Yields nothing. Keep it out of every ignore_errors() below.
        # (take(1).skip(1): reads one byte, hands on nothing, runs no tf.data function)
        return tf.data.FixedLengthRecordDataset(files, 1, buffer_size=1).take(1).skip(1)

    # Reads allowed (see _tolerant_records): room for twice the listed records (a shard
    # that was appended to is still read to its end and reported as such), or, without
    # dataset.json, for all the records a file of this size can hold (a record of the
    # schema takes > 64 bytes). A failed open costs ~7 us: ~50 ms for a shard of 3,000
    # listed records, ~10 s for 100 MB without a manifest.
    limit = tf.where(expected >= 0, 2 * expected + 1024, tf.maximum(size, 0) // 64 + 2)

    def frames(files):  # (index, record) up to the first unreadable frame (see check())
        return _tolerant_records(files, limit)

    # 1. Blocks of records with running record and byte counts; the empty block at the
    # end carries the totals. Work per block: a tf.data function call per record costs
    # more than reading the record.
    def account(state, indexed):
        k, count, nbytes = state
        recs = indexed[1]
        n = tf.size(recs, out_type=tf.int64)
        length = tf.reduce_sum(tf.cast(tf.strings.length(recs), tf.int64))
        count, nbytes = count + n, nbytes + length + 16 * n
        return (k + 1, count, nbytes), (k, recs, count, nbytes)

    blocks = frames(names).batch(block).concatenate(tf.data.Dataset.from_tensors(
        (tf.zeros([0], tf.int64), tf.zeros([0], tf.string))))
    blocks = blocks.scan((zero, zero, zero), no_autograph(account))

    # 2. A block holding a record that is not a tf.train.Example of the schema fails to
    # parse and is dropped here; step 4 reads its records again one by one. Only parse
    # errors reach this ignore_errors(): the reader swallows its own, the probe is not
    # under it, and the checks come after it.
    def parsed(k, recs, count, nbytes):
        with tf.control_dependencies(parses(recs)):
            return k, tf.identity(recs), count, nbytes

    blocks = blocks.map(no_autograph(parsed)).ignore_errors()

    # 3. Note the dropped blocks (keys "<path>#<pass>#<block>", per pass of this shard);
    # at the end, check records and bytes against the manifest and the file size.
    prefix = tf.strings.join([path, "#", tf.strings.as_string(dropped.new_pass()), "#"])

    def track(expect_k, elem):
        k, recs, count, nbytes = elem

        def mark():
            keys = tf.strings.join([prefix, tf.strings.as_string(tf.range(expect_k, k))])
            ops = [dropped.blocks.insert(keys, tf.ones_like(keys, tf.int64)),
                   dropped.ends.insert(prefix[None], k[None])]
            with tf.control_dependencies(ops):
                return tf.constant(True)

        ok = [tf.cond(k > expect_k, mark, lambda: tf.constant(True)),
              tf.cond(tf.equal(tf.size(recs), 0), lambda: check(count, nbytes),
                      lambda: tf.constant(True))]
        with tf.control_dependencies(ok):
            return k + 1, tf.identity(recs)

    blocks = blocks.scan(zero, no_autograph(track))

    # 4. Once per pass, after the shard's blocks: if blocks were dropped, read the shard
    # again, parse their records one by one, hand on the good ones, and report (or,
    # without skip_corrupt, raise on) the first that is not an Example.
    def recover(_):
        end = dropped.ends.lookup(prefix)  # blocks [0, end) may hold dropped ones
        recs = tf.data.Dataset.zip((tf.data.Dataset.range(1), probe(names))).concatenate(
            frames(names))
        recs = recs.filter(no_autograph(lambda i, r: dropped.blocks.lookup(
            tf.strings.join([prefix, tf.strings.as_string(i // block)])) > 0))

        def one(i, r, ok):
            with tf.control_dependencies(parses(r[None])):
                return i, tf.identity(r), ok

        def flag(i, r):  # (i, r, parses?): this ignore_errors() sees one parse only
            ok = tf.data.Dataset.from_tensors((i, r, True)).map(no_autograph(one)).ignore_errors()
            return ok.concatenate(tf.data.Dataset.from_tensors((i, r, False))).take(1)

        recs = recs.flat_map(no_autograph(flag)).concatenate(tf.data.Dataset.from_tensors(
            (tf.constant(-1, tf.int64), tf.constant(""), True)))  # end marker

        def finish(first, nbad):
            keys = tf.strings.join([prefix, tf.strings.as_string(tf.range(end))])
            ops = [dropped.blocks.remove(keys), dropped.ends.remove(prefix[None])]
            if skip_corrupt:
                def count():
                    p = tf.print("tfaudio.data: WARNING: skipped", nbad, "record(s) of "
                                 "TFRecord shard", path, "that are not tf.train.Example "
                                 "with the audio schema, the first at record index", first,
                                 output_stream=sys.stderr)
                    with tf.control_dependencies([p]):
                        key = tf.strings.join([path, "#", tf.strings.as_string(first)])
                        return report._add_event(key, first, nbad, "unparsable")

                ops.append(tf.cond(nbad > 0, count, lambda: tf.constant(True)))
            with tf.control_dependencies(ops):
                return tf.constant(True)

        def step(state, elem):
            first, nbad = state
            i, r, ok = elem
            bad = tf.logical_not(ok)
            if not skip_corrupt:
                a = tf.debugging.Assert(ok, [
                    "TFRecord shard", path, "record index", i, "is not a tf.train.Example "
                    "with the audio schema of docs/tfrecord.md (its frame and CRC are valid: "
                    "it was written that way). Pass skip_corrupt=True to skip such records "
                    "and count them."])
                with tf.control_dependencies([a]):
                    bad = tf.identity(bad)
            first = tf.where(tf.logical_and(bad, first < 0), i, first)
            nbad = nbad + tf.cast(bad, tf.int64)
            done = tf.cond(i < 0, lambda: finish(first, nbad), lambda: tf.constant(True))
            with tf.control_dependencies([done]):
                out = tf.cond(tf.logical_and(ok, i >= 0), lambda: r[None],
                              lambda: tf.zeros([0], tf.string))
            return (first, nbad), out

        return recs.scan((tf.constant(-1, tf.int64), zero), no_autograph(step))

    out = probe(names).batch(1).concatenate(blocks)
    # unbatch() hands out single records again (or, in order, the blocks go straight on
    # to be rebatched: one copy of every record fewer).
    out = out.concatenate(tf.data.Dataset.from_tensors(zero).filter(  # only if dropped
        no_autograph(lambda _: dropped.ends.lookup(prefix) > 0)).flat_map(no_autograph(recover)))
    if not unbatch:
        return out.filter(no_autograph(lambda recs: tf.size(recs) > 0))
    return out.unbatch()


class _Dropped:
    """Blocks dropped in step 2 of :func:`_shard_records`, per shard and pass (TF state)."""

    def __init__(self):
        import tensorflow as tf

        self._passes = tf.Variable(0, dtype=tf.int64, trainable=False, name="shard_passes")
        self.blocks = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, 0)
        self.ends = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, 0)

    def new_pass(self) -> Any:
        return self._passes.assign_add(1)


def _available_memory() -> int | None:
    """Bytes of memory available to this process (Linux: MemAvailable, cgroup v2 limit)."""
    avail = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        if limit != "max":
            avail.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    if not avail:
        try:
            avail.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(avail)


def auto_cache_limit() -> int:
    """The largest split that ``audio_dataset(cache="auto")`` keeps in memory, in bytes.

    ``min(CACHE_AUTO_MAX_BYTES, CACHE_AUTO_MEMORY_FRACTION * available memory)``: 1 GiB,
    or a quarter of the memory available now (``MemAvailable``, and the cgroup limit in
    a container) if that is less. The size compared with it is the split's shard bytes:
    the cache holds the records as stored (before decoding).
    """
    limit = int(CACHE_AUTO_MAX_BYTES)
    avail = _available_memory()
    if avail is not None:
        limit = min(limit, int(avail * CACHE_AUTO_MEMORY_FRACTION))
    return limit


def _reader_spec(f0: bool = False) -> dict:
    """The parse spec of the reader; ``f0=True`` adds the f0 track (hop 0 = absent)."""
    import tensorflow as tf

    spec = {
        schema.PCM: tf.io.FixedLenFeature([], tf.string),
        schema.ENCODING: tf.io.FixedLenFeature([], tf.string, default_value=b"pcm16"),
        schema.SAMPLE_RATE: tf.io.FixedLenFeature([], tf.int64),
        schema.NUM_CHANNELS: tf.io.FixedLenFeature([], tf.int64),
        schema.NUM_SAMPLES: tf.io.FixedLenFeature([], tf.int64),
        schema.LABEL: tf.io.RaggedFeature(tf.int64),
        schema.ID: tf.io.FixedLenFeature([], tf.string, default_value=b""),
    }
    if f0:
        spec[schema.F0] = tf.io.RaggedFeature(tf.float32)
        spec[schema.F0_HOP] = tf.io.FixedLenFeature([], tf.float32, default_value=0.0)
    return spec


def _has_f0(f: dict) -> Any:
    """bool ``(batch,)``: the record carries an f0 track (frames and a hop > 0)."""
    import tensorflow as tf

    hop = f[schema.F0_HOP]
    return (hop > 0) & tf.math.is_finite(hop) & (f[schema.F0].row_lengths() > 0)


def _validate(f: dict, src: _Source, payload_ok: Any, skip: bool,
              report: CorruptionReport, f0_ok: Any = None) -> dict:
    """Checks rate/channels/encoding (and payload size) of a batch of parsed records.

    ``f0_ok`` (``targets="f0"``): bool ``(batch,)``, the records that carry an f0 track.
    """
    import tensorflow as tf

    checks = [
        (tf.equal(f[schema.SAMPLE_RATE], src.sample_rate),
         f"audio/sample_rate is not the dataset's {src.sample_rate}"),
        (tf.equal(f[schema.NUM_CHANNELS], src.num_channels),
         f"audio/num_channels is not the dataset's {src.num_channels}"),
        (payload_ok, "audio/pcm size does not match audio/num_samples x channels"),
    ]
    if schema.ENCODING in f:
        checks.append((tf.equal(f[schema.ENCODING], src.encoding),
                       f"audio/encoding is not the dataset's {src.encoding!r}"))
    if f0_ok is not None:
        checks.append((f0_ok, f"no f0 track ({schema.F0} with {schema.F0_HOP} > 0), which "
                              "targets='f0' needs"))
    good = tf.reduce_all(tf.stack([c for c, _ in checks]), axis=0)
    reason = tf.fill(tf.shape(good), "")
    for c, text in reversed(checks):
        reason = tf.where(c, reason, tf.strings.join([f[schema.ID], ": ", text]))

    def on_bad():
        bad = tf.logical_not(good)
        ids, why = tf.boolean_mask(f[schema.ID], bad), tf.boolean_mask(reason, bad)
        if not skip:
            a = tf.debugging.Assert(False, [
                "record(s) do not match the dataset (pass skip_corrupt=True to skip and "
                "count them); ids:", ids, "problems:", why], summarize=20)
            with tf.control_dependencies([a]):
                return tf.constant(True)
        p = tf.print("tfaudio.data: WARNING: skipped inconsistent record(s)", ids, why,
                     output_stream=sys.stderr, summarize=20)
        with tf.control_dependencies([p]):
            return report._add_ids(ids)

    ok = tf.cond(tf.reduce_all(good), lambda: tf.constant(True), on_bad)
    with tf.control_dependencies([ok]):  # every output waits for the check
        f = {k: tf.identity(v) for k, v in f.items()}
        good = tf.identity(good)
    if not skip:
        return f
    return {k: tf.ragged.boolean_mask(v, good) if isinstance(v, tf.RaggedTensor)
            else tf.boolean_mask(v, good) for k, v in f.items()}


def _offsets(n: Any, length: Any, random_crop: bool, seed: int | None) -> Any:
    import tensorflow as tf

    if not random_crop:
        return tf.zeros_like(n)
    span = tf.maximum(n - tf.cast(length, n.dtype), 0) + 1
    u = tf.random.uniform(tf.shape(n), 0.0, 1.0, dtype=tf.float64, seed=seed)
    return tf.minimum(tf.cast(tf.floor(u * tf.cast(span, tf.float64)), n.dtype), span - 1)


def _batch_pcm(serialized: Any, src: _Source, length: int | None, random_crop: bool,
               seed: int | None, skip: bool, report: CorruptionReport,
               f0: bool = False) -> tuple[Any, dict]:
    """Batched parse + byte-level crop/pad + decode_raw: ``(batch, L, ch)`` float32.

    With ``f0=True`` the f0 track is parsed too, records without one fail the checks,
    and ``f["offset"]`` holds each crop's first sample (int64 ``(batch,)``). Without
    it the graph is the label-only fast path, op for op.
    """
    import tensorflow as tf

    bps = schema.BYTES_PER_SAMPLE[src.encoding]
    frame = bps * src.num_channels
    f = tf.io.parse_example(serialized, _reader_spec(f0))
    n = f[schema.NUM_SAMPLES]
    payload_ok = tf.equal(tf.cast(tf.strings.length(f[schema.PCM]), tf.int64),
                          n * tf.cast(f[schema.NUM_CHANNELS], tf.int64) * bps)
    f = _validate(f, src, payload_ok, skip, report, _has_f0(f) if f0 else None)
    n = f[schema.NUM_SAMPLES]
    size = tf.reduce_max(tf.concat([n, [0]], 0)) if length is None else tf.constant(length, tf.int64)
    dtype = tf.int16 if src.encoding == "pcm16" else tf.float32

    def exact():  # every clip already has the wanted length: no copy, no padding
        x = tf.io.decode_raw(f[schema.PCM], dtype)
        return (x, tf.zeros_like(n)) if f0 else x

    def crop_pad():
        off = _offsets(n, size, random_crop, seed)
        pcm = tf.strings.substr(f[schema.PCM], off * frame, tf.fill(tf.shape(n), size * frame))
        x = tf.io.decode_raw(pcm, dtype, fixed_length=tf.cast(size * frame, tf.int32))
        return (x, off) if f0 else x

    x = tf.cond(tf.reduce_all(tf.equal(n, size)), exact, crop_pad)
    if f0:
        x, off = x
        f = {**f, "offset": off}
    x = _to_float(x, src.num_channels, length is not None)
    return x, f


@functools.cache
def _to_float_fn() -> Any:
    import tensorflow as tf

    # XLA fuses reshape, cast and scale into one pass over the batch.
    @tf.function(jit_compile=True, reduce_retracing=True)
    def to_float(x, channels):
        x = tf.reshape(x, [tf.shape(x)[0], -1, channels])
        if x.dtype == tf.int16:
            return tf.cast(x, tf.float32) * (1.0 / 32768.0)
        return tf.cast(x, tf.float32)

    return to_float


def _to_float(x: Any, channels: int, fixed_length: bool) -> Any:
    """(batch, time * channels) int16/float32 -> (batch, time, channels) float32.

    With a fixed clip length XLA fuses the conversion into one pass (compiled once per
    batch shape); variable lengths would recompile for every batch, so they use plain ops.
    """
    if fixed_length:
        return _to_float_fn()(x, channels)
    import tensorflow as tf

    x = tf.reshape(x, [tf.shape(x)[0], -1, channels])
    if x.dtype == tf.int16:
        return tf.cast(x, tf.float32) * (1.0 / 32768.0)
    return tf.cast(x, tf.float32)


def _record_flac(serialized: Any, src: _Source, length: int | None, random_crop: bool,
                 seed: int | None, f0: bool = False) -> dict:
    """One FLAC record: parse, decode (tensorflow-io or soundfile), crop/pad.

    With ``f0=True`` the f0 track is parsed too and ``f["offset"]`` is the crop's first
    sample.
    """
    import numpy as np
    import tensorflow as tf

    from tfaudio.data import backends

    f = tf.io.parse_single_example(serialized, _reader_spec(f0))
    tfio = backends.tfio_native()
    if tfio is not None:
        pcm = tfio.audio.decode_flac(f[schema.PCM], dtype=tf.int16)
    else:
        def dec(b: bytes) -> np.ndarray:
            import io

            sf = backends.soundfile_module("decoding FLAC records")
            return sf.read(io.BytesIO(b), dtype="int16", always_2d=True)[0]

        pcm = tf.numpy_function(dec, [f[schema.PCM]], tf.int16, stateful=False)
    x = tf.reshape(tf.cast(pcm, tf.float32) * (1.0 / 32768.0), [-1, src.num_channels])
    n = tf.shape(x, out_type=tf.int64)[0]
    off = None
    if length is not None:
        off = _offsets(n[None], length, random_crop, seed)[0]
        x = x[off:off + length]
        x = tf.pad(x, [[0, length - tf.shape(x, out_type=tf.int64)[0]], [0, 0]])
    f = dict(f)
    if f0:
        f["offset"] = tf.zeros([], tf.int64) if off is None else off
    f["audio"] = x
    f["payload_ok"] = tf.equal(n, f[schema.NUM_SAMPLES])
    del f[schema.PCM]
    return f


def f0_num_frames(num_samples: int, sample_rate: int, hop_seconds: float) -> int:
    """Frames of the f0 targets of a clip: centred frames, frame ``k`` at ``k * hop``.

    ``1 + floor(num_samples / (hop_seconds * sample_rate))``: CREPE's count with
    ``center=True`` (``1 + n // hop_length`` when the hop is a whole number of samples).

    Example:
        >>> f0_num_frames(16000, 16000, 0.01)
        101
    """
    return 1 + int(math.floor(num_samples / (hop_seconds * sample_rate) + 1e-9))


def _f0_frames(track: Any, track_hop: Any, start_seconds: Any, duration: Any,
               num_frames: Any, hop_seconds: float) -> Any:
    """Stored f0 tracks read at times ``start_seconds + k * hop_seconds``, ``k < num_frames``.

    A frame time ``t`` falls at position ``p = t / track_hop`` of its record's track
    (frame ``i`` of a track is at ``i * track_hop``: centred frames). Between two voiced
    neighbours (f0 > 0) the value is linear in Hz; when either neighbour is unvoiced it
    is the nearest frame's (so unvoiced gaps are never bridged and voicing flips at the
    midpoint); positions within 1e-6 frames of a stored frame read that frame exactly.
    Past the track's last frame (more than half a hop) and past the clip's end
    (``t > duration``, zero padding) the frame is unvoiced: 0.

    Args:
        track: float32 ragged ``(batch, None)``: f0 in Hz per stored frame, <= 0 unvoiced.
        track_hop: float32 ``(batch,)``: the stored hop in seconds.
        start_seconds: float64 ``(batch,)``: the crop's start in the record.
        duration: float64 ``(batch,)``: the record's length in seconds.
        num_frames: int scalar: frames to return.
        hop_seconds: the wanted hop.

    Returns:
        float32 ``(batch, num_frames)``, Hz, 0 = unvoiced.
    """
    import tensorflow as tf

    dense = tf.maximum(track.to_tensor(0.0), 0.0)
    width = tf.shape(dense, out_type=tf.int64)[1]
    dense = tf.pad(dense, [[0, 0], [0, 1]])  # index `width` reads a zero
    lengths = tf.cast(track.row_lengths(), tf.int64)[:, None]
    times = start_seconds[:, None] + tf.range(tf.cast(num_frames, tf.int64),
                                              dtype=tf.float64)[None, :] * hop_seconds
    p = times / tf.cast(track_hop, tf.float64)[:, None]
    near = tf.round(p)
    p = tf.where(tf.abs(p - near) < 1e-6, near, p)
    low = tf.floor(p)
    w = tf.cast(p - low, tf.float32)
    low = tf.cast(low, tf.int64)

    def value(i):
        v = tf.gather(dense, tf.clip_by_value(i, 0, width), batch_dims=1)
        return tf.where((i >= 0) & (i < lengths), v, 0.0)

    a, b = value(low), value(low + 1)
    f0 = tf.where((a > 0) & (b > 0), a + w * (b - a), tf.where(w < 0.5, a, b))
    return tf.where(times <= duration[:, None] + 1e-9, f0, 0.0)


def _f0_targets(f: dict, x: Any, src_rate: int, target_rate: int, out_len: int | None,
                hop_seconds: float) -> Any:
    """f0 targets of a decoded batch ``x`` (at ``target_rate``), in step with its crops."""
    import tensorflow as tf

    if out_len is not None:
        frames = f0_num_frames(out_len, target_rate, hop_seconds)
    else:  # the batch's padded length
        length = tf.cast(tf.shape(x)[1], tf.float64)
        frames = 1 + tf.cast(tf.floor(length / (hop_seconds * target_rate) + 1e-9), tf.int32)
    y = _f0_frames(f[schema.F0], f[schema.F0_HOP],
                   tf.cast(f["offset"], tf.float64) / src_rate,
                   tf.cast(f[schema.NUM_SAMPLES], tf.float64) / src_rate, frames, hop_seconds)
    if out_len is not None:
        y = tf.ensure_shape(y, [None, frames])
    return y


def _labels(labels: Any, ids: Any, mode: str, num_classes: int | None) -> Any:
    import tensorflow as tf

    checks = []
    if num_classes is not None:
        vals = labels.flat_values
        in_range = tf.reduce_all((vals >= 0) & (vals < num_classes))
        checks.append(tf.debugging.Assert(in_range, [
            f"labels outside [0, {num_classes}) in records:",
            tf.boolean_mask(ids, tf.reduce_any(
                tf.ragged.map_flat_values(lambda v: (v < 0) | (v >= num_classes), labels),
                axis=1))], summarize=20))
    if mode == "int":
        rows = labels.row_lengths()
        checks.append(tf.debugging.Assert(tf.reduce_all(tf.equal(rows, 1)), [
            "labels='int' needs exactly one label per clip (use labels='multi_hot'); "
            "these records have another count:", tf.boolean_mask(ids, tf.not_equal(rows, 1))],
            summarize=20))
        with tf.control_dependencies(checks):
            return tf.identity(tf.reshape(labels.flat_values, [-1]))
    with tf.control_dependencies(checks):
        hot = tf.one_hot(labels.flat_values, num_classes, dtype=tf.float32)
        y = tf.math.unsorted_segment_sum(hot, labels.value_rowids(), labels.nrows())
        return tf.minimum(y, 1.0)


def audio_dataset(pattern_or_dir: str, split: str | None = "train",
                  sample_rate: int | None = None, clip_seconds: float | None = None,
                  random_crop: bool = True, batch_size: int = 32, shuffle: bool = True,
                  cache: bool | str = "auto", repeat: bool = False, labels: str = "int", *,
                  skip_corrupt: bool = False, mono: bool = False,
                  num_classes: int | None = None, seed: int | None = None,
                  shuffle_buffer: int | None = None, drop_remainder: bool = False,
                  deterministic: bool | None = None, targets: str = "label",
                  f0_hop_seconds: float = 0.01) -> Any:
    """A batched ``tf.data.Dataset`` of ``(audio, label)`` (or ``(audio, f0)``) from TFRecords.

    Args:
        pattern_or_dir: a dataset folder (with ``dataset.json``: shards of ``split``
            are used, with their record counts for corruption checks) or a glob of
            shard files.
        split: split to read from a folder (``None`` = all); ignored for a glob.
        sample_rate: resample to this rate in the graph (:func:`tfaudio.ops.resample`);
            ``None`` keeps the dataset's.
        clip_seconds: fixed clip length (crop longer clips, zero-pad shorter ones at the
            end); ``None`` pads each batch to its longest clip.
        random_crop: crop at a uniformly random offset (else from the start).
        batch_size: clips per batch.
        shuffle: shuffle shard order and records (buffer ``shuffle_buffer``).
        cache: keep the records in memory after the first pass: ``True``, ``False``, or
            ``"auto"`` (default): cache when the split's shards hold at most
            :func:`auto_cache_limit` bytes (1 GiB, or a quarter of the available memory
            if less), never otherwise. Later passes then read no files: on the
            synthetic set's train split, 1.6-2.9x the clips/s in one noisy
            measurement (docs/tfrecord.md).
        repeat: repeat forever.
        labels: ``"int"`` (one class per clip, int64 ``(batch,)``) or ``"multi_hot"``
            (float32 ``(batch, num_classes)``).
        skip_corrupt: skip missing shards, unreadable shards' remainders, records
            that are not ``tf.train.Example`` and inconsistent records, counting them
            in ``dataset.corruption`` (:class:`CorruptionReport`) and printing a
            warning to stderr, instead of raising. Shards that cannot be opened for
            another reason, and a dataset whose every shard is gone, still raise.
        mono: average the channels.
        num_classes: for ``multi_hot`` without a manifest (default: vocabulary size).
        seed: seed for shuffling and crops.
        shuffle_buffer: records in the shuffle buffer (default: ~256 MB worth, at
            least ``batch_size``, at most 10,000; when cached, every record of the
            split: the buffer then only holds references to the cache).
        drop_remainder: drop the last short batch (static batch dimension).
        deterministic: produce the same order on every run (for a given ``seed``).
            ``None`` (default): only when not shuffling; a shuffled read then takes
            records in the order the parallel reads finish (faster, but the order
            differs between runs even with a ``seed``). Random crop offsets are not
            yet reproducible from ``seed`` either way.
        targets: what comes with the audio: ``"label"`` (default; see ``labels``) or
            ``"f0"``: the records' f0 tracks (``pitch/f0_hz``, ``pitch/hop_seconds``),
            float32 ``(batch, frames)`` in Hz, 0 = unvoiced or unknown. Frames are
            centred (CREPE's): frame ``k`` is the pitch at ``k * f0_hop_seconds``
            seconds after the first sample of the (cropped, resampled) audio, and a
            clip of ``n`` samples at ``sample_rate`` has
            ``1 + floor(n / (f0_hop_seconds * sample_rate))`` frames
            (:func:`f0_num_frames`; 101 for 1 s at a 10 ms hop). The stored track is
            read at those times: linear in Hz between two voiced stored frames, the
            nearest stored frame when either is unvoiced (unvoiced gaps are never
            bridged), and 0 past the track's end and in the zero padding after the
            clip. A random crop shifts the track by the crop's offset, so audio and f0
            stay in step; resampling keeps times (the resampler has no delay). A
            record without an f0 track is an error naming its ``id``, or, with
            ``skip_corrupt=True``, skipped and counted like an inconsistent record.
        f0_hop_seconds: the frame hop of the f0 targets (default 0.01 s, CREPE's step).

    Returns:
        ``tf.data.Dataset`` of ``(audio, label)`` (or ``(audio, f0)``): audio float32
        ``(batch, time)`` for mono data (or ``mono=True``), else ``(batch, time,
        channels)``. Keep a reference to ``ds.corruption`` before further
        transformations if you need the counts; ``ds.cached`` says whether the records
        are cached.

    Raises:
        FileNotFoundError: no shards, or shards listed in ``dataset.json`` missing
        (all of them, or any without ``skip_corrupt``). ValueError: bad arguments or
        unknown split. During iteration, errors naming the shard:
        ``tf.errors.InvalidArgumentError`` ("assertion failed: [corrupt TFRecord shard]
        [<path>] [record index] [<i>] ...") for the first unreadable record, a record
        that is not an Example, a shard that went missing, or the ids of inconsistent
        records; ``tf.errors.NotFoundError``, ``PermissionDeniedError``,
        ``FailedPreconditionError`` ... ("<path>; <reason>") for a shard that cannot be
        opened.

    Example:
        >>> ds = audio_dataset("data/speech", split="train", clip_seconds=1.0)
        >>> audio, label = next(iter(ds))
        >>> audio.shape, label.shape
        (TensorShape([32, 16000]), TensorShape([32]))
        >>> ds = audio_dataset("data/synth", clip_seconds=0.5, targets="f0")
        >>> audio, f0 = next(iter(ds))
        >>> audio.shape, f0.shape
        (TensorShape([32, 8000]), TensorShape([32, 51]))
    """
    import tensorflow as tf

    labels = one_of("labels", labels, ("int", "multi_hot"))
    targets = one_of("targets", targets, ("label", "f0"))
    want_f0 = targets == "f0"
    f0_hop_seconds = positive_float("f0_hop_seconds", f0_hop_seconds)
    batch_size = positive_int("batch_size", batch_size)
    if clip_seconds is not None:
        clip_seconds = positive_float("clip_seconds", clip_seconds)
    if num_classes is not None:
        num_classes = positive_int("num_classes", num_classes)
    if cache is not True and cache is not False and cache != "auto":
        raise ValueError(f"cache={cache!r} is not supported: allowed values are True, False "
                         f"and 'auto' (cache splits up to auto_cache_limit() bytes)")
    src = _source(pattern_or_dir, split, num_classes, allow_missing=bool(skip_corrupt))
    if labels == "multi_hot" and not src.num_classes and not want_f0:
        raise ValueError(f"{pattern_or_dir}: labels='multi_hot' needs num_classes (no "
                         f"{mf.MANIFEST_NAME} vocabulary to take it from)")
    if src.encoding not in schema.ENCODINGS:
        raise ValueError(f"{pattern_or_dir}: encoding {src.encoding!r} is unknown; "
                         f"expected one of {list(schema.ENCODINGS)}")
    target_sr = src.sample_rate if sample_rate is None else positive_int("sample_rate", sample_rate)
    out_len = None if clip_seconds is None else max(1, round(clip_seconds * target_sr))
    # Samples to take at the stored rate (a little more when resampling, trimmed after).
    src_len = None if out_len is None else math.ceil(out_len * src.sample_rate / target_sr)
    report = CorruptionReport()
    dropped = _Dropped()
    autotune = tf.data.AUTOTUNE
    deterministic = not shuffle if deterministic is None else bool(deterministic)

    if cache == "auto":
        cache = sum(max(s, 0) for s in src.sizes) <= auto_cache_limit()
    patterns = [_glob_escape(f) for f in src.files]
    files = tf.data.Dataset.from_tensor_slices(
        (src.files, patterns, tf.constant(src.sizes, tf.int64),
         tf.constant(src.expected, tf.int64)))
    every_pattern = tf.constant(patterns)
    if shuffle:
        files = files.shuffle(len(src.files), seed=seed)
    # In order, without a record cache or shuffle, blocks of batch_size records go from
    # the shard check straight to rebatch(): one copy of every record fewer.
    blocks = not (shuffle or cache) and src.encoding in schema.BYTES_PER_SAMPLE
    # records per block of the shard checks: ~4 MB (the per-block work is then small
    # next to the reading), 16 to 256 records
    lo, hi = _BLOCK_RECORDS
    block = int(min(hi, max(lo, _BLOCK_BYTES // max(src.avg_record_bytes, 1))))
    ds = files.interleave(
        no_autograph(lambda p, g, s, e: _shard_records(p, g, s, e, skip_corrupt, report, dropped,
                                                 every_pattern,
                                                 batch_size if blocks else block,
                                                 not blocks)),
        cycle_length=min(len(src.files), 8), block_length=1 if blocks else 16,
        num_parallel_calls=autotune, deterministic=deterministic)
    if cache:
        ds = ds.cache()
    if shuffle:
        if shuffle_buffer is None:
            shuffle_buffer = int(min(10_000, max(batch_size, 256e6 / src.avg_record_bytes)))
            if cache and min(src.expected) >= 0:  # the buffer holds references to the cache
                shuffle_buffer = max(shuffle_buffer, sum(src.expected))
        ds = ds.shuffle(positive_int("shuffle_buffer", shuffle_buffer), seed=seed)
    if repeat:
        ds = ds.repeat()

    def finish(x, f):
        if target_sr != src.sample_rate:
            from tfaudio.data.decode import resample_audio

            x = resample_audio(x, src.sample_rate, target_sr)
            if out_len is not None:
                x = x[:, :out_len]
                x = tf.pad(x, [[0, 0], [0, out_len - tf.shape(x)[1]], [0, 0]])
        if mono and src.num_channels > 1:
            x = tf.reduce_mean(x, axis=-1, keepdims=True)
        if mono or src.num_channels == 1:
            x = x[..., 0]
        if out_len is not None:
            x = tf.ensure_shape(x, [None, out_len] + list(x.shape[2:]))
        if want_f0:
            return x, _f0_targets(f, x, src.sample_rate, target_sr, out_len, f0_hop_seconds)
        y = _labels(f[schema.LABEL], f[schema.ID], labels, src.num_classes)
        return x, y

    if src.encoding in schema.BYTES_PER_SAMPLE:
        if blocks:
            ds = ds.rebatch(batch_size, drop_remainder=drop_remainder)
        else:
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)

        def decode(serialized):
            if want_f0:
                return finish(*_batch_pcm(serialized, src, src_len, random_crop, seed,
                                          skip_corrupt, report, f0=True))
            return finish(*_batch_pcm(serialized, src, src_len, random_crop, seed,
                                      skip_corrupt, report))

        ds = ds.map(no_autograph(decode), num_parallel_calls=autotune, deterministic=deterministic)
    else:
        ds = ds.map(no_autograph(lambda r: _record_flac(r, src, src_len, random_crop, seed, want_f0)),
                    num_parallel_calls=autotune, deterministic=deterministic)
        padding = {
            "audio": 0.0, schema.LABEL: tf.constant(-1, tf.int64),
            schema.ENCODING: b"", schema.ID: b"", schema.SAMPLE_RATE: tf.constant(0, tf.int64),
            schema.NUM_CHANNELS: tf.constant(0, tf.int64),
            schema.NUM_SAMPLES: tf.constant(0, tf.int64), "payload_ok": False}
        if want_f0:  # f0 >= 0 in a track, so -1 marks the padding of the ragged rows
            padding.update({schema.F0: -1.0, schema.F0_HOP: 0.0,
                            "offset": tf.constant(0, tf.int64)})
        ds = ds.padded_batch(batch_size, padding_values=padding, drop_remainder=drop_remainder)

        def regroup(f):
            f = dict(f)
            f[schema.LABEL] = tf.RaggedTensor.from_tensor(f[schema.LABEL], padding=-1)
            f0_ok = None
            if want_f0:
                f[schema.F0] = tf.RaggedTensor.from_tensor(f[schema.F0], padding=-1.0)
                f0_ok = _has_f0(f)
            f = _validate(f, src, f.pop("payload_ok"), skip_corrupt, report, f0_ok)
            return finish(f.pop("audio"), f)

        ds = ds.map(no_autograph(regroup), num_parallel_calls=autotune, deterministic=deterministic)

    ds = ds.prefetch(autotune)
    ds.corruption = report
    ds.cached = bool(cache)
    return ds
