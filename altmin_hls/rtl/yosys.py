"""Synthesise generated RTL with Yosys and count DSP, LUT, flip-flop and block RAM cells.

Yosys runs ``synth_xilinx -family xcup`` (UltraScale+, the family of the default
``xcvu9p`` part). On a Yosys that does not know ``xcup`` it falls back to the default
family (7-series), and the result records which family was used.

The counts are Yosys's mapping, not Vivado's. NOTE: for the default reuse-factor-1 top,
Yosys 0.23 builds most of the adder trees from gates (before LUT mapping: about 44,000 AND
and 42,000 XOR gates next to 1352 CARRY4 cells), so its LUT count is likely well above
what Vivado would report.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from altmin_hls.errors import BuildError

log = logging.getLogger(__name__)

FAMILY = "xcup"
FALLBACK_FAMILY = "xc7"  # synth_xilinx's default
LOG_TAIL_LINES = 20


@dataclass
class SynthesisCounts:
    """Cell counts of one synthesised top, summed by kind."""

    top: str
    family: str
    dsp: int
    lut: int
    ff: int
    bram: int
    cells: dict[str, int]  # every cell type and its count
    seconds: float
    log_path: Path


def _kind(cell: str) -> str | None:
    """Return 'dsp', 'lut', 'ff' or 'bram' for a Xilinx primitive name, else None."""
    if cell.startswith("DSP48"):
        return "dsp"
    if re.fullmatch(r"LUT[1-6]", cell):
        return "lut"
    if re.fullmatch(r"FD[A-Z]*", cell):
        return "ff"
    if cell.startswith("RAMB"):  # RAMB18 and RAMB36 blocks alike count as one
        return "bram"
    return None


def family_supported(yosys: str, family: str = FAMILY) -> bool:
    """Return whether this Yosys's synth_xilinx lists ``family``."""
    result = subprocess.run(
        [yosys, "-Q", "-p", "help synth_xilinx"], capture_output=True, text=True, check=False
    )
    return re.search(rf"^\s*-\s*{re.escape(family)}:", result.stdout, re.MULTILINE) is not None


def synthesise(rtl_dir: Path, top: str, work_dir: Path, family: str | None = None) -> SynthesisCounts:
    """Run Yosys on the .v files of ``rtl_dir`` and return the cell counts of ``top``."""
    yosys = shutil.which("yosys")
    if yosys is None:
        raise BuildError("yosys not found; install it, e.g. apt-get install yosys")
    rtl_dir, work_dir = Path(rtl_dir), Path(work_dir)
    sources = sorted(rtl_dir.glob("*.v"))
    if not sources:
        raise BuildError(f"no .v files in {rtl_dir}; write the RTL first")
    if family is None:
        family = FAMILY if family_supported(yosys) else FALLBACK_FAMILY
        if family != FAMILY:
            log.warning("this Yosys does not know -family %s; using %s", FAMILY, family)
    work_dir.mkdir(parents=True, exist_ok=True)
    stat_path = work_dir / "stat.json"
    log_path = work_dir / "yosys.log"
    script = work_dir / "synth.ys"
    stat_path.unlink(missing_ok=True)
    # Yosys 0.23 takes quotes in a script's file names literally, so the script names
    # files relative to work_dir and rejects names with whitespace.
    names = [os.path.relpath(path.resolve(), work_dir.resolve()) for path in sources]
    spaced = [name for name in names if re.search(r"\s", name)]
    if spaced:
        raise BuildError(f"Yosys scripts cannot name files with whitespace: {spaced[0]}; move the RTL")
    script.write_text(
        f"read_verilog {' '.join(names)}\n"
        f"synth_xilinx -family {family} -top {top} -flatten\n"
        f"tee -q -o {stat_path.name} stat -json\n"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [yosys, "-q", "-l", log_path.name, script.name],
        cwd=work_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0 or not stat_path.is_file():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]) if log_path.is_file() else result.stderr
        raise BuildError(f"yosys failed on {rtl_dir} (exit code {result.returncode}); see {log_path}:\n{tail}")
    return _counts(stat_path, top, family, seconds, log_path)


def _counts(stat_path: Path, top: str, family: str, seconds: float, log_path: Path) -> SynthesisCounts:
    stat = json.loads(stat_path.read_text())
    cells: dict[str, int] = dict(stat["design"]["num_cells_by_type"])
    totals = {"dsp": 0, "lut": 0, "ff": 0, "bram": 0}
    for cell, count in cells.items():
        kind = _kind(cell)
        if kind is not None:
            totals[kind] += int(count)
    log.info("yosys %s (%s): %s in %.0f s", top, family, totals, seconds)
    return SynthesisCounts(top=top, family=family, cells=cells, seconds=seconds, log_path=log_path, **totals)
