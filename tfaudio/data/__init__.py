"""TFRecord audio datasets: decoding, raw-audio records, AudioSet embeddings, synthetic data.

Public API::

    decode_audio(path_or_bytes, format=None, sample_rate=None) -> (audio (time, ch), sr)
    audio_dataset(dir_or_pattern, split="train", ...)  -> tf.data.Dataset of (audio, label)
    write_dataset(clips, out_dir, sample_rate=..., ...) / DatasetWriter / Clip
    audioset_dataset(pattern, num_classes=527)          -> (embeddings, mask), labels
    write_audioset_records(path, records)
    synth_dataset(out_dir, ...)                          -> built-in synthetic classes

tensorflow-io and soundfile are optional (``pip install tfaudio[io]``); see
:mod:`tfaudio.data.backends`. The schema is documented in ``docs/tfrecord.md``.
"""

from tfaudio.data.decode import AudioDecodeError, decode_audio, resample_audio
from tfaudio.data.manifest import read_manifest
from tfaudio.data.reader import CorruptionReport, CorruptRecordError, audio_dataset
from tfaudio.data.schema import SCHEMA_VERSION, make_example, parse_example_numpy
from tfaudio.data.writer import Clip, DatasetWriter, write_dataset

__all__ = [
    "SCHEMA_VERSION",
    "AudioDecodeError",
    "Clip",
    "CorruptRecordError",
    "CorruptionReport",
    "DatasetWriter",
    "audio_dataset",
    "decode_audio",
    "make_example",
    "parse_example_numpy",
    "read_manifest",
    "resample_audio",
    "write_dataset",
]
