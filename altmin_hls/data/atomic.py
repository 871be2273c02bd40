"""Atomic file replacement, so that readers never see a partly written file."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: str | os.PathLike[str], binary: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file next to path, and rename it to path when the block succeeds.

    Creates the parent folder if needed. The temporary file is created with the default
    permissions of the process (umask applies), and it is removed if the block raises.
    Text mode writes UTF-8 with LF line endings.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    mode = "xb" if binary else "x"
    encoding = None if binary else "utf-8"
    newline = None if binary else "\n"
    try:
        with open(temporary, mode, encoding=encoding, newline=newline) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
