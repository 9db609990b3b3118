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

Truncated files (a file cut short, e.g. by an interrupted copy or recording) are an error
naming the file and both counts, unless ``allow_truncated=True``: the length the header
promises (WAV ``data`` chunk size, FLAC ``STREAMINFO`` total, MP3 Xing/Info/VBRI frame
count, exact with a LAME gapless tag) against what decodes; an OGG stream has no total,
so it is truncated when its end-of-stream page is missing or cut. A file whose header
gives no length (FLAC total 0, MP3 without a Xing/Info/VBRI frame) is caught only when
the decoder fails on the cut.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfaudio.data import backends

FORMATS = ("wav", "flac", "ogg", "mp3")
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3")


class AudioDecodeError(ValueError):
    """An audio file or byte string that cannot be decoded (names the source)."""


class TruncatedAudioWarning(UserWarning):
    """``decode_audio(..., allow_truncated=True)`` kept what a truncated file holds."""


_STREAMED = 0xFFFFFFFF  # WAV data size written by streaming writers: "until the end"


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
    data_size: int  # bytes of samples present
    truncated: bool = False  # the data chunk claims more bytes than the file holds
    declared_size: int = -1  # the data chunk's size in the header


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
        the file is clipped to the bytes present and marked ``truncated`` (a size of
        ``0xFFFFFFFF``, written by streaming writers, means "to the end": not truncated).

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
            cut = size > len(data) - body and size != _STREAMED
            data_chunk = (body, min(size, len(data) - body), cut, size)
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


def _decode_wav(data: bytes, name: str, allow_truncated: bool) -> tuple[Any, int, str | None]:
    import tensorflow as tf

    info = parse_wav_header(data, name)
    if info.truncated:
        promised = info.declared_size // info.block_align
        present = info.data_size // info.block_align
        note = (f"{name}: truncated WAV: the header promises {promised} samples per channel "
                f"({info.declared_size} bytes of data) but the file holds {present} "
                f"({info.data_size} bytes)")
        if not present:
            raise AudioDecodeError(f"{note}: nothing to keep")
        if not allow_truncated:
            raise AudioDecodeError(f"{note}; pass allow_truncated=True to keep them")
        return tf.constant(_wav_numpy(data, info)), info.sample_rate, note
    audio, rate = _decode_wav_complete(data, info)
    return audio, rate, None


def _decode_wav_complete(data: bytes, info: WavInfo) -> tuple[Any, int]:
    import tensorflow as tf

    if info.data_size % info.block_align or info.declared_size != info.data_size:
        # a partial last frame, or a streamed size: the numpy reader
        return tf.constant(_wav_numpy(data, info)), info.sample_rate
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


def _flac_total(data: bytes) -> int | None:
    """Samples per channel in the FLAC STREAMINFO block (``None``: absent or 0 = unknown)."""
    start = data.find(b"fLaC")
    si = data[start + 8:start + 8 + 34] if start >= 0 else b""
    if len(si) < 18:
        return None
    return (int.from_bytes(si[10:18], "big") & ((1 << 36) - 1)) or None


