"""Verify a raw-audio TFRecord dataset against its ``dataset.json`` (``tfaudio inspect``)."""

from __future__ import annotations

import os
from collections import Counter

from tfaudio.data import manifest as mf
from tfaudio.data import schema


def verify_dataset(path: str, progress: bool = False) -> tuple[dict, list[str]]:
    """Reads every record of a dataset folder and checks it against the manifest.

    Checks per shard: every record passes its CRC and parses with the schema, the
    record count matches; per split: clip count, duration and label counts; all
    records share the manifest's sample rate, channels and encoding, and labels are in
    the vocabulary with matching ``label/text``; no unlisted ``*.tfrecord`` files; no
    temporary folder left by an interrupted writer; with an ``f0`` entry (``make-tfrecords
    --f0-from-csv``), the records with an f0 track are ``with_track`` and the ids
    without one are ``missing``.

    Args:
        path: dataset folder (with ``dataset.json``).
        progress: tqdm bar over records.

    Returns:
        ``(manifest, problems)``: ``problems`` is empty when everything checks out; each
        entry names the shard (and record index) concerned.

    Raises:
        FileNotFoundError: no ``dataset.json`` (naming any temporary folder an
            interrupted writer left instead).
    """
    import tensorflow as tf
    from tqdm import tqdm

    from tfaudio.data.writer import leftover_folders

    leftovers = leftover_folders(path)
    left = [f"{os.path.basename(x['path'])} ({x['files']} files, {x['bytes'] / 1e6:.1f} MB)"
            for x in leftovers]
    try:
        m = mf.read_manifest(path)
    except FileNotFoundError as err:
        if left:
            raise FileNotFoundError(
                f"{err}; {', '.join(left)} is left by an interrupted make-tfrecords run: "
                f"the dataset was never finished (a new run into {path} removes it)") from err
        raise
    problems: list[str] = []
    vocab = m["label_vocabulary"]
    listed = set()
    total = sum(s["records"] for v in m["splits"].values() for s in v["shards"])
    no_f0: list[str] = []
    bar = tqdm(total=total, unit="rec", desc="verifying", disable=not progress)
    for split, info in m["splits"].items():
        clips, seconds, labels = 0, 0.0, Counter()
        for shard in info["shards"]:
            listed.add(shard["file"])
            file = os.path.join(path, shard["file"])
            if not os.path.exists(file):
                problems.append(f"{shard['file']}: listed in {mf.MANIFEST_NAME} but missing")
                continue
            count = 0
            it = iter(tf.data.TFRecordDataset(file))
            while True:
                try:
                    rec = next(it)
                except StopIteration:
                    break
                except tf.errors.DataLossError as err:
                    msg = str(err).split("[Op:")[0].strip().splitlines()[-1]
                    problems.append(f"{shard['file']}: record index {count} is unreadable "
                                    f"({msg}); the rest of the shard cannot be read")
                    break
                except tf.errors.OpError as err:  # cannot be opened or read at all
                    msg = str(err).split("[Op:")[0].strip().splitlines()[-1]
                    problems.append(f"{shard['file']}: cannot be read ({type(err).__name__}: "
                                    f"{msg})")
                    break
                try:
                    r = schema.parse_example_numpy(rec.numpy())
                except Exception as err:
                    problems.append(f"{shard['file']}: record index {count}: {err}")
                    count += 1
                    continue
                where = f"{shard['file']}: record index {count} ({r['id']})"
                for key, want in (("sample_rate", m["sample_rate"]),
                                  ("num_channels", m["num_channels"]),
                                  ("encoding", m["encoding"])):
                    if r[key] != want:
                        problems.append(f"{where}: {key}={r[key]!r}, dataset says {want!r}")
                bad = [v for v in r["labels"] if not 0 <= v < len(vocab)]
                if bad:
                    problems.append(f"{where}: labels {bad} outside the {len(vocab)} classes")
                elif r["label_text"] and r["label_text"] != [vocab[v] for v in r["labels"]]:
                    problems.append(f"{where}: label/text {r['label_text']} does not match "
                                    f"labels {r['labels']} in the vocabulary")
                if r["num_samples"] == 0:
                    problems.append(f"{where}: zero-length audio")
                if r["f0_hz"] is None:
                    no_f0.append(r["id"])
                clips += 1
                seconds += r["num_samples"] / max(r["sample_rate"], 1)
                labels.update(vocab[v] for v in r["labels"] if 0 <= v < len(vocab))
                count += 1
                bar.update(1)
            if count != shard["records"]:
                problems.append(f"{shard['file']}: {count} records read, "
                                f"{mf.MANIFEST_NAME} says {shard['records']}")
        if clips != info["clips"]:
            problems.append(f"split {split}: {clips} clips read, manifest says {info['clips']}")
        if abs(seconds - info["seconds"]) > 1e-3 + 1e-6 * seconds:
            problems.append(f"split {split}: {seconds:.3f} s read, manifest says "
                            f"{info['seconds']:.3f} s")
        if dict(labels) != info["labels"]:
            problems.append(f"split {split}: label counts {dict(sorted(labels.items()))} != "
                            f"manifest {info['labels']}")
    bar.close()
    written = sum(v["clips"] for v in m["splits"].values())
    if m.get("inputs") is not None and m["inputs"] != written + len(m.get("skipped", [])):
        problems.append(f"manifest: inputs {m['inputs']} != written {written} + skipped "
                        f"{len(m.get('skipped', []))}")
    f0 = m.get("f0")
    if f0:
        if total - len(no_f0) != f0.get("with_track"):
            problems.append(f"manifest: f0.with_track {f0.get('with_track')} but "
                            f"{total - len(no_f0)} records carry an f0 track")
        if sorted(no_f0) != sorted(f0.get("missing") or []):
            problems.append(f"manifest: f0.missing lists {len(f0.get('missing') or [])} ids "
                            f"but {len(no_f0)} records have no f0 track")
    unlisted = sorted(n for n in os.listdir(path)
                      if n.endswith(mf.SHARD_SUFFIX) and n not in listed)
    for name in unlisted:
        problems.append(f"{name}: shard file not listed in {mf.MANIFEST_NAME}")
    for what in left:
        problems.append(f"{what}: temporary folder left by an interrupted writer (the next "
                        f"make-tfrecords run into {path} removes it; or delete it)")
    return m, problems
