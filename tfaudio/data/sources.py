"""Audio files -> labelled clips -> TFRecords (the library behind ``tfaudio make-tfrecords``).

Sources come from a folder (labels from the first sub-folder under it, optionally) or a
CSV manifest (``path,label[,start_seconds,end_seconds]``; several labels separated by
``;``). Every file is decoded (in a thread pool); by default a single unreadable, empty
or truncated file aborts the run before anything is kept, and the error names *every*
bad file; with ``skip_bad=True`` the rest is written and the skipped files are listed in
``dataset.json``. With ``allow_truncated=True`` a truncated file keeps the samples it
holds and is listed under ``truncated`` in ``dataset.json``. Always: files in = clips
written + files skipped.

With ``f0_from_csv=True`` each audio file's f0 track is read from ``<stem>.f0.csv``
beside it (``time,frequency[,confidence]``, CREPE's output) and stored in its record
(``pitch/f0_hz``, ``pitch/hop_seconds``); files without such a CSV are written without a
track and listed under ``f0.missing`` in ``dataset.json``: clips written = clips with a
track + clips listed there.

Example:
    >>> m = make_tfrecords("sounds/", "records/", labels_from_dirs=True,
    ...                    split="train=0.8,val=0.1,test=0.1", seed=0)
    >>> m["inputs"] == m["total_clips"] + len(m["skipped"])
    True
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from tfaudio.data import manifest as mf
from tfaudio.data.decode import AUDIO_EXTENSIONS, decode_audio_noted
from tfaudio.data.writer import Clip, write_dataset


class BadFilesError(ValueError):
    """Some inputs could not be used; ``bad`` lists ``{"file", "reason"}`` for each."""

    def __init__(self, bad: list[dict], total: int):
        self.bad = bad
        lines = "\n".join(f"  {b['file']}: {b['reason']}" for b in bad)
        super().__init__(
            f"{len(bad)} of {total} input file(s) cannot be used, so nothing was written "
            f"(pass --skip-bad / skip_bad=True to write the rest):\n{lines}")


@dataclass
class Source:
    """One input: an audio file (or a segment of it) and its label names."""

    path: str
    id: str
    labels: list[str] = field(default_factory=list)
    start_seconds: float | None = None
    end_seconds: float | None = None
    f0_csv: str | None = None


F0_CSV_SUFFIX = ".f0.csv"


def f0_csv_path(audio_path: str) -> str:
    """Where ``f0_from_csv`` looks for a file's f0 track: ``song.wav`` -> ``song.f0.csv``."""
    return os.path.splitext(audio_path)[0] + F0_CSV_SUFFIX


