"""Optional decoding back ends: tensorflow-io's native ops and soundfile.

Both are optional (``pip install tfaudio[io]``) and imported lazily. tensorflow-io
ships native kernels built for one TensorFlow release (0.37 for TF 2.17); on any
other release its Python package imports but its ops raise ``NotImplementedError``
(or a load error) on first use. :func:`tfio_native` runs one tiny decode, once per
process, and remembers the answer, so callers can route to soundfile instead.

Tests (and users who distrust a build) can force the fallback path::

    from tfaudio.data import backends
    backends.USE_TFIO = False      # never use tensorflow-io
    backends.USE_TFIO = None       # auto-detect (default)
"""

from __future__ import annotations

import struct
from typing import Any

# None: auto-detect; False: never use tensorflow-io; True: require it.
USE_TFIO: bool | None = None

_TFIO_STATE: dict[str, Any] = {}


def _tiny_wav() -> bytes:
    pcm = struct.pack("<4h", 0, 1000, -1000, 0)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _probe_tfio() -> tuple[Any, str | None]:
    """(module or None, reason it is unusable or None)."""
    try:
        import tensorflow as tf
        import tensorflow_io as tfio
    except Exception as err:  # ImportError, or a broken install raising anything
        return None, f"tensorflow-io is not importable ({type(err).__name__}: {err})"
    try:
        out = tfio.audio.decode_wav(tf.constant(_tiny_wav()), dtype=tf.int16)
        if out.shape != (4, 1) or int(out[1, 0]) != 1000:
            return None, "tensorflow-io decoded a test WAV wrongly"
    except Exception as err:  # NotImplementedError, NotFoundError, ...
        msg = str(err).splitlines()[0][:200] if str(err) else ""
        return None, f"tensorflow-io native ops do not load ({type(err).__name__}: {msg})"
    return tfio, None


def tfio_native() -> Any:
    """tensorflow-io's module when its native audio ops work here, else ``None``.

    The probe runs once per process. ``USE_TFIO = False`` forces ``None``;
    ``USE_TFIO = True`` raises instead of returning ``None``.

    Returns:
        The ``tensorflow_io`` module or ``None``.
    """
    if USE_TFIO is False:
        return None
    if "module" not in _TFIO_STATE:
        _TFIO_STATE["module"], _TFIO_STATE["reason"] = _probe_tfio()
    if _TFIO_STATE["module"] is None and USE_TFIO is True:
        raise RuntimeError(f"USE_TFIO=True but {_TFIO_STATE['reason']}")
    return _TFIO_STATE["module"]


def tfio_reason() -> str | None:
    """Why tensorflow-io is not used (``None`` when it is)."""
    if USE_TFIO is False:
        return "disabled (tfaudio.data.backends.USE_TFIO = False)"
    tfio_native()
    return _TFIO_STATE.get("reason")


def soundfile_module(purpose: str) -> Any:
    """The ``soundfile`` module, or an ImportError saying what needed it.

    Args:
        purpose: what needs soundfile, for the message (e.g. ``"decode song.flac"``).

    Returns:
        The imported module.
    """
    try:
        import soundfile
    except Exception as err:  # ImportError or OSError (libsndfile missing)
        why = tfio_reason() or "tensorflow-io is not used"
        raise ImportError(
            f"{purpose} needs tensorflow-io's native ops or soundfile; {why}, and "
            f"soundfile is not importable ({type(err).__name__}: {err}). "
            "Install them with `pip install tfaudio[io]`."
        ) from err
    return soundfile


def describe() -> str:
    """One line naming the decoders in use, for logs and ``tfaudio inspect``."""
    tfio = tfio_native()
    if tfio is not None:
        return f"tensorflow-io {getattr(tfio, '__version__', '?')} native ops"
    try:
        import soundfile

        return (f"soundfile {soundfile.__version__} "
                f"(tensorflow-io not used: {tfio_reason()})")
    except Exception:
        return f"built-in WAV only (no soundfile; tensorflow-io not used: {tfio_reason()})"
