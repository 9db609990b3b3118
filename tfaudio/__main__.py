"""``python -m tfaudio ...``: the ``tfaudio`` command, for environments without the script
on PATH (``pip install --user``, venvs that are not activated, ``subprocess`` calls)."""

import sys

from tfaudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