def _mp3_promise(data: bytes) -> tuple[int, int] | None:
    """``(samples per channel, slack)`` from the Xing/Info or VBRI frame of an MP3, if any.

    With a LAME gapless tag (encoder delay and padding) the count is exact; without one,
    decoders may drop the delay, so ``slack`` allows three frames.
    """
    pos = _syncsafe(data[6:10]) + 10 if data[:3] == b"ID3" else 0
    end = min(len(data) - 4, pos + 65536)
    while pos < end and not (data[pos] == 0xFF and (data[pos + 1] & 0xE0) == 0xE0):
        pos += 1
    if pos >= end:
        return None
    version, layer = (data[pos + 1] >> 3) & 0x3, (data[pos + 1] >> 1) & 0x3
    mono = (data[pos + 3] >> 6) & 0x3 == 3
    spf = {3: 384, 2: 1152}.get(layer, 1152 if version == 3 else 576)  # layer I, II, III
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    at = pos + 4 + (0 if data[pos + 1] & 1 else 2) + side
    if data[at:at + 4] in (b"Xing", b"Info"):
        flags = int.from_bytes(data[at + 4:at + 8], "big")
        if not flags & 1:
            return None
        frames = int.from_bytes(data[at + 8:at + 12], "big")
        lame = at + 8 + 4 * (flags & 1) + 4 * ((flags >> 1) & 1) + 100 * ((flags >> 2) & 1) \
            + 4 * ((flags >> 3) & 1)
        tag = data[lame:lame + 24]
        if len(tag) == 24 and tag[:4].isalnum():  # LAME / Lavc / Lavf: gapless info
            delay = (tag[21] << 4) | (tag[22] >> 4)
            padding = ((tag[22] & 0xF) << 8) | tag[23]
            return frames * spf - delay - padding, 0
        return frames * spf, 3 * spf
    if data[pos + 36:pos + 40] == b"VBRI":
        return int.from_bytes(data[pos + 50:pos + 54], "big") * spf, 3 * spf
    return None


def _ogg_cut(data: bytes) -> str | None:
    """Why an Ogg stream is truncated (its last page cut, or no end-of-stream page)."""
    pos, pages, eos = 0, 0, False
    while pos + 27 <= len(data) and data[pos:pos + 4] == b"OggS":
        nseg = data[pos + 26]
        if pos + 27 + nseg > len(data):
            return f"page {pages} is cut off at byte {len(data)}"
        end = pos + 27 + nseg + sum(data[pos + 27:pos + 27 + nseg])
        if end > len(data):
            return f"page {pages} is cut off at byte {len(data)} of its {end}"
        eos, pos, pages = bool(data[pos + 5] & 0x4), end, pages + 1
    if pages and not eos:
        return f"the stream ends after page {pages - 1} without its end-of-stream page"
    return None


def _brief(err: Exception) -> str:
    """``Type: message`` of a decoder error, without TensorFlow's op decorations."""
    text = str(err).strip().splitlines()[-1] if str(err).strip() else ""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text)
    return f"{type(err).__name__}: {text[:300]}"


def _decode_prefix(data: bytes) -> tuple[np.ndarray, int] | None:
    """What soundfile decodes of ``data`` before it fails (``None``: nothing or no soundfile)."""
    try:
        sf = backends.soundfile_module("decoding what a truncated file holds")
    except ImportError:
        return None
    blocks: list[np.ndarray] = []
    try:
        f = sf.SoundFile(io.BytesIO(data))
    except Exception:
        return None
    try:
        while True:
            block = f.read(1024, dtype="float32", always_2d=True)
            if not len(block):
                break
            blocks.append(block)
    except Exception:  # the decoder stops at the cut: keep what came before it
        pass
    if not blocks:
        return None
    return np.concatenate(blocks), int(f.samplerate)


def _decode_checked(data: bytes, fmt: str, name: str,
                    allow_truncated: bool) -> tuple[Any, int, str | None]:
    """FLAC/OGG/MP3: decodes and compares with the length the stream promises."""
    import tensorflow as tf

    promise = {"flac": lambda: (_flac_total(data), 0), "mp3": lambda: _mp3_promise(data),
               "ogg": lambda: None}[fmt]() or (None, 0)
    promised, slack = promise
    cut = _ogg_cut(data) if fmt == "ogg" else None
    error = None
    try:
        audio, rate = _decode_compressed(data, fmt, name)
    except ImportError:
        raise
    except Exception as err:
        if promised is None and cut is None:
            raise
        error = err
        prefix = _decode_prefix(data)
        if prefix is None:
            what = cut or f"the header promises {promised} samples per channel"
            raise AudioDecodeError(f"{name}: truncated {fmt.upper()}: {what}; nothing "
                                   f"decodes before the cut ({_brief(err)})") from err
        audio, rate = tf.constant(prefix[0]), prefix[1]
    n = int(audio.shape[0])
    if promised is not None and n < promised - slack:
        note = (f"{name}: truncated {fmt.upper()}: the header promises {promised} samples "
                f"per channel but {n} decode")
    elif cut is not None:
        note = f"{name}: truncated {fmt.upper()}: {cut}; {n} samples per channel decode"
    else:
        return audio, rate, None
    if error is not None:
        note += f" (the decoder stops there: {_brief(error)})"
    if not n:
        raise AudioDecodeError(f"{note}: nothing to keep")
    if not allow_truncated:
        raise AudioDecodeError(f"{note}; pass allow_truncated=True to keep them")
    return audio, rate, note


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


