"""Audio file decoding to float32 ``(time, channels)`` tensors.

Routes, by container (sniffed from the first bytes, not the file name):

=======  =====================================  ==============================
format   with tensorflow-io's native ops        without them
=======  =====================================  ==============================
WAV      16-bit PCM: ``tf.audio.decode_wav``;   16-bit PCM: ``tf.audio``;
         8/24-bit PCM, 32-bit float: tfio;      others: tfaudio's numpy WAV
         32-bit PCM, 64-bit float: numpy        reader
FLAC     ``tfio.audio.decode_flac``             soundfile
OGG      ``tfio.audio.decode_vorbis``           soundfile
MP3      ``tfio.audio.decode_mp3``              soundfile
=======  =====================================  ==============================

Integer PCM is scaled by ``1 / 2**(bits - 1)`` (8-bit WAV is unsigned: ``(x - 128) / 128``),
the convention of libsndfile/soundfile and ``tf.audio``, so every route gives the same
numbers (bit-exact for WAV and FLAC). Sample rates come from the container headers.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfaudio.data import backends

FORMATS = ("wav", "flac", "ogg", "mp3")
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3")


class AudioDecodeError(ValueError):
    """An audio file or byte string that cannot be decoded (names the source)."""


@dataclass(frozen=True)
class WavInfo:
    """Parsed WAV header: where the samples are and how they are stored."""

    format_tag: int  # 1 PCM, 3 IEEE float (after resolving WAVE_FORMAT_EXTENSIBLE)
    extensible: bool
    channels: int
    sample_rate: int
    bits: int
    block_align: int
    data_offset: int
    data_size: int
    truncated: bool = False  # the data chunk claims more bytes than the file holds


def sniff_format(data: bytes) -> str | None:
    """Container of an encoded audio byte string, from its magic bytes.

    Args:
        data: the first bytes (at least 12) of a file.

    Returns:
        ``"wav"``, ``"flac"``, ``"ogg"``, ``"mp3"``, or ``None`` when unknown.

    Example:
        >>> sniff_format(b"fLaC\\x00\\x00\\x00\\x22")
        'flac'
    """
    if data[:4] in (b"RIFF", b"RIFX") and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3":
        size = _syncsafe(data[6:10]) + 10
        return "flac" if data[size:size + 4] == b"fLaC" else "mp3"
    if len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0:
        return "mp3"
    return None


def _syncsafe(b: bytes) -> int:
    if len(b) < 4:
        return 0
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def parse_wav_header(data: bytes, name: str = "<bytes>") -> WavInfo:
    """Reads the ``fmt `` and ``data`` chunks of a RIFF/WAVE byte string.

    Args:
        data: the whole file.
        name: shown in errors.

    Returns:
        A :class:`WavInfo`. A ``data`` chunk whose declared size runs past the end of
        the file (streamed WAVs) is clipped to the bytes present.

    Raises:
        AudioDecodeError: no ``fmt ``/``data`` chunk, or an unsupported encoding.
    """
    if data[:4] == b"RIFX":
        raise AudioDecodeError(f"{name}: big-endian WAV (RIFX) is not supported")
    pos, fmt, data_chunk = 12, None, None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        body = pos + 8
        if cid == b"fmt ":
            fmt = data[body:body + size]
        elif cid == b"data":
            data_chunk = (body, min(size, len(data) - body), size > len(data) - body)
            if fmt is not None:
                break
        pos = body + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise AudioDecodeError(f"{name}: WAV file has no valid 'fmt ' chunk")
    if data_chunk is None:
        raise AudioDecodeError(f"{name}: WAV file has no 'data' chunk")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    extensible = tag == 0xFFFE
    if extensible:
        if len(fmt) < 26:
            raise AudioDecodeError(f"{name}: truncated WAVE_FORMAT_EXTENSIBLE header")
        (tag,) = struct.unpack("<H", fmt[24:26])
    if channels < 1 or rate < 1:
        raise AudioDecodeError(
            f"{name}: WAV header says {channels} channels at {rate} Hz; expected >= 1 of each")
    ok = (tag == 1 and bits in (8, 16, 24, 32)) or (tag == 3 and bits in (32, 64))
    if not ok:
        raise AudioDecodeError(
            f"{name}: WAV encoding (format tag {tag}, {bits} bits) is not supported; "
            "expected 8/16/24/32-bit integer PCM or 32/64-bit float")
    if block_align != channels * bits // 8:
        raise AudioDecodeError(
            f"{name}: WAV block align {block_align} != channels {channels} x {bits} bits / 8")
    return WavInfo(tag, extensible, channels, rate, bits, block_align, *data_chunk)


def _wav_numpy(data: bytes, info: WavInfo) -> np.ndarray:
    n = info.data_size // info.block_align
    raw = data[info.data_offset:info.data_offset + n * info.block_align]
    if info.format_tag == 3:
        dtype = "<f4" if info.bits == 32 else "<f8"
        x = np.frombuffer(raw, dtype).astype(np.float32)
    elif info.bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif info.bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif info.bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)  # left-justified int32
        x = (v.astype(np.float64) / 2.0**31).astype(np.float32)
    else:
        x = (np.frombuffer(raw, "<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    return x.reshape(n, info.channels)


def _scaled(x: Any, offset: float, scale: float) -> Any:
    """``(x - offset) / scale`` in float64, then float32 (exact for <= 24-bit PCM)."""
    import tensorflow as tf

    return tf.cast((tf.cast(x, tf.float64) - offset) / scale, tf.float32)


def _decode_wav(data: bytes, name: str) -> tuple[Any, int]:
    import tensorflow as tf

    info = parse_wav_header(data, name)
    if info.truncated or info.data_size % info.block_align:
        return tf.constant(_wav_numpy(data, info)), info.sample_rate  # tolerant reader
    if info.format_tag == 1 and info.bits == 16 and not info.extensible:
        if info.data_size == 0:
            return tf.zeros((0, info.channels), tf.float32), info.sample_rate
        audio, sr = tf.audio.decode_wav(data)
        return audio, int(sr)
    tfio = backends.tfio_native()
    route = {(1, 8): (tf.uint8, 128.0, 128.0), (1, 16): (tf.int16, 0.0, 32768.0),
             (1, 24): (tf.int32, 0.0, 2.0**31), (3, 32): (tf.float32, 0.0, 1.0)}
    key = (info.format_tag, info.bits)
    # tensorflow-io 0.37 misreads 32-bit integer PCM (returns the bits as floats) and
    # has no float64 path: those go through numpy even when tfio loads.
    if tfio is not None and key in route and info.data_size >= info.block_align:
        dtype, offset, scale = route[key]
        x = tfio.audio.decode_wav(tf.constant(data), dtype=dtype)
        return _scaled(x, offset, scale), info.sample_rate
    return tf.constant(_wav_numpy(data, info)), info.sample_rate


def _flac_info(data: bytes, name: str) -> tuple[int, int, int]:
    """(sample_rate, channels, bits) from a FLAC STREAMINFO block."""
    start = data.find(b"fLaC")
    si = data[start + 8:start + 8 + 34] if start >= 0 else b""
    if len(si) < 18:
        raise AudioDecodeError(f"{name}: FLAC stream has no STREAMINFO block")
    word = int.from_bytes(si[10:18], "big")
    rate = word >> 44
    channels = ((word >> 41) & 0x7) + 1
    bits = ((word >> 36) & 0x1F) + 1
    return rate, channels, bits


def _ogg_rate(data: bytes, name: str) -> int:
    i = data.find(b"\x01vorbis")
    if i < 0 or len(data) < i + 16:
        raise AudioDecodeError(f"{name}: OGG stream has no Vorbis identification header")
    return struct.unpack("<I", data[i + 12:i + 16])[0]


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_rate(data: bytes, name: str) -> int:
    pos = _syncsafe(data[6:10]) + 10 if data[:3] == b"ID3" else 0
    end = min(len(data) - 3, pos + 65536)
    while pos < end:
        if data[pos] == 0xFF and (data[pos + 1] & 0xE0) == 0xE0:
            version = (data[pos + 1] >> 3) & 0x3
            idx = (data[pos + 2] >> 2) & 0x3
            if version in _MP3_RATES and idx < 3 and (data[pos + 1] >> 1) & 0x3:
                return _MP3_RATES[version][idx]
        pos += 1
    raise AudioDecodeError(f"{name}: no MPEG audio frame header found")


def _decode_compressed(data: bytes, fmt: str, name: str) -> tuple[Any, int]:
    import tensorflow as tf

    tfio = backends.tfio_native()
    if tfio is not None:
        if fmt == "flac":
            rate, _, bits = _flac_info(data, name)
            dtype, offset, scale = {8: (tf.uint8, 128.0, 128.0), 16: (tf.int16, 0.0, 32768.0),
                                    24: (tf.int32, 0.0, 2.0**31)}.get(bits, (None, 0, 0))
            if dtype is not None:
                x = tfio.audio.decode_flac(tf.constant(data), dtype=dtype)
                return _scaled(x, offset, scale), rate
        elif fmt == "ogg":
            return tfio.audio.decode_vorbis(tf.constant(data)), _ogg_rate(data, name)
        else:
            return tfio.audio.decode_mp3(tf.constant(data)), _mp3_rate(data, name)
    sf = backends.soundfile_module(f"decoding {name} ({fmt.upper()})")
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return tf.constant(audio), int(rate)


def read_bytes(source: Any) -> tuple[bytes, str]:
    """The bytes of ``source`` (bytes, path, or scalar string tensor) and a display name."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if isinstance(source, (str, os.PathLike)):
        import tensorflow as tf

        path = os.fspath(source)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"{path}: no such audio file")
        with tf.io.gfile.GFile(path, "rb") as f:
            return f.read(), path
    if hasattr(source, "numpy"):
        return bytes(source.numpy()), "<tensor>"
    raise TypeError(
        f"source must be bytes, a path or a scalar string tensor, got {type(source).__name__}")


