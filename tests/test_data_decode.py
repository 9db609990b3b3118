"""tfaudio.data.decode_audio: every route (tf.audio, tensorflow-io, numpy, soundfile) agrees."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from tfaudio.data import AudioDecodeError, backends, decode_audio
from tfaudio.data.decode import TruncatedAudioWarning, _mp3_promise, sniff_format
from tfaudio.ops.resample import resample

RNG = np.random.default_rng(7)


def _signal(n: int, channels: int) -> np.ndarray:
    t = np.arange(n) / 16000.0
    x = np.stack([0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], 1)
    return (x + 0.05 * RNG.standard_normal(x.shape)).astype(np.float32)


def _encode(x: np.ndarray, sr: int, fmt: str, subtype: str | None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


# (id, sample rate, channels, soundfile format, subtype, exact)
CASES = [
    ("wav16-mono-16k", 16000, 1, "WAV", "PCM_16", True),
    ("wav16-stereo-44k", 44100, 2, "WAV", "PCM_16", True),
    ("wav24-stereo-44k", 44100, 2, "WAV", "PCM_24", True),
    ("wav24-mono-22k", 22050, 1, "WAV", "PCM_24", True),
    ("wav32-mono", 16000, 1, "WAV", "PCM_32", True),
    ("wav8-mono", 8000, 1, "WAV", "PCM_U8", True),
    ("wavfloat-stereo-22k", 22050, 2, "WAV", "FLOAT", True),
    ("wavdouble-mono", 16000, 1, "WAV", "DOUBLE", True),
    ("flac16-stereo-44k", 44100, 2, "FLAC", "PCM_16", True),
    ("flac24-mono-22k", 22050, 1, "FLAC", "PCM_24", True),
    ("ogg-stereo-44k", 44100, 2, "OGG", "VORBIS", False),
    ("mp3-mono-22k", 22050, 1, "MP3", "MPEG_LAYER_III", False),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def encoded(request, tmp_path):
    name, sr, ch, fmt, subtype, exact = request.param
    try:
        data = _encode(_signal(sr // 4, ch), sr, fmt, subtype)
    except Exception as err:  # libsndfile built without this codec
        pytest.skip(f"soundfile cannot write {fmt}/{subtype}: {err}")
    path = tmp_path / f"{name}.{fmt.lower()}"
    path.write_bytes(data)
    return path, data, sr, ch, exact


def _reference(data: bytes) -> np.ndarray:
    return sf.read(io.BytesIO(data), dtype="float32", always_2d=True)[0]


def test_matches_soundfile_with_tfio_and_fallback(encoded, monkeypatch):
    path, data, sr, ch, exact = encoded
    ref = _reference(data)
    results = {}
    for use in (None, False):  # auto (tensorflow-io when its ops load), forced fallback
        monkeypatch.setattr(backends, "USE_TFIO", use)
        audio, rate = decode_audio(str(path))
        assert rate == sr
        assert audio.dtype == tf.float32 and audio.shape[1] == ch
        results[use] = audio.numpy()
    for got in results.values():
        if exact:
            np.testing.assert_array_equal(got, ref)
        else:  # lossy codecs: decoders may differ in the last bits and in padding
            n = min(len(got), len(ref))
            assert abs(len(got) - len(ref)) <= 2048
            np.testing.assert_allclose(got[:n], ref[:n], atol=2e-3)
    if exact:
        np.testing.assert_array_equal(results[None], results[False])


def test_bytes_and_path_agree(encoded):
    path, data, sr, _, _ = encoded
    a, ra = decode_audio(str(path))
    b, rb = decode_audio(data)
    c, rc = decode_audio(tf.constant(data))
    assert ra == rb == rc == sr
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), c.numpy())


def test_int16_wav_is_exact(tmp_path):
    pcm = RNG.integers(-32768, 32767, (1000, 2), dtype=np.int16)
    data = tf.audio.encode_wav(tf.constant(pcm / 32768.0, tf.float32), 16000).numpy()
    audio, sr = decode_audio(data)
    assert sr == 16000
    np.testing.assert_array_equal(np.rint(audio.numpy() * 32768).astype(np.int16), pcm)


def test_tfio_probe_reports_state(monkeypatch):
    monkeypatch.setattr(backends, "USE_TFIO", False)
    assert backends.tfio_native() is None
    assert "disabled" in backends.tfio_reason()
    assert "soundfile" in backends.describe() or "WAV" in backends.describe()


def test_zero_length_wav(tmp_path):
    data = _encode(np.zeros((0, 2), np.float32), 16000, "WAV", "PCM_16")
    audio, sr = decode_audio(data)
    assert audio.shape == (0, 2) and sr == 16000
    data24 = _encode(np.zeros((0, 1), np.float32), 16000, "WAV", "PCM_24")
    assert decode_audio(data24)[0].shape == (0, 1)


def test_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match=r"empty\.wav: empty file"):
        decode_audio(str(empty))
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    with pytest.raises(AudioDecodeError, match=r"notes\.wav: not a recognised audio file"):
        decode_audio(str(text))
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        decode_audio(str(tmp_path / "missing.wav"))
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC" + b"\x00" * 10)
    with pytest.raises(AudioDecodeError, match=r"broken\.flac"):
        decode_audio(str(broken))
    with pytest.raises(ValueError, match="format='aiff' is not supported"):
        decode_audio(str(broken), format="aiff")
    with pytest.raises(TypeError, match="source must be bytes"):
        decode_audio(12)


def test_truncated_wav_raises_or_keeps_with_a_warning(tmp_path):
    data = _encode(_signal(1000, 1), 16000, "WAV", "PCM_24")
    path = tmp_path / "cut.wav"
    path.write_bytes(data[:-30])  # the header still claims 1000 frames
    with pytest.raises(AudioDecodeError, match=r"cut\.wav: truncated WAV: the header promises "
                       r"1000 samples per channel \(3000 bytes of data\) but the file holds "
                       r"990 \(2970 bytes\)"):
        decode_audio(str(path))
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.wav: truncated WAV.*1000.*990"):
        audio, _ = decode_audio(str(path), allow_truncated=True)
    full, _ = decode_audio(data)
    np.testing.assert_array_equal(audio.numpy(), full.numpy()[:990])  # what is there
    with pytest.raises(AudioDecodeError, match="nothing to keep"):
        decode_audio(data[:data.find(b"data") + 8], allow_truncated=True)


def test_streamed_wav_size_is_not_truncation():
    # Streaming writers put 0xFFFFFFFF in the data size: "until the end of the file".
    pcm = RNG.integers(-32768, 32767, (500, 2), dtype=np.int16)
    data = bytearray(_encode(pcm / 32768.0, 16000, "WAV", "PCM_16"))
    at = data.find(b"data")
    data[at + 4:at + 8] = b"\xff\xff\xff\xff"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio, _ = decode_audio(bytes(data))
    np.testing.assert_array_equal(np.rint(audio.numpy() * 32768).astype(np.int16), pcm)


# format, subtype, cuts as fractions of the file (past the headers)
TRUNCATED = [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")]


@pytest.mark.parametrize("fmt,subtype", TRUNCATED, ids=[t[0].lower() for t in TRUNCATED])
def test_truncated_compressed_named_with_counts(tmp_path, monkeypatch, fmt, subtype):
    x = (0.3 * RNG.standard_normal((32000, 1))).astype(np.float32)  # noise: many pages
    try:
        data = _encode(x, 16000, fmt, subtype)
    except Exception as err:
        pytest.skip(f"soundfile cannot write {fmt}: {err}")
    full = _reference(data)
    assert len(full) == 32000
    for use in (None, False):  # tensorflow-io when its ops load, forced soundfile
        monkeypatch.setattr(backends, "USE_TFIO", use)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a complete file: no warning, every sample
            assert decode_audio(data)[0].shape[0] == 32000
        for frac in (0.7, 0.9):
            path = tmp_path / f"cut{frac}.{fmt.lower()}"
            path.write_bytes(data[:int(len(data) * frac)])
            with pytest.raises(AudioDecodeError) as info:
                decode_audio(str(path))
            msg = str(info.value)
            assert msg.startswith(f"{path}: truncated {fmt}: ") and "allow_truncated" in msg
            if fmt == "OGG":  # no total in the header: the missing end is named instead
                assert "cut off" in msg or "end-of-stream page" in msg
            else:
                assert "the header promises 32000 samples per channel but" in msg
            with pytest.warns(TruncatedAudioWarning, match=f"{path.name}: truncated"):
                audio, _ = decode_audio(str(path), allow_truncated=True)
            n = audio.shape[0]
            assert 0 < n < 32000 and f" {n} " in msg  # both counts: promised, decoded
            if fmt == "FLAC":  # lossless: the samples kept are the file's
                np.testing.assert_array_equal(audio.numpy(), full[:n])


def test_sniff_format():
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff_format(b"fLaC\x00\x00\x00\x22") == "flac"
    assert sniff_format(b"OggS\x00\x02") == "ogg"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert sniff_format(b"hello world!") is None


def test_resample_on_decode():
    x = _signal(44100 // 2, 2)
    data = _encode(x, 44100, "WAV", "PCM_24")
    audio, sr = decode_audio(data, sample_rate=16000)
    assert sr == 16000 and audio.shape == (8000, 2)
    full, _ = decode_audio(data)
    want = resample(tf.transpose(full), 44100, 16000).numpy().T
    np.testing.assert_allclose(audio.numpy(), want, atol=1e-6)


def test_mp3_length_from_the_xing_frame():
    # The promise is exact with LAME's gapless tag: complete files are never "truncated".
    for sr in (8000, 22050, 44100):
        for ch in (1, 2):
            x = (0.3 * RNG.standard_normal((int(sr * 0.7), ch))).astype(np.float32)
            try:
                data = _encode(x, sr, "MP3", "MPEG_LAYER_III")
            except Exception as err:
                pytest.skip(f"soundfile cannot write MP3: {err}")
            assert _mp3_promise(data) == (len(x), 0)
            assert len(_reference(data)) == len(x)
    assert _mp3_promise(b"\xff\xfb\x90\x00" + bytes(400)) is None  # no Xing frame
