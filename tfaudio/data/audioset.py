"""AudioSet release-format embedding records (``tf.train.SequenceExample``).

Layout (see ``docs/tfrecord.md`` and the AudioSet download page):

* context ``video_id`` (bytes), ``start_time_seconds`` (float), ``end_time_seconds``
  (float), ``labels`` (int64 list: indices into ``class_labels_indices.csv``, 527 classes);
* feature list ``audio_embedding``: one feature per ~0.96 s frame, each a bytes_list with
  ONE 128-byte string (uint8-quantised, PCA-whitened VGGish embedding).

tfaudio also writes a float form (``encoding="float32"``: ``tfaudio embed`` without
PCA): the same record, but each frame of ``audio_embedding`` is a float_list of 128
raw embedding values instead of a bytes_list. Readers here detect the form from the
first record (``encoding="auto"``); all files of one dataset share one form. A reader
that expects the release form fails on a float record with a type error rather than
misreading it.

Quantisation in the VGGish postprocessor is ``q = uint8(trunc((clip(e, -2, 2) + 2) * 255 / 4))``.
``dequantize="exact"`` (default) inverts the mapping, ``q * 4 / 255 - 2``; ``"center"``
adds half a step (unbiased for the truncation); ``"unit"`` gives ``q / 255``.

Example:
    >>> rec = {"video_id": "abc", "start_time_seconds": 0.0, "end_time_seconds": 10.0,
    ...        "labels": [0, 137], "audio_embedding": np.zeros((10, 128), np.uint8)}
    >>> write_audioset_records("/tmp/a.tfrecord", [rec])
    1
    >>> (emb, mask), y = next(iter(audioset_dataset("/tmp/a.tfrecord", batch_size=1)))
    >>> emb.shape, mask.shape, y.shape
    (TensorShape([1, 10, 128]), TensorShape([1, 10]), TensorShape([1, 527]))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tfaudio._checks import one_of, positive_int
from tfaudio.data.reader import no_autograph

VIDEO_ID = "video_id"
START = "start_time_seconds"
END = "end_time_seconds"
LABELS = "labels"
EMBEDDING = "audio_embedding"
EMBEDDING_SIZE = 128
NUM_CLASSES = 527
DEQUANTIZE = ("exact", "center", "unit")
ENCODINGS = ("uint8", "float32")


def quantize(embeddings: np.ndarray) -> np.ndarray:
    """VGGish postprocessor quantisation: float ``(T, 128)`` -> uint8 (clip to [-2, 2])."""
    e = np.clip(np.asarray(embeddings, np.float64), -2.0, 2.0)
    return ((e + 2.0) * (255.0 / 4.0)).astype(np.uint8)


def _float_frames(vid: bytes, audio_embedding: Any) -> list:
    import tensorflow as tf

    e = np.asarray(audio_embedding)
    if e.ndim != 2 or e.shape[1] != EMBEDDING_SIZE or not np.issubdtype(e.dtype, np.floating):
        raise ValueError(f"{vid.decode(errors='replace')}: audio_embedding must be float "
                         f"(T, {EMBEDDING_SIZE}) for encoding='float32', got {e.dtype} {e.shape}")
    return [tf.train.Feature(float_list=tf.train.FloatList(value=row))
            for row in e.astype(np.float32)]


def make_sequence_example(video_id: str | bytes, start_time_seconds: float,
                          end_time_seconds: float, labels: Iterable[int],
                          audio_embedding: Any, encoding: str = "uint8") -> Any:
    """One AudioSet ``tf.train.SequenceExample``.

    Args:
        video_id: YouTube id (or any key).
        start_time_seconds: segment start.
        end_time_seconds: segment end.
        labels: class indices.
        audio_embedding: uint8 ``(T, 128)`` array, or ``T`` 128-byte strings; with
            ``encoding="float32"`` a float ``(T, 128)`` array.
        encoding: ``"uint8"`` (the release form: one 128-byte string per frame) or
            ``"float32"`` (one float_list of 128 values per frame).

    Returns:
        The ``tf.train.SequenceExample``.
    """
    import tensorflow as tf

    encoding = one_of("encoding", encoding, ENCODINGS)
    vid = video_id if isinstance(video_id, bytes) else str(video_id).encode()
    if encoding == "float32":
        features = _float_frames(vid, audio_embedding)
    elif isinstance(audio_embedding, np.ndarray):
        if audio_embedding.dtype != np.uint8 or audio_embedding.ndim != 2 or \
                audio_embedding.shape[1] != EMBEDDING_SIZE:
            raise ValueError(f"{vid.decode(errors='replace')}: audio_embedding must be uint8 "
                             f"(T, {EMBEDDING_SIZE}), got {audio_embedding.dtype} "
                             f"{audio_embedding.shape} (use quantize() on float embeddings, "
                             "or encoding='float32')")
        frames = [row.tobytes() for row in audio_embedding]
    else:
        frames = [bytes(f) for f in audio_embedding]
        bad = [i for i, f in enumerate(frames) if len(f) != EMBEDDING_SIZE]
        if bad:
            raise ValueError(f"{vid.decode(errors='replace')}: embedding frame(s) {bad[:10]} "
                             f"are not {EMBEDDING_SIZE} bytes")
    if encoding == "uint8":
        features = [tf.train.Feature(bytes_list=tf.train.BytesList(value=[f])) for f in frames]
    context = tf.train.Features(feature={
        VIDEO_ID: tf.train.Feature(bytes_list=tf.train.BytesList(value=[vid])),
        START: tf.train.Feature(float_list=tf.train.FloatList(value=[start_time_seconds])),
        END: tf.train.Feature(float_list=tf.train.FloatList(value=[end_time_seconds])),
        LABELS: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in labels])),
    })
    feature_list = tf.train.FeatureList(feature=features)
    return tf.train.SequenceExample(
        context=context, feature_lists=tf.train.FeatureLists(feature_list={EMBEDDING: feature_list}))


def write_audioset_records(path: str, records: Iterable[dict], encoding: str = "uint8") -> int:
    """Writes AudioSet-format records to one TFRecord file.

    Args:
        path: output ``.tfrecord`` path.
        records: dicts with keys ``video_id``, ``start_time_seconds``,
            ``end_time_seconds``, ``labels``, ``audio_embedding`` (see
            :func:`make_sequence_example`).
        encoding: ``"uint8"`` (release form) or ``"float32"``.

    Returns:
        The number of records written. Serialisation is deterministic, so writing what
        :func:`read_audioset_records` returns reproduces a file byte for byte.
    """
    import tensorflow as tf

    n = 0
    with tf.io.TFRecordWriter(path) as w:
        for i, r in enumerate(records):
            try:
                ex = make_sequence_example(r[VIDEO_ID], r.get(START, 0.0), r.get(END, 0.0),
                                           r.get(LABELS, ()), r[EMBEDDING], encoding)
            except KeyError as err:
                raise ValueError(f"{path}: record {i} lacks {err.args[0]!r}") from err
            w.write(ex.SerializeToString(deterministic=True))
            n += 1
    return n


def _frame_encoding(ex: Any) -> str | None:
    """``"uint8"`` / ``"float32"`` from a SequenceExample's first frame (None: no frames)."""
    frames = ex.feature_lists.feature_list[EMBEDDING].feature
    if not frames:
        return None
    return "float32" if frames[0].WhichOneof("kind") == "float_list" else "uint8"