def decode_audio(source: Any, format: str | None = None, sample_rate: int | None = None, *,
                 allow_truncated: bool = False) -> tuple[Any, int]:
    """Decodes an audio file (WAV, FLAC, OGG/Vorbis, MP3) to float32 samples.

    Args:
        source: a path (local or any ``tf.io.gfile`` scheme), the encoded bytes, or a
            scalar string tensor holding them.
        format: ``"wav"``, ``"flac"``, ``"ogg"`` or ``"mp3"``; ``None`` sniffs the
            first bytes (the file name is never trusted).
        sample_rate: resample to this rate with :func:`tfaudio.ops.resample`;
            ``None`` keeps the file's rate.
        allow_truncated: keep what a truncated file holds (with a
            :class:`TruncatedAudioWarning` naming the file and both counts) instead of
            raising. See the module doc for what is detected.

    Returns:
        ``(audio, sample_rate)``: a float32 ``tf.Tensor`` of shape
        ``(time, channels)`` in ``[-1, 1)`` for integer PCM, and the rate as an int.
        A file with a valid header and no samples gives ``(0, channels)``.

    Raises:
        FileNotFoundError: the path does not exist.
        AudioDecodeError: empty, unknown, corrupt or truncated data (the message names
            the file; for a truncated one, the samples promised and those present).

    Example:
        >>> audio, sr = decode_audio("tests/data/speech_16k.wav")
        >>> audio.shape, sr
        (TensorShape([48000, 1]), 16000)
    """
    audio, rate, note = decode_audio_noted(source, format, sample_rate,
                                           allow_truncated=allow_truncated)
    if note is not None:
        warnings.warn(f"{note}; kept them (allow_truncated=True)", TruncatedAudioWarning,
                      stacklevel=2)
    return audio, rate


def decode_audio_noted(source: Any, format: str | None = None, sample_rate: int | None = None,
                       *, allow_truncated: bool = False) -> tuple[Any, int, str | None]:
    """:func:`decode_audio` that returns its truncation note instead of warning.

    Returns:
        ``(audio, sample_rate, note)``: ``note`` is ``None``, or (only with
        ``allow_truncated=True``) the message describing a truncated file whose samples
        were kept. For callers that record it (``make-tfrecords --allow-truncated``);
        warnings are process-global and not thread-safe to capture.
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
            audio, rate, note = _decode_wav(data, name, allow_truncated)
        else:
            audio, rate, note = _decode_checked(data, fmt, name, allow_truncated)
    except (AudioDecodeError, ImportError):
        raise
    except Exception as err:
        raise AudioDecodeError(f"{name}: cannot decode as {fmt.upper()} ({_brief(err)})") from err
    if audio.shape.rank != 2:
        raise AudioDecodeError(f"{name}: decoder returned shape {audio.shape}, expected (time, channels)")
    if sample_rate is not None and int(sample_rate) != rate:
        audio = resample_audio(audio, rate, int(sample_rate))
        rate = int(sample_rate)
    return audio, rate, note


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


def write_wav(path: str, audio: Any, sample_rate: int) -> str:
    """Writes float mono audio in [-1, 1] as a 16-bit WAV (the records' pcm16 rounding,
    :func:`tfaudio.data.schema.to_pcm16`), creating the folder; returns ``path``."""
    import wave

    from tfaudio.data.schema import to_pcm16

    pcm = to_pcm16(np.asarray(audio).reshape(-1)).astype("<i2")
    folder = os.path.dirname(str(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())
    return str(path)
