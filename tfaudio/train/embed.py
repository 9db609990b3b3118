"""Audio files -> AudioSet-format embedding records, with a run's (or export's) ``embed``.

One ``tf.train.SequenceExample`` per file, the AudioSet way
(:mod:`tfaudio.data.audioset`):

* context ``video_id``: the file's path relative to the input folder, without the
  extension (``dog/bark_01``), or the file's stem for a file given by name; unique (a
  collision is an error naming both files);
* ``start_time_seconds`` 0.0 and ``end_time_seconds`` the file's duration: the record
  is the whole file, as an AudioSet record is its whole 10 s segment;
* ``labels``: indices into the export's ``labels.txt``: from the ``labels`` argument
  (by ``video_id`` or path), else the file's class folder (the first folder under an
  input folder, as ``--labels-from-dirs``; the parent folder of a file given by name)
  when that name is one of the labels; else none;
* feature list ``audio_embedding``: one frame per complete 0.96 s patch. Frame ``k``
  covers ``[k * 0.96, k * 0.96 + 0.96)`` s of the file (implicit, as in AudioSet); a
  file shorter than one patch gives one frame (the export pads it) when the recipe had
  ``frontend.pad_short`` (the default). With PCA parameters (``vggish_pca_params.npz``
  layout) frames are PCA-whitened, clipped to [-2, 2] and quantised to 128 bytes
  (:func:`tfaudio.models.vggish_postprocess`), exactly the release form; without, they
  are tfaudio's float form (a float_list of 128 values per frame), which
  :func:`tfaudio.data.audioset_dataset` reads too.

Records go to ``<out>/<prefix>-00000-of-0000N.tfrecord`` shards (``shard_size`` records
each), with ``<out>/<prefix>.json`` (counts, skipped files and why, settings) and
``<out>/labels.txt`` (the export's classes, for ``[data] format = "audioset"``).
Files in = files embedded + files skipped (undecodable or without samples), always.

Example:
    >>> summary = embed_files("runs/small", ["sounds/"], "emb/", prefix="train")
    >>> summary["inputs"] == summary["embedded"] + len(summary["skipped"])
    True
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfaudio.train.predict import find_export, read_export_files

SHARD_SIZE = 256
CHUNK_PATCHES = 64  # ~61 s of audio per call; long files are cut into such chunks
AUDIOSET_SIZE = 128


@dataclass
class Embedder:
    """A loaded export with an ``embed`` signature and its settings."""

    path: str
    module: Any
    labels: list[str]
    sample_rate: int
    embedding_size: int
    patch_seconds: float


@dataclass
class Item:
    """One input file: where it is, its record key and its class-folder name."""

    path: str
    video_id: str
    folder: str | None


def load_embedder(source: str) -> Embedder:
    """The export of a run folder (or an export folder) that can ``embed`` waveforms.

    Raises:
        FileNotFoundError: no such folder, or no ``labels.txt`` / ``tfaudio.json``.
        ValueError: not a finished run or SavedModel, or an export without ``embed``
        (exported before ``tfaudio embed`` existed, or one that serves embeddings).
    """
    import tensorflow as tf

    export = find_export(source)
    labels, config = read_export_files(export)
    if config.get("input", "waveform") != "waveform" or "patch_seconds" not in config:
        raise ValueError(f"{export}: this SavedModel has no 'embed' signature (it serves "
                         f"{config.get('input', 'waveform')} and was exported without "
                         "patch settings); re-export a waveform model with this tfaudio")
    module = tf.saved_model.load(export)
    if not hasattr(module, "embed"):
        raise ValueError(f"{export}: the SavedModel has no 'embed' signature")
    return Embedder(export, module, labels, int(config["sample_rate"]),
                    int(config["embedding_size"]), float(config["patch_seconds"]))


def _patches_of(length: int, sample_rate: int) -> int:
    """Complete VGGish patches in ``length`` samples at ``sample_rate`` (resampled to 16 kHz)."""
    from tfaudio.models.vggish import HOP, PATCH_FRAMES, SAMPLE_RATE, WINDOW
    from tfaudio.ops.resample import resampled_length

    n = resampled_length(length, sample_rate, SAMPLE_RATE)
    if n < WINDOW:
        return 0
    return (1 + (n - WINDOW) // HOP) // PATCH_FRAMES


def embed_waveform(embedder: Embedder, audio: np.ndarray, chunk_patches: int = CHUNK_PATCHES,
                   batch_size: int = 4) -> np.ndarray:
    """Patch embeddings of one mono waveform at the export's sample rate.

    A waveform of up to ``chunk_patches + 2`` patches goes through ``embed`` whole.
    A longer one is cut into equal windows of ``chunk_patches + 2`` patches, each
    starting one patch before the patches it contributes (that patch and the one after
    are context for the resampler and the last frame; their outputs are dropped), run
    ``batch_size`` windows per call; the result equals the whole-file call (to float
    rounding) when 0.96 s is a whole number of samples (every rate that is a multiple
    of 25 Hz); other rates are embedded whole.

    Args:
        embedder: from :func:`load_embedder`.
        audio: float ``(time,)`` samples at ``embedder.sample_rate``.
        chunk_patches: patches per window for long files.
        batch_size: windows per ``embed`` call.

    Returns:
        float32 ``(patches, embedding_size)``.
    """
    import tensorflow as tf

    x = np.asarray(audio, np.float32)
    hop = embedder.patch_seconds * embedder.sample_rate
    window = (chunk_patches + 2) * round(hop)
    if len(x) <= window or abs(hop - round(hop)) > 1e-6:
        return np.asarray(embedder.module.embed(tf.constant(x[None])))[0]
    hop = round(hop)
    total = _patches_of(len(x), embedder.sample_rate)
    starts = [max(0, a - 1) for a in range(0, total, chunk_patches)]
    wins = np.stack([np.pad(x[s * hop:s * hop + window],
                            (0, max(0, window - (len(x) - s * hop)))) for s in starts])
    outs = np.concatenate([np.asarray(embedder.module.embed(tf.constant(wins[i:i + batch_size])))
                           for i in range(0, len(wins), batch_size)])
    pieces = []
    for out, s, a in zip(outs, starts, range(0, total, chunk_patches), strict=True):
        b = min(a + chunk_patches, total)
        pieces.append(out[a - s:b - s])
    return np.concatenate(pieces)


def find_inputs(inputs: Sequence[str]) -> tuple[list[Item], list[str]]:
    """Audio files of ``inputs`` (files, or folders searched recursively by extension).

    Returns:
        ``(items, ignored)``: items in input order (folders sorted by path), and the
        non-audio files of the folders.

    Raises:
        FileNotFoundError: an input does not exist. ValueError: two files would get the
        same ``video_id``.
    """
    from tfaudio.data.sources import scan_folder

    items, ignored = [], []
    for given in inputs:
        if os.path.isdir(given):
            sources, skipped = scan_folder(given)
            ignored += [os.path.join(given, s) for s in skipped]
            for s in sources:
                rel = s.id
                folder = rel.split("/", 1)[0] if "/" in rel else None
                items.append(Item(s.path, os.path.splitext(rel)[0], folder))
        elif os.path.isfile(given):
            parent = os.path.basename(os.path.dirname(os.path.abspath(given)))
            items.append(Item(given, os.path.splitext(os.path.basename(given))[0], parent))
        else:
            raise FileNotFoundError(f"no such audio file or folder: {given}")
    seen: dict[str, str] = {}
    for item in items:
        if item.video_id in seen:
            raise ValueError(f"video_id {item.video_id!r} of {item.path} and {seen[item.video_id]} "
                             "collide; embed them in separate runs or give their common folder")
        seen[item.video_id] = item.path
    return items, ignored


def _label_indices(item: Item, vocabulary: list[str], labels: Mapping | None,
                   from_dirs: bool) -> list[int]:
    given = None
    if labels is not None:
        given = labels.get(item.video_id, labels.get(item.path))
    if given is None:
        return [vocabulary.index(item.folder)] if (
            from_dirs and item.folder in vocabulary) else []
    if isinstance(given, (str, int)):
        given = [given]
    out = []
    for lab in given:
        if isinstance(lab, (int, np.integer)) and not isinstance(lab, bool):
            if not 0 <= lab < len(vocabulary):
                raise ValueError(f"labels[{item.video_id!r}]: {lab} is outside [0, "
                                 f"{len(vocabulary)}) (the export's labels.txt)")
            out.append(int(lab))
        elif lab in vocabulary:
            out.append(vocabulary.index(lab))
        else:
            raise ValueError(f"labels[{item.video_id!r}]: {lab!r} is not one of the export's "
                             f"{len(vocabulary)} labels {vocabulary[:10]}")
    return sorted(set(out))


def _embed_items(embedder: Embedder, items: list[Item], chunk_patches: int, batch_size: int,
                 progress: bool) -> Iterator[tuple[Item, np.ndarray | None, float, str | None]]:
    """``(item, embeddings, seconds, reason)`` per file; ``reason`` says why it was skipped."""
    from tqdm import tqdm

    from tfaudio.data import AudioDecodeError, decode_audio

    for item in tqdm(items, unit="file", desc="embedding", disable=not progress):
        try:
            audio, _ = decode_audio(item.path, sample_rate=embedder.sample_rate)
        except (AudioDecodeError, OSError) as err:
            yield item, None, 0.0, str(err)
            continue
        mono = np.asarray(audio).mean(axis=1)
        seconds = len(mono) / embedder.sample_rate
        if not len(mono):
            yield item, None, 0.0, "no samples"
            continue
        emb = embed_waveform(embedder, mono, chunk_patches, batch_size)
        if not len(emb):
            yield item, None, seconds, ("shorter than one 0.96 s patch (the export does not "
                                        "pad short clips: frontend.pad_short = false)")
            continue
        yield item, emb, seconds, None


def _pca(pca: Any, size: int) -> tuple[np.ndarray, np.ndarray]:
    from tfaudio.models import load_pca_params

    vectors, means = load_pca_params(pca) if isinstance(pca, str) else (
        np.asarray(pca[0], np.float64), np.asarray(pca[1], np.float64).reshape(-1))
    if means.shape[0] != size or vectors.shape[0] > size:
        raise ValueError(f"{pca if isinstance(pca, str) else 'pca'}: PCA parameters for "
                         f"{means.shape[0]}-d embeddings; the export's are {size}-d")
    return vectors, means


def fit_pca(embeddings: Sequence[np.ndarray], out_path: str) -> tuple[np.ndarray, np.ndarray]:
    """PCA parameters (:func:`tfaudio.models.compute_pca_params`) of all frames of
    ``embeddings``, written to ``out_path`` in the ``vggish_pca_params.npz`` layout."""
    from tfaudio.models import compute_pca_params

    frames = np.concatenate(list(embeddings)) if embeddings else np.zeros((0, AUDIOSET_SIZE))
    if frames.shape[0] <= frames.shape[1]:
        raise ValueError(f"--pca-fit {out_path}: PCA needs more frames than dimensions; the "
                         f"inputs gave {frames.shape[0]} frames of {frames.shape[1]} (about "
                         f"{frames.shape[0] * 0.96:.0f} s of audio), need > {frames.shape[1]}")
    vectors, means = compute_pca_params(frames)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    np.savez(out_path, pca_eigen_vectors=vectors, pca_means=means.reshape(-1, 1))
    return vectors, means


def pca_fit(source: str, inputs: Sequence[str], out_path: str,
            chunk_patches: int = CHUNK_PATCHES, progress: bool = False) -> dict:
    """Fits PCA parameters on the embeddings of ``inputs`` and writes them to ``out_path``.

    Returns:
        dict: ``path``, ``inputs``, ``embedded``, ``frames``, ``skipped`` (file, reason).
    """
    embedder = load_embedder(source)
    items, _ = find_inputs(inputs)
    got, skipped = [], []
    for item, emb, _, reason in _embed_items(embedder, items, chunk_patches, 4, progress):
        if reason:
            skipped.append({"file": item.path, "reason": reason})
        else:
            got.append(emb)
    fit_pca(got, out_path)
    return {"path": out_path, "inputs": len(items), "embedded": len(got),
            "frames": int(sum(len(e) for e in got)), "skipped": skipped}


class _ShardWriter:
    """Writes records to temporary shards; ``close`` names them ``-NNNNN-of-MMMMM``."""

    def __init__(self, out_dir: str, prefix: str, shard_size: int, encoding: str):
        self.out_dir, self.prefix, self.encoding = out_dir, prefix, encoding
        self.shard_size = shard_size
        self.tmp: list[str] = []
        self.pending: list[dict] = []

    def add(self, record: dict) -> None:
        self.pending.append(record)
        if len(self.pending) >= self.shard_size:
            self._flush()

    def _flush(self) -> None:
        from tfaudio.data.audioset import write_audioset_records

        if not self.pending:
            return
        path = os.path.join(self.out_dir, f".{self.prefix}-{len(self.tmp):05d}.tmp")
        write_audioset_records(path, self.pending, self.encoding)
        self.tmp.append(path)
        self.pending = []

    def close(self) -> list[str]:
        self._flush()
        n = len(self.tmp)
        final = [os.path.join(self.out_dir, f"{self.prefix}-{i:05d}-of-{n:05d}.tfrecord")
                 for i in range(n)]
        for tmp, path in zip(self.tmp, final, strict=True):
            os.replace(tmp, path)
        return final


def _prepare_out(out_dir: str, prefix: str, labels: list[str], overwrite: bool) -> None:
    import glob

    os.makedirs(out_dir, exist_ok=True)
    old = glob.glob(os.path.join(out_dir, f"{prefix}-*.tfrecord"))
    if old and not overwrite:
        raise FileExistsError(f"{out_dir} already holds {prefix}-*.tfrecord shards; choose "
                              "another --out / --prefix or pass --overwrite")
    for path in old:
        os.remove(path)
    labels_path = os.path.join(out_dir, "labels.txt")
    if os.path.exists(labels_path):
        with open(labels_path, encoding="utf-8") as f:
            there = [line.rstrip("\n") for line in f if line.strip()]
        if there != labels:
            raise ValueError(f"{labels_path} lists other classes than the export "
                             f"({there[:5]}... vs {labels[:5]}...); use another --out")
    with open(labels_path, "w", encoding="utf-8") as f:
        f.write("\n".join(labels) + "\n")


def embed_files(source: str, inputs: Sequence[str], out_dir: str, pca: Any = None,
                pca_fit: str | None = None, labels: Mapping | None = None,
                labels_from_dirs: bool = True, prefix: str = "embeddings",
                shard_size: int = SHARD_SIZE, chunk_patches: int = CHUNK_PATCHES,
                batch_size: int = 4, overwrite: bool = False, progress: bool = False) -> dict:
    """Embeds audio files into AudioSet-format records (see the module doc for the layout).

    Args:
        source: a run folder (its ``export/``) or an export folder.
        inputs: audio files and/or folders (searched recursively).
        out_dir: where the shards, ``<prefix>.json`` and ``labels.txt`` go.
        pca: PCA parameters (an ``.npz`` path in the ``vggish_pca_params.npz`` layout, or
            ``(eigen_vectors, means)``): write quantised uint8 records, as released.
            ``None``: float records.
        pca_fit: fit PCA on these files' embeddings first, write it to this ``.npz`` and
            then write quantised records with it (all embeddings are held in memory until
            the fit: 512 bytes per second of audio). Not with ``pca``.
        labels: ``video_id`` (or path) -> label names or indices of the export; files
            not in it fall back to their class folder.
        labels_from_dirs: label a file with its class folder when that is a label.
        prefix: shard name prefix (``train`` for ``<out>/train-00000-of-00001.tfrecord``).
        shard_size: records per shard.
        chunk_patches, batch_size: see :func:`embed_waveform`.
        overwrite: replace ``<prefix>-*.tfrecord`` shards already in ``out_dir``.
        progress: a progress bar over the files.

    Returns:
        The summary (also in ``<out_dir>/<prefix>.json``): ``inputs``, ``embedded``,
        ``skipped`` (``{"file", "reason"}``), ``frames``, ``seconds``, ``shards``,
        ``encoding``, ``pca``, ``export``, ``labelled``.

    Raises:
        FileNotFoundError: no such model or input; no audio files. ValueError: a folder
        that is not a finished run, a bad PCA file, labels outside the export's.
        FileExistsError: shards already there without ``overwrite``.
    """
    if pca is not None and pca_fit:
        raise ValueError("pass pca (use given parameters) or pca_fit (fit them), not both")
    started = time.time()
    embedder = load_embedder(source)
    if embedder.embedding_size != AUDIOSET_SIZE:
        raise ValueError(f"{embedder.path}: embedding_size is {embedder.embedding_size}; "
                         f"AudioSet records hold {AUDIOSET_SIZE}-d embeddings")
    params = _pca(pca, embedder.embedding_size) if pca is not None else None
    items, ignored = find_inputs(inputs)
    if not items:
        raise FileNotFoundError(f"no audio files in {list(inputs)} (looked for "
                                "WAV/FLAC/OGG/MP3 by extension)")
    for item in items:  # label problems surface before any work
        _label_indices(item, embedder.labels, labels, labels_from_dirs)
    _prepare_out(out_dir, prefix, embedder.labels, overwrite)
    encoding = "float32" if params is None and not pca_fit else "uint8"
    writer = _ShardWriter(out_dir, prefix, max(1, int(shard_size)), encoding)
    results = _embed_items(embedder, items, chunk_patches, batch_size, progress)
    skipped, held = [], []
    frames, seconds, embedded, labelled = 0, 0.0, 0, 0
    for item, emb, secs, reason in results:
        if reason:
            skipped.append({"file": item.path, "reason": reason})
            continue
        if pca_fit:
            held.append((item, emb, secs))
            continue
        embedded += 1
        frames += len(emb)
        seconds += secs
        labelled += _write(writer, embedder, item, emb, secs, params, labels, labels_from_dirs)
    if pca_fit:
        params = fit_pca([e for _, e, _ in held], pca_fit)
        for item, emb, secs in held:
            embedded += 1
            frames += len(emb)
            seconds += secs
            labelled += _write(writer, embedder, item, emb, secs, params, labels,
                               labels_from_dirs)
    shards = writer.close()
    summary = {
        "export": os.path.abspath(embedder.path), "inputs": len(items), "embedded": embedded,
        "skipped": skipped, "ignored_non_audio": ignored, "labelled": labelled,
        "frames": frames, "seconds": round(seconds, 3), "encoding": encoding,
        "pca": pca_fit or (pca if isinstance(pca, str) or pca is None else "given"),
        "patch_seconds": embedder.patch_seconds, "sample_rate": embedder.sample_rate,
        "shards": [os.path.basename(s) for s in shards], "records_per_shard": shard_size,
        "time_seconds": round(time.time() - started, 1),
    }
    assert summary["inputs"] == embedded + len(skipped)
    with open(os.path.join(out_dir, f"{prefix}.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return summary


def _write(writer: _ShardWriter, embedder: Embedder, item: Item, emb: np.ndarray,
           seconds: float, params: Any, labels: Mapping | None, from_dirs: bool) -> int:
    """Adds one record; returns 1 when it has labels."""
    from tfaudio.models import vggish_postprocess

    indices = _label_indices(item, embedder.labels, labels, from_dirs)
    frames = emb if params is None else vggish_postprocess(emb, params)
    writer.add({"video_id": item.video_id, "start_time_seconds": 0.0,
                "end_time_seconds": float(seconds), "labels": indices,
                "audio_embedding": frames})
    return int(bool(indices))


def expected_frames(seconds: float, pad_short: bool = True) -> int:
    """Frames ``tfaudio embed`` gives for ``seconds`` of 16 kHz audio: the complete 0.96 s
    patches (one for a shorter clip when the export pads short clips)."""
    n = _patches_of(round(seconds * 16000), 16000)
    return max(n, 1) if pad_short and seconds > 0 else n


__all__ = ["Embedder", "embed_files", "embed_waveform", "expected_frames", "find_inputs",
           "fit_pca", "load_embedder", "pca_fit"]