def decode_audio(source: Any, format: str | None = None,
                 sample_rate: int | None = None) -> tuple[Any, int]:
    """Decodes an audio file (WAV, FLAC, OGG/Vorbis, MP3) to float32 samples.

    Args:
        source: a path (local or any ``tf.io.gfile`` scheme), the encoded bytes, or a
            scalar string tensor holding them.
        format: ``"wav"``, ``"flac"``, ``"ogg"`` or ``"mp3"``; ``None`` sniffs the
            first bytes (the file name is never trusted).
        sample_rate: resample to this rate with :func:`tfaudio.ops.resample`;
            ``None`` keeps the file's rate.

    Returns:
        ``(audio, sample_rate)``: a float32 ``tf.Tensor`` of shape
        ``(time, channels)`` in ``[-1, 1)`` for integer PCM, and the rate as an int.
        A file with a valid header and no samples gives ``(0, channels)``.

    Raises:
        FileNotFoundError: the path does not exist.
        AudioDecodeError: empty, unknown or corrupt data (the message names the file).

    Example:
        >>> audio, sr = decode_audio("tests/data/speech_16k.wav")
        >>> audio.shape, sr
        (TensorShape([48000, 1]), 16000)
    """
    data, name = read_bytes(source)
    if format is not None:
        format = format.lower()
        if format not in FORMATS:
            raise ValueError(f"format={format!r} is not supported: allowed values are "
                             f"{list(FORMATS)} or None (sniff)")
    if not data:
        raise AudioDecodeError(f"{name}: empty file (0 bytes); expected audio data")
    fmt = format or sniff_format(data[:4096])
    if fmt is None:
        raise AudioDecodeError(
            f"{name}: not a recognised audio file (first bytes {data[:8]!r}); "
            "expected WAV, FLAC, OGG/Vorbis or MP3")
    try:
        if fmt == "wav":
            audio, rate = _decode_wav(data, name)
        else:
            audio, rate = _decode_compressed(data, fmt, name)
    except (AudioDecodeError, ImportError):
        raise
    except Exception as err:
        first = str(err).strip().splitlines()[-1][:300] if str(err).strip() else ""
        raise AudioDecodeError(
            f"{name}: cannot decode as {fmt.upper()} ({type(err).__name__}: {first})") from err
    if audio.shape.rank != 2:
        raise AudioDecodeError(f"{name}: decoder returned shape {audio.shape}, expected (time, channels)")
    if sample_rate is not None and int(sample_rate) != rate:
        audio = resample_audio(audio, rate, int(sample_rate))
        rate = int(sample_rate)
    return audio, rate


def resample_audio(audio: Any, orig_sr: int, target_sr: int) -> Any:
    """Resamples channels-last audio with tfaudio's own resampler (graph-safe).

    Args:
        audio: float ``(time, channels)`` or ``(batch, time, channels)``.
        orig_sr: its sample rate (Python int).
        target_sr: the wanted rate (Python int).

    Returns:
        float32 of the same rank with ``time`` rescaled by ``target_sr / orig_sr``.
    """
    import tensorflow as tf

    if int(orig_sr) == int(target_sr):
        return audio
    try:
        from tfaudio.ops.resample import resample
    except ImportError as err:
        raise NotImplementedError(
            f"resampling {orig_sr} Hz -> {target_sr} Hz needs tfaudio.ops.resample, "
            f"which is not importable here ({err})") from err
    x = tf.convert_to_tensor(audio, tf.float32)
    perm = [0, 2, 1] if x.shape.rank == 3 else [1, 0]
    y = resample(tf.transpose(x, perm), int(orig_sr), int(target_sr))
    return tf.transpose(y, perm)
