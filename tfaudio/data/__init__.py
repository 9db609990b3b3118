"""TFRecord audio datasets: decoding, raw-audio records, AudioSet embeddings, synthetic data.

Public API::

    decode_audio(path_or_bytes, format=None, sample_rate=None, *, allow_truncated=False)
                                                        -> (audio (time, ch), sr)
    audio_dataset(dir_or_pattern, split="train", ...)  -> tf.data.Dataset of (audio, label)
    audio_dataset(..., targets="f0", f0_hop_seconds=0.01) -> (audio, f0 (batch, frames))
    write_dataset(clips, out_dir, sample_rate=..., ...) / DatasetWriter / Clip
    make_tfrecords(src_dir, out_dir, ...)               -> the make-tfrecords command
    audioset_dataset(pattern, num_classes=527)          -> (embeddings, mask), labels
    write_audioset_records(path, records) / read_audioset_records(pattern)
    synth_dataset(out_dir, ...)                          -> built-in synthetic classes
    synth_speakers(out_dir, ...)                         -> synthetic speakers + trials.txt
    synth_utterances(speakers, utterances, ...)          -> (audio, f0) of synthetic voices
    mixture_dataset(dir, split, num_sources=2, ...)      -> (mixture, sources) made on the fly
    mixture_set(dir, split, ...)                         -> a fixed evaluation set of mixtures

tensorflow-io and soundfile are optional (``pip install tfaudio[io]``); see
:mod:`tfaudio.data.backends`. The schema is documented in ``docs/tfrecord.md``.
"""

import importlib
from typing import Any

# Public name -> submodule. Imported on first use, so that `import tfaudio.data` (and
# the CLI's --help, which lists the synthetic classes) does not import TensorFlow.
_EXPORTS = {
    "audioset_dataset": "audioset",
    "read_audioset_records": "audioset",
    "write_audioset_records": "audioset",
    "AudioDecodeError": "decode",
    "TruncatedAudioWarning": "decode",
    "decode_audio": "decode",
    "resample_audio": "decode",
    "write_wav": "decode",
    "read_manifest": "manifest",
    "mix_sources": "mixtures",
    "mixture_dataset": "mixtures",
    "mixture_set": "mixtures",
    "CorruptionReport": "reader",
    "CorruptRecordError": "reader",
    "audio_dataset": "reader",
    "auto_cache_limit": "reader",
    "f0_num_frames": "reader",
    "SCHEMA_VERSION": "schema",
    "make_example": "schema",
    "parse_example_numpy": "schema",
    "BadFilesError": "sources",
    "make_tfrecords": "sources",
    "synth_clip": "synth",
    "synth_dataset": "synth",
    "read_trials": "speakers",
    "speaker_trials": "speakers",
    "speaker_voice": "speakers",
    "synth_speakers": "speakers",
    "synth_utterances": "speakers",
    "Clip": "writer",
    "DatasetWriter": "writer",
    "write_dataset": "writer",
}

__all__ = sorted([*_EXPORTS, "SYNTH_CLASSES"])


def __getattr__(name: str) -> Any:
    if name == "SYNTH_CLASSES":
        return importlib.import_module("tfaudio.data.synth").CLASSES
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"tfaudio.data.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tfaudio.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
