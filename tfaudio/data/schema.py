"""The raw-audio TFRecord schema: feature keys, encodings, example building and parsing.

One ``tf.train.Example`` per clip (documented in ``docs/tfrecord.md``):

========================  ==========  =====================================================
key                       type        meaning
========================  ==========  =====================================================
``audio/pcm``             bytes       samples, interleaved ``(time, channels)``: int16 LE
                                      (``pcm16``), float32 LE (``float32``) or a FLAC file
``audio/encoding``        bytes       ``pcm16`` | ``float32`` | ``flac``
``audio/sample_rate``     int64
``audio/num_channels``    int64
``audio/num_samples``     int64       frames per channel
``label``                 int64 list  class indices (0, 1 or more: multi-label)
``label/text``            bytes list  the class names, same order as ``label``
``id``                    bytes       source path (relative to the source folder) or key
``audio/start_seconds``   float       optional: offset of the clip in its source file
``pitch/f0_hz``           float list  optional: f0 per frame, 0 = unvoiced (synthetic data)
``pitch/hop_seconds``     float       optional: the f0 frame hop
========================  ==========  =====================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

SCHEMA_VERSION = 1
FORMAT_NAME = "tfaudio.audio_tfrecord"
ENCODINGS = ("pcm16", "float32", "flac")
BYTES_PER_SAMPLE = {"pcm16": 2, "float32": 4}

PCM = "audio/pcm"
ENCODING = "audio/encoding"
SAMPLE_RATE = "audio/sample_rate"
NUM_CHANNELS = "audio/num_channels"
NUM_SAMPLES = "audio/num_samples"
START_SECONDS = "audio/start_seconds"
LABEL = "label"
LABEL_TEXT = "label/text"
ID = "id"
F0 = "pitch/f0_hz"
F0_HOP = "pitch/hop_seconds"


def _bytes(values: list[bytes]) -> Any:
    import tensorflow as tf

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _ints(values: list[int]) -> Any:
    import tensorflow as tf

    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _floats(values: list[float]) -> Any:
    import tensorflow as tf

    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float audio in [-1, 1] -> int16, rounding and clipping (exact for x = k / 32768)."""
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        return audio
    return np.clip(np.rint(audio.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def encode_samples(audio: np.ndarray, encoding: str, sample_rate: int) -> bytes:
    """The ``audio/pcm`` payload for ``(time, channels)`` audio.

    Args:
        audio: float (in [-1, 1]) or int16 array ``(time, channels)``.
        encoding: one of :data:`ENCODINGS`.
        sample_rate: needed for the FLAC header.

    Returns:
        The encoded bytes.
    """
    if encoding == "pcm16":
        return to_pcm16(audio).astype("<i2").tobytes()
    if encoding == "float32":
        a = np.asarray(audio)
        if a.dtype == np.int16:
            a = a.astype(np.float32) / 32768.0
        return a.astype("<f4").tobytes()
    if encoding == "flac":
        return _encode_flac(to_pcm16(audio), sample_rate)
    raise ValueError(f"encoding={encoding!r} is not supported: allowed values are {list(ENCODINGS)}")


def _encode_flac(pcm: np.ndarray, sample_rate: int) -> bytes:
    import io

    from tfaudio.data import backends

    sf = backends.soundfile_module("encoding records as FLAC")
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def make_example(audio: np.ndarray, sample_rate: int, *, labels: list[int] = (),
                 label_text: list[str] = (), id: str = "", encoding: str = "pcm16",
                 start_seconds: float | None = None, f0_hz: np.ndarray | None = None,
                 f0_hop_seconds: float | None = None) -> Any:
    """Builds the ``tf.train.Example`` of one clip.

    Args:
        audio: ``(time, channels)`` float in [-1, 1] or int16 (``(time,)`` = mono).
        sample_rate: in Hz.
        labels: class indices (any number).
        label_text: class names, parallel to ``labels``.
        id: source path or key.
        encoding: ``"pcm16"`` (default), ``"float32"`` or ``"flac"``.
        start_seconds: offset of the clip in its source, if cut from a longer file.
        f0_hz: optional f0 per frame (0 = unvoiced).
        f0_hop_seconds: hop of ``f0_hz`` frames (required with ``f0_hz``).

    Returns:
        A ``tf.train.Example``.

    Example:
        >>> ex = make_example(np.zeros((16000, 1), np.int16), 16000, labels=[3], id="a.wav")
        >>> ex.features.feature["audio/num_samples"].int64_list.value[0]
        16000
    """
    import tensorflow as tf

    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2:
        raise ValueError(f"{id or 'clip'}: audio must be (time, channels), got shape {audio.shape}")
    if len(label_text) and len(label_text) != len(labels):
        raise ValueError(f"{id or 'clip'}: {len(labels)} labels but {len(label_text)} label texts")
    feature = {
        PCM: _bytes([encode_samples(audio, encoding, sample_rate)]),
        ENCODING: _bytes([encoding.encode()]),
        SAMPLE_RATE: _ints([int(sample_rate)]),
        NUM_CHANNELS: _ints([int(audio.shape[1])]),
        NUM_SAMPLES: _ints([int(audio.shape[0])]),
        LABEL: _ints([int(v) for v in labels]),
        LABEL_TEXT: _bytes([str(t).encode() for t in label_text]),
        ID: _bytes([str(id).encode()]),
    }
    if start_seconds is not None:
        feature[START_SECONDS] = _floats([float(start_seconds)])
    if f0_hz is not None:
        if f0_hop_seconds is None:
            raise ValueError(f"{id or 'clip'}: f0_hz needs f0_hop_seconds")
        feature[F0] = _floats([float(v) for v in np.asarray(f0_hz).ravel()])
        feature[F0_HOP] = _floats([float(f0_hop_seconds)])
    return tf.train.Example(features=tf.train.Features(feature=feature))


def parse_example_numpy(serialized: bytes) -> dict:
    """Parses one serialized record in Python (for ``inspect`` and tests).

    Args:
        serialized: the record bytes.

    Returns:
        dict with ``audio`` (float32 ``(time, channels)``), ``sample_rate``,
        ``num_channels``, ``num_samples``, ``labels`` (list of int), ``label_text``,
        ``id``, ``encoding``, ``start_seconds`` (or ``None``), ``f0_hz`` (or ``None``).

    Raises:
        ValueError: missing keys or inconsistent sizes, with what was expected.
    """
    import tensorflow as tf

    ex = tf.train.Example.FromString(serialized)
    f = ex.features.feature
    missing = [k for k in (PCM, SAMPLE_RATE, NUM_CHANNELS, NUM_SAMPLES) if k not in f]
    if missing:
        raise ValueError(f"record lacks required feature(s) {missing}")
    enc = f[ENCODING].bytes_list.value[0].decode() if ENCODING in f else "pcm16"
    sr = int(f[SAMPLE_RATE].int64_list.value[0])
    ch = int(f[NUM_CHANNELS].int64_list.value[0])
    n = int(f[NUM_SAMPLES].int64_list.value[0])
    payload = f[PCM].bytes_list.value[0]
    if enc in BYTES_PER_SAMPLE:
        want = n * ch * BYTES_PER_SAMPLE[enc]
        if len(payload) != want:
            raise ValueError(f"audio/pcm has {len(payload)} bytes, expected {want} "
                             f"({n} samples x {ch} channels x {enc})")
        if enc == "pcm16":
            audio = np.frombuffer(payload, "<i2").astype(np.float32) / 32768.0
        else:
            audio = np.frombuffer(payload, "<f4").astype(np.float32)
        audio = audio.reshape(n, ch)
    elif enc == "flac":
        from tfaudio.data.decode import decode_audio

        audio = decode_audio(payload, format="flac")[0].numpy()
        if audio.shape != (n, ch):
            raise ValueError(f"FLAC payload decodes to {audio.shape}, expected ({n}, {ch})")
    else:
        raise ValueError(f"audio/encoding={enc!r} is unknown; expected one of {list(ENCODINGS)}")
    return {
        "audio": audio, "sample_rate": sr, "num_channels": ch, "num_samples": n,
        "labels": list(f[LABEL].int64_list.value) if LABEL in f else [],
        "label_text": [t.decode() for t in f[LABEL_TEXT].bytes_list.value] if LABEL_TEXT in f else [],
        "id": f[ID].bytes_list.value[0].decode() if ID in f and f[ID].bytes_list.value else "",
        "encoding": enc,
        "start_seconds": f[START_SECONDS].float_list.value[0] if START_SECONDS in f else None,
        "f0_hz": np.asarray(f[F0].float_list.value, np.float32) if F0 in f else None,
    }