def parse_audioset_record(serialized: bytes) -> dict:
    """One serialized record -> dict (numpy): ``audio_embedding`` uint8 ``(T, 128)`` (or
    float32 for a float-form record)."""
    import tensorflow as tf

    ex = tf.train.SequenceExample.FromString(serialized)
    c = ex.context.feature
    frames = ex.feature_lists.feature_list[EMBEDDING].feature
    if _frame_encoding(ex) == "float32":
        emb = np.asarray([list(f.float_list.value) for f in frames], np.float32)
    else:
        emb = np.frombuffer(b"".join(f.bytes_list.value[0] for f in frames), np.uint8)
    return {
        VIDEO_ID: c[VIDEO_ID].bytes_list.value[0].decode() if VIDEO_ID in c else "",
        START: c[START].float_list.value[0] if START in c else 0.0,
        END: c[END].float_list.value[0] if END in c else 0.0,
        LABELS: list(c[LABELS].int64_list.value) if LABELS in c else [],
        EMBEDDING: emb.reshape(-1, EMBEDDING_SIZE),
    }


def read_audioset_records(pattern: str) -> list[dict]:
    """All records of the files matching ``pattern``, parsed in Python (small data, tests)."""
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"{pattern}: no files match")
    return [parse_audioset_record(r.numpy()) for r in tf.data.TFRecordDataset(files)]


def _dequantize(q: Any, mode: str) -> Any:
    import tensorflow as tf

    q = tf.cast(q, tf.float32)
    if mode == "exact":
        return q * (4.0 / 255.0) - 2.0
    if mode == "center":
        return (q + 0.5) * (4.0 / 255.0) - 2.0
    return q / 255.0


def detect_encoding(files: list[str]) -> str:
    """The embedding form (``"uint8"`` or ``"float32"``) of the first record with frames
    in ``files`` (``"uint8"`` when there is none)."""
    import tensorflow as tf

    for path in files:
        for raw in tf.data.TFRecordDataset(path):
            found = _frame_encoding(tf.train.SequenceExample.FromString(raw.numpy()))
            if found:
                return found
    return "uint8"