def read_f0_csv(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Reads an f0 CSV: ``time,frequency[,confidence]`` (CREPE's ``.f0.csv`` output).

    A header row is optional; with one, the columns are found by name (``time``,
    ``frequency``, optional ``confidence``), without one they are taken in that order.

    Args:
        path: the CSV file.

    Returns:
        ``(times, frequency, confidence)``: float64 ``(frames,)`` seconds (strictly
        increasing), Hz (<= 0 = unvoiced), and the confidence or ``None``.

    Raises:
        ValueError: no rows, missing columns, bad numbers, or times that do not
            increase, naming the file and the row.

    Example:
        >>> times, f0, conf = read_f0_csv("song.f0.csv")  # doctest: +SKIP
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: empty f0 CSV; expected rows of time,frequency[,confidence]")
    head = [c.strip().lower() for c in rows[0]]
    cols = [0, 1, 2 if len(head) > 2 else None]
    first = 1
    try:
        [float(c) for c in head]
        first = 0
    except ValueError:
        if "time" not in head or "frequency" not in head:
            raise ValueError(f"{path}: the f0 CSV's header {rows[0]} needs 'time' and "
                             "'frequency' columns (and optionally 'confidence')") from None
        cols = [head.index("time"), head.index("frequency"),
                head.index("confidence") if "confidence" in head else None]
    values = []
    for row_no, row in enumerate(rows[first:], start=first + 1):
        try:
            values.append([float(row[c]) if c is not None else np.nan for c in cols])
        except (ValueError, IndexError):
            raise ValueError(f"{path}:{row_no}: expected numbers time,frequency"
                             f"[,confidence], got {row}") from None
    if not values:
        raise ValueError(f"{path}: the f0 CSV has a header but no rows")
    table = np.asarray(values, np.float64)
    times, freq = table[:, 0], table[:, 1]
    if not np.all(np.isfinite(table[:, :2])):
        bad = int(np.argmin(np.all(np.isfinite(table[:, :2]), axis=1))) + first + 1
        raise ValueError(f"{path}:{bad}: time and frequency must be finite numbers")
    if np.any(np.diff(times) <= 0):
        bad = int(np.argmax(np.diff(times) <= 0)) + first + 2
        raise ValueError(f"{path}:{bad}: times must increase from row to row")
    return times, freq, (table[:, 2] if cols[2] is not None else None)


def f0_track(times: np.ndarray, f0_hz: np.ndarray, hop_seconds: float, num_frames: int,
             start_seconds: float = 0.0) -> np.ndarray:
    """An f0 track given at ``times`` read at ``start_seconds + k * hop_seconds``.

    The rule of ``audio_dataset(targets="f0")``: between two voiced neighbours (f0 > 0)
    linear in Hz, else the nearest (unvoiced gaps are never bridged); more than half a
    step before the first time or after the last: 0 (unvoiced).

    Args:
        times: float ``(n,)`` increasing seconds.
        f0_hz: float ``(n,)``, <= 0 = unvoiced.
        hop_seconds: the wanted frame step.
        num_frames: frames to return.
        start_seconds: time of frame 0 in the ``times`` axis (a segment's start).

    Returns:
        float32 ``(num_frames,)`` Hz, 0 = unvoiced.

    Example:
        >>> f0_track(np.array([0.0, 0.02]), np.array([100.0, 200.0]), 0.01, 4).tolist()
        [100.0, 150.0, 200.0, 0.0]
    """
    times = np.asarray(times, np.float64)
    f0 = np.maximum(np.asarray(f0_hz, np.float64), 0.0)
    q = start_seconds + np.arange(num_frames) * hop_seconds
    if len(times) == 1:
        left = right = np.zeros(num_frames, np.int64)
    else:  # the stored times around each query (the two ends extend outwards)
        right = np.clip(np.searchsorted(times, q, side="right"), 1, len(times) - 1)
        left = right - 1
    t0, t1 = times[left], times[right]
    span = np.where(t1 > t0, t1 - t0, 1.0)
    w = np.clip((q - t0) / span, 0.0, 1.0)
    a, b = f0[left], f0[right]
    out = np.where((a > 0) & (b > 0), a + w * (b - a), np.where(w < 0.5, a, b))
    step = np.median(np.diff(times)) if len(times) > 1 else hop_seconds
    inside = (q >= times[0] - step / 2 - 1e-9) & (q < times[-1] + step / 2 - 1e-9)
    return np.where(inside, out, 0.0).astype(np.float32)


def _load_f0(source: Source, num_samples: int, sample_rate: int,
             min_confidence: float | None) -> tuple[np.ndarray, float]:
    """The f0 track of ``source`` (``num_samples`` at ``sample_rate``) and its hop."""
    times, freq, conf = read_f0_csv(source.f0_csv)
    if min_confidence is not None:
        if conf is None:
            raise ValueError(f"{source.f0_csv}: f0_min_confidence={min_confidence} needs a "
                             "'confidence' column")
        freq = np.where(conf >= min_confidence, freq, 0.0)
    hop = float(np.median(np.diff(times))) if len(times) > 1 else 0.01
    hop = round(hop, 6) or hop
    from tfaudio.data.reader import f0_num_frames

    frames = f0_num_frames(num_samples, sample_rate, hop)
    return f0_track(times, freq, hop, frames, source.start_seconds or 0.0), hop


def scan_folder(root: str, labels_from_dirs: bool = False) -> tuple[list[Source], list[str]]:
    """Audio files under ``root`` (recursively, by extension).

    Args:
        root: source folder.
        labels_from_dirs: label each file with its first-level sub-folder name.

    Returns:
        ``(sources, ignored)``: audio sources sorted by path, and the other files.

    Raises:
        ValueError: with ``labels_from_dirs``, an audio file directly in ``root``.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: no such folder")
    sources, ignored, unlabelled = [], [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if name.startswith(".") or not name.lower().endswith(AUDIO_EXTENSIONS):
                ignored.append(rel)
                continue
            labels = []
            if labels_from_dirs:
                if "/" not in rel:
                    unlabelled.append(rel)
                    continue
                labels = [rel.split("/", 1)[0]]
            sources.append(Source(full, rel, labels))
    if unlabelled:
        raise ValueError(f"{root}: --labels-from-dirs needs every audio file inside a class "
                         f"folder, but these are directly in {root}: {unlabelled[:20]}")
    return sources, ignored


def read_csv_manifest(csv_path: str, root: str | None = None) -> list[Source]:
    """Sources from a CSV with columns ``path,label[,start_seconds,end_seconds]``.

    Relative paths are resolved against ``root`` (default: the CSV's folder). Labels
    may be empty or several names separated by ``;``.

    Raises:
        ValueError: missing columns, bad numbers or duplicate rows (row numbers named).
    """
    root = root or os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if "path" not in fields:
            raise ValueError(f"{csv_path}: needs a header with a 'path' column "
                             f"(and 'label'); got columns {fields}")
        sources, seen = [], set()
        for row_no, row in enumerate(reader, start=2):
            rel = (row.get("path") or "").strip()
            if not rel:
                raise ValueError(f"{csv_path}:{row_no}: empty path")
            labels = [t.strip() for t in (row.get("label") or "").split(";") if t.strip()]
            try:
                start = float(row["start_seconds"]) if row.get("start_seconds") else None
                end = float(row["end_seconds"]) if row.get("end_seconds") else None
            except ValueError as err:
                raise ValueError(f"{csv_path}:{row_no}: {err}") from err
            key = rel if start is None else f"{rel}@{start:g}"
            if key in seen:
                raise ValueError(f"{csv_path}:{row_no}: duplicate entry {key!r}")
            seen.add(key)
            full = rel if os.path.isabs(rel) else os.path.join(root, rel)
            sources.append(Source(full, key, labels, start, end))
    return sources


def build_vocabulary(sources: list[Source], vocabulary: list[str] | None = None,
                     where: str = "manifest") -> list[str]:
    """The class list: ``vocabulary`` if given (every label must be in it), else sorted names.

    Raises:
        ValueError: labels outside the given vocabulary, naming the sources.
    """
    if vocabulary is None:
        return sorted({lab for s in sources for lab in s.labels})
    known = set(vocabulary)
    unknown = [(s.id, lab) for s in sources for lab in s.labels if lab not in known]
    if unknown:
        shown = ", ".join(f"{i}: {lab!r}" for i, lab in unknown[:20])
        raise ValueError(f"{len(unknown)} label(s) in the {where} are not in the vocabulary "
                         f"of {len(vocabulary)} classes: {shown}")
    return list(vocabulary)


def read_vocabulary(path: str) -> list[str]:
    """Class names, one per line (blank lines and ``#`` comments ignored)."""
    with open(path, encoding="utf-8") as f:
        names = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate class names")
    return names


def load_source(source: Source, sample_rate: int | None, mono: bool, *,
                allow_truncated: bool = False, notes: list[str] | None = None) -> np.ndarray:
    """Decodes one source to float32 ``(time, channels)`` at ``sample_rate``.

    Args:
        source: the file (or segment).
        sample_rate: resample to this rate (``None``: keep the file's).
        mono: average the channels.
        allow_truncated: keep what a truncated file holds (see
            :func:`tfaudio.data.decode_audio`); its message is appended to ``notes``.
        notes: receives the truncation message, if any.

    Raises:
        ValueError / OSError: unreadable, empty, truncated or zero-length (message names
            the file).
    """
    audio, sr, note = decode_audio_noted(source.path, allow_truncated=allow_truncated)
    if note is not None and notes is not None:
        notes.append(note)
    x = audio.numpy()
    if source.start_seconds is not None or source.end_seconds is not None:
        a = int(round((source.start_seconds or 0.0) * sr))
        b = len(x) if source.end_seconds is None else int(round(source.end_seconds * sr))
        x = x[a:b]
    if x.shape[0] == 0:
        raise ValueError(f"{source.path}: zero-length audio (0 samples"
                         f"{' in the requested segment' if source.start_seconds else ''})")
    if mono and x.shape[1] > 1:
        x = x.mean(axis=1, keepdims=True)
    if sample_rate is not None and sr != sample_rate:
        from tfaudio.data.decode import resample_audio

        x = resample_audio(x, sr, sample_rate).numpy()
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{source.path}: audio contains NaN or infinity")
    return x


def iter_clips(sources: list[Source], vocabulary: list[str], sample_rate: int | None,
               mono: bool = False, workers: int = 1, skip_bad: bool = False,
               skipped: list[dict] | None = None, allow_truncated: bool = False,
               truncated: list[dict] | None = None,
               f0_min_confidence: float | None = None) -> Iterator[Clip]:
    """Decodes sources in a thread pool, in order, yielding :class:`Clip` objects.

    Bad files are appended to ``skipped``. Without ``skip_bad``, the first bad file
    stops the yielding; the rest are still decoded to find every bad file, then
    :class:`BadFilesError` is raised. With ``allow_truncated``, truncated files are
    kept and appended to ``truncated`` (``{"file", "reason"}``). A source with an
    ``f0_csv`` gets its f0 track (frequencies below ``f0_min_confidence`` unvoiced); a
    CSV that cannot be read makes its file bad. ``sample_rate`` must be given then.
    """
    index = {name: i for i, name in enumerate(vocabulary)}
    skipped = [] if skipped is None else skipped
    truncated = [] if truncated is None else truncated
    failing = False

    def job(s: Source):
        notes: list[str] = []
        try:
            x = load_source(s, sample_rate, mono, allow_truncated=allow_truncated,
                            notes=notes)
            f0 = None
            if s.f0_csv is not None:
                f0 = _load_f0(s, len(x), sample_rate, f0_min_confidence)
            return (x, f0), None, notes
        except Exception as err:  # reported per file below, never swallowed
            return None, f"{type(err).__name__}: {err}", notes

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        window: deque = deque()
        it = iter(sources)
        for s in it:
            window.append((s, pool.submit(job, s)))
            if len(window) >= 4 * max(1, workers):
                break
        while window:
            s, fut = window.popleft()
            nxt = next(it, None)
            if nxt is not None:
                window.append((nxt, pool.submit(job, nxt)))
            loaded, error, notes = fut.result()
            if error is not None:
                skipped.append({"file": s.id, "reason": error})
                failing = failing or not skip_bad
                continue
            truncated.extend({"file": s.id, "reason": n} for n in notes)
            if failing:
                continue
            audio, f0 = loaded
            yield Clip(id=s.id, audio=audio, labels=[index[lab] for lab in s.labels],
                       start_seconds=s.start_seconds, f0_hz=None if f0 is None else f0[0],
                       f0_hop_seconds=None if f0 is None else f0[1])
    if failing:
        raise BadFilesError(skipped, len(sources))


def make_tfrecords(src: str, out: str, *, labels_from_dirs: bool = False,
                   manifest: str | None = None, vocabulary: list[str] | None = None,
                   sample_rate: int | None = 16000, mono: bool = False,
                   num_shards: int | None = None, shard_size_mb: float | None = None,
                   encoding: str = "pcm16", split: str | None = None, seed: int = 0,
                   skip_bad: bool = False, workers: int = 1, progress: bool = False,
                   overwrite: bool = False, allow_truncated: bool = False,
                   f0_from_csv: bool = False, f0_min_confidence: float | None = None) -> dict:
    """Writes a raw-audio TFRecord dataset from a folder of audio files (or a CSV).

    Args:
        src: source folder (also the root of relative CSV paths).
        out: dataset folder to create.
        labels_from_dirs: label files by their first-level sub-folder.
        manifest: CSV ``path,label[,start_seconds,end_seconds]`` instead of scanning.
        vocabulary: fixed class list (labels outside it are an error); default: the
            sorted label names found.
        sample_rate: resample everything to this rate (``None``: keep the files' rate,
            which must then be the same for all).
        mono: average channels.
        num_shards / shard_size_mb: shards per split, or target shard size.
        encoding: ``pcm16`` (default), ``flac`` or ``float32``.
        split: e.g. ``"train=0.8,val=0.1,test=0.1"`` (hash of the id, with ``seed``).
        skip_bad: write the good files and list the bad ones instead of failing.
        workers: decoding threads.
        progress: tqdm progress bar.
        overwrite: replace an existing dataset in ``out``.
        allow_truncated: keep the samples a truncated file holds instead of treating it
            as bad; such files are listed under ``truncated`` in ``dataset.json``.
        f0_from_csv: store each file's f0 track from ``<stem>.f0.csv`` beside it
            (``time,frequency[,confidence]``, CREPE's output; see :func:`read_f0_csv`),
            at the CSV's median time step, read with :func:`f0_track` (a CSV segment's
            track starts at its ``start_seconds``). Files without a CSV are written
            without a track and listed in ``dataset.json`` under ``f0`` (``from_csv``,
            ``with_track``: clips written with a track, ``missing``: ids of those
            written without); an unreadable CSV makes its file bad (``skip_bad``).
        f0_min_confidence: with ``f0_from_csv``, frames whose confidence is below this
            are stored unvoiced (0); ``None`` (default) keeps every frequency as given.

    Returns:
        The ``dataset.json`` manifest as a dict.

    Raises:
        BadFilesError: unusable files (without ``skip_bad``); nothing is written.
        ValueError: no audio files, unknown labels, mixed rates or channel counts.
    """
    if manifest is not None:
        sources, ignored = read_csv_manifest(manifest, src), []
    else:
        sources, ignored = scan_folder(src, labels_from_dirs)
    if not sources:
        where = manifest or src
        extra = f" ({len(ignored)} non-audio file(s) ignored)" if ignored else ""
        raise ValueError(f"{where}: no audio files to convert{extra}; expected files ending "
                         f"in {', '.join(AUDIO_EXTENSIONS)}")
    vocab = build_vocabulary(sources, vocabulary, "CSV manifest" if manifest else "folders")
    sources.sort(key=lambda s: (mf.unit_hash(s.id, seed, "order"), s.id))
    if sample_rate is None:
        sample_rate = _common_rate(sources, allow_truncated)
    extra: dict = {}
    if f0_from_csv:
        ignored = _attach_f0_csvs(sources, ignored, src if manifest is None else None)
    elif f0_min_confidence is not None:
        raise ValueError("f0_min_confidence needs f0_from_csv=True (--f0-from-csv)")
    skipped: list[dict] = []
    truncated: list[dict] = []  # filled while the clips are written, before the manifest
    clips = iter_clips(sources, vocab, sample_rate, mono, workers, skip_bad, skipped,
                       allow_truncated, truncated, f0_min_confidence)
    if f0_from_csv:
        extra["f0"] = f0_info = {"from_csv": True, "min_confidence": f0_min_confidence,
                                 "with_track": 0, "missing": []}
        clips = _count_f0(clips, f0_info)  # filled while writing, before the manifest
    result = write_dataset(
        clips, out, inputs=len(sources), skipped=skipped, progress=progress,
        total=len(sources), sample_rate=sample_rate, vocabulary=vocab, encoding=encoding,
        splits=split, seed=seed, num_shards=num_shards, shard_size_mb=shard_size_mb,
        overwrite=overwrite,
        extra={"source": os.path.abspath(manifest or src), "ignored_files": ignored[:1000],
               "num_ignored_files": len(ignored), "truncated": truncated, **extra})
    return result


def _attach_f0_csvs(sources: list[Source], ignored: list[str], root: str | None) -> list[str]:
    """Sets ``f0_csv`` of the sources that have one; returns ``ignored`` without those CSVs."""
    used = set()
    for s in sources:
        path = f0_csv_path(s.path)
        if os.path.isfile(path):
            s.f0_csv = path
            if root is not None:
                used.add(os.path.relpath(path, root).replace(os.sep, "/"))
    return [f for f in ignored if f not in used]


def _count_f0(clips: Iterator[Clip], info: dict) -> Iterator[Clip]:
    for clip in clips:
        if clip.f0_hz is None:
            info["missing"].append(clip.id)
        else:
            info["with_track"] += 1
        yield clip


def _common_rate(sources: list[Source], allow_truncated: bool = False) -> int:
    """The one sample rate of all sources (decoding them; bad files are reported later)."""
    rates: dict[int, str] = {}
    for s in sources:
        try:
            rates.setdefault(decode_audio_noted(s.path, allow_truncated=allow_truncated)[1],
                             s.id)
        except Exception:
            continue  # reported as a bad file when decoded for writing
    if len(rates) > 1:
        raise ValueError(f"files have different sample rates {sorted(rates)} (e.g. "
                         f"{list(rates.values())[:3]}); pass a sample rate to resample to")
    return next(iter(rates)) if rates else 16000
