"""``tfaudio show``: a PNG of an audio file's waveform above its log-mel spectrogram."""

from __future__ import annotations

import argparse
import os


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="write a PNG of the waveform above the log-mel spectrogram "
                                     "(frequency axis in Hz on the mel scale)")
    p.add_argument("audio", help="audio file (WAV; FLAC/OGG/MP3 with tfaudio[io])")
    p.add_argument("--out", default=None, help="PNG path (default: <audio>.png)")
    p.add_argument("--n-fft", type=int, default=2048)
    p.add_argument("--hop-length", type=int, default=512)
    p.add_argument("--n-mels", type=int, default=128)
    p.add_argument("--f-min", type=float, default=0.0, help="lowest mel edge in Hz (default 0)")
    p.add_argument("--f-max", type=float, default=None,
                   help="highest mel edge in Hz (default: sample rate / 2)")
    p.add_argument("--top-db", type=float, default=80.0)
    p.set_defaults(func=run)


def read_audio(path: str):
    """(float32 (time, channels), sample_rate), through tfaudio.data when available."""
    try:
        from tfaudio.data import decode_audio
    except ImportError:
        decode_audio = None
    if decode_audio is not None:
        audio, sr = decode_audio(path)
        return audio.numpy() if hasattr(audio, "numpy") else audio, int(sr)
    import soundfile

    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return audio, sr


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from tfaudio import layers
    from tfaudio.plot import save_waveform_and_mel

    if not os.path.exists(args.audio):
        raise SystemExit(f"tfaudio show: no such file: {args.audio}")
    audio, sr = read_audio(args.audio)
    mono = np.asarray(audio, np.float32).mean(axis=-1)
    mel = layers.MelSpectrogram(sr, n_fft=args.n_fft, hop_length=args.hop_length,
                                n_mels=args.n_mels, f_min=args.f_min, f_max=args.f_max)(mono[None])
    db = np.asarray(layers.PowerToDb(ref="max", top_db=args.top_db)(mel))[0]
    out = args.out or os.path.splitext(args.audio)[0] + ".png"
    save_waveform_and_mel(out, mono, sr, db, args.hop_length, f_min=args.f_min, f_max=args.f_max,
                          title=os.path.basename(args.audio), colorbar_label="dB re max")
    print(f"wrote {out}: waveform above log-mel ({db.shape[0]} frames x {db.shape[1]} mel bands, "
          f"{sr} Hz)")
    return 0