def audioset_dataset(pattern: str, num_classes: int = NUM_CLASSES, batch_size: int = 32,
                     shuffle: bool = False, repeat: bool = False, max_frames: int | None = None,
                     dequantize: str = "exact", return_mask: bool = True,
                     seed: int | None = None, drop_remainder: bool = False,
                     encoding: str = "auto") -> Any:
    """AudioSet embedding records -> batched ``((embeddings, mask), multi_hot)``.

    Args:
        pattern: glob of TFRecord files (e.g. ``bal_train/*.tfrecord``).
        num_classes: label vocabulary size (527 for AudioSet).
        batch_size: records per batch.
        shuffle: shuffle files and records.
        repeat: repeat forever.
        max_frames: pad/truncate every clip to this many frames (static shape); ``None``
            pads each batch to its longest clip.
        dequantize: ``"exact"`` (``q*4/255-2``), ``"center"`` or ``"unit"`` (``q/255``);
            uint8 records only (float records are read as they are).
        return_mask: yield ``(embeddings, mask)`` as the features; else only embeddings.
        seed: shuffle seed.
        drop_remainder: drop a last short batch.
        encoding: ``"uint8"`` (release form), ``"float32"`` (tfaudio's float form) or
            ``"auto"``: the form of the first record (:func:`detect_encoding`).

    Returns:
        ``tf.data.Dataset`` of ``((embeddings, mask), labels)``: embeddings float32
        ``(batch, T, 128)`` (zeros where padded), mask bool ``(batch, T)`` (True on real
        frames), labels float32 multi-hot ``(batch, num_classes)``.

    Raises:
        FileNotFoundError: nothing matches ``pattern``. During iteration: an error naming
        the labels outside ``[0, num_classes)``.
    """
    import tensorflow as tf

    num_classes = positive_int("num_classes", num_classes)
    batch_size = positive_int("batch_size", batch_size)
    dequantize = one_of("dequantize", dequantize, DEQUANTIZE)
    encoding = one_of("encoding", encoding, ("auto", *ENCODINGS))
    if max_frames is not None:
        max_frames = positive_int("max_frames", max_frames)
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"{pattern}: no AudioSet TFRecord files match")
    if encoding == "auto":
        encoding = detect_encoding(files)
    context = {
        VIDEO_ID: tf.io.FixedLenFeature([], tf.string, default_value=b""),
        START: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
        END: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
        LABELS: tf.io.VarLenFeature(tf.int64),
    }
    if encoding == "uint8":
        sequence = {EMBEDDING: tf.io.FixedLenSequenceFeature([], tf.string)}
    else:
        sequence = {EMBEDDING: tf.io.FixedLenSequenceFeature([EMBEDDING_SIZE], tf.float32)}

    def embeddings(seq):
        if encoding == "float32":
            return seq[EMBEDDING]
        q = tf.reshape(tf.io.decode_raw(seq[EMBEDDING], tf.uint8), [-1, EMBEDDING_SIZE])
        return _dequantize(q, dequantize)

    def parse(serialized):
        ctx, seq = tf.io.parse_single_sequence_example(serialized, context, sequence)
        q = embeddings(seq)
        if max_frames is not None:
            q = q[:max_frames]
        labels = ctx[LABELS].values
        ok = tf.reduce_all((labels >= 0) & (labels < num_classes))
        check = tf.debugging.Assert(ok, [
            f"AudioSet record has labels outside [0, {num_classes}): video_id",
            ctx[VIDEO_ID], "labels", labels], summarize=20)
        with tf.control_dependencies([check]):
            hot = tf.reduce_max(tf.one_hot(labels, num_classes, dtype=tf.float32), axis=0)
        hot = tf.reshape(tf.where(tf.size(labels) > 0, hot, tf.zeros([num_classes])),
                         [num_classes])
        frames = tf.shape(q)[0]
        return q, tf.ones([frames], tf.bool), hot

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)
    if shuffle:
        ds = ds.shuffle(10_000, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(no_autograph(parse), num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)
    shapes = ([max_frames, EMBEDDING_SIZE], [max_frames], [num_classes])
    ds = ds.padded_batch(batch_size, padded_shapes=shapes, padding_values=(0.0, False, 0.0),
                         drop_remainder=drop_remainder)
    if return_mask:
        ds = ds.map(lambda e, m, y: ((e, m), y))
    else:
        ds = ds.map(lambda e, m, y: (e, y))
    return ds.prefetch(tf.data.AUTOTUNE)
