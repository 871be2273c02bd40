"""Locate the Vitis HLS ``ap_types`` headers (``ap_fixed.h`` and friends) shipped with hls4ml."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from altmin_hls.errors import BuildError

_REQUIRED_VERSION = "hls4ml==1.3.0"
# Folder of the headers inside the hls4ml package, as laid out by hls4ml 1.3.0.
_RELATIVE_DIR = Path("templates") / "vivado" / "ap_types"


def ap_types_include_dir() -> Path:
    """Find the folder to pass to ``g++ -I`` so that ``#include <ap_fixed.h>`` works.

    Looks the package up without importing it. Raises BuildError if hls4ml is not installed or
    its copy has no ``ap_fixed.h``.
    """
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(
            "the ap_types headers (ap_fixed.h) were not found because hls4ml is not installed: "
            f"run `pip install {_REQUIRED_VERSION}`"
        )
    for package_dir in spec.submodule_search_locations:
        include_dir = Path(package_dir) / _RELATIVE_DIR
        if (include_dir / "ap_fixed.h").is_file():
            return include_dir
    searched = ", ".join(str(Path(p) / _RELATIVE_DIR) for p in spec.submodule_search_locations)
    raise BuildError(
        f"ap_fixed.h not found in {searched}: the installed hls4ml does not ship the ap_types "
        f"headers there, run `pip install {_REQUIRED_VERSION}`"
    )
