"""TFRecord audio datasets: decoding, raw-audio records, AudioSet embeddings, synthetic data.

Public API::

    decode_audio(path_or_bytes, format=None, sample_rate=None) -> (audio (time, ch), sr)
    audio_dataset(dir_or_pattern, split="train", ...)  -> tf.data.Dataset of (audio, label)
    write_dataset(clips, out_dir, sample_rate=..., ...) / DatasetWriter / Clip
    make_tfrecords(src_dir, out_dir, ...)               -> the make-tfrecords command
    audioset_dataset(pattern, num_classes=527)          -> (embeddings, mask), labels
    write_audioset_records(path, records) / read_audioset_records(pattern)
    synth_dataset(out_dir, ...)                          -> built-in synthetic classes

tensorflow-io and soundfile are optional (``pip install tfaudio[io]``); see
:mod:`tfaudio.data.backends`. The schema is documented in ``docs/tfrecord.md``.
"""

from tfaudio.data.audioset import (
    audioset_dataset,
    read_audioset_records,
    write_audioset_records,
)
from tfaudio.data.decode import AudioDecodeError, decode_audio, resample_audio
from tfaudio.data.manifest import read_manifest
from tfaudio.data.reader import CorruptionReport, CorruptRecordError, audio_dataset
from tfaudio.data.schema import SCHEMA_VERSION, make_example, parse_example_numpy
from tfaudio.data.sources import BadFilesError, make_tfrecords
from tfaudio.data.synth import CLASSES as SYNTH_CLASSES
from tfaudio.data.synth import synth_clip, synth_dataset
from tfaudio.data.writer import Clip, DatasetWriter, write_dataset

__all__ = [
    "SCHEMA_VERSION",
    "SYNTH_CLASSES",
    "AudioDecodeError",
    "BadFilesError",
    "Clip",
    "CorruptRecordError",
    "CorruptionReport",
    "DatasetWriter",
    "audio_dataset",
    "audioset_dataset",
    "decode_audio",
    "make_example",
    "make_tfrecords",
    "parse_example_numpy",
    "read_audioset_records",
    "read_manifest",
    "resample_audio",
    "synth_clip",
    "synth_dataset",
    "write_audioset_records",
    "write_dataset",
]
