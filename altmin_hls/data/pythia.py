"""Pythia 8 generator of ttbar + pile-up L1 track events (needs the `pythia8mc` package).

The hard scatter is ttbar at 14 TeV (`Top:gg2ttbar`, `Top:qqbar2ttbar`). Pile-up is
`SoftQCD:inelastic` (non-diffractive plus diffractive), which gives 0.91 charged particles
per interaction with pt > 2 GeV and |eta| < 2.4, where `SoftQCD:nonDiffractive` alone gives
1.18 (pythia8mc 8.317.2, 30,000 and 2,000 events). Particle decays use Pythia's defaults.

Pile-up is overlaid from a pool of minimum-bias interactions generated once by one Pythia
instance, as Delphes does. Each event draws Poisson(pileup) interactions from the pool with
replacement, and each drawn interaction gets its own vertex z. The pool is cached as an
.npz file keyed by pool seed, pool size and pythia8mc version.

Cost on one core of the development machine (pythia8mc 8.317.2, particle extraction
included): about 10 ms per ttbar event plus 1 s to initialise the ttbar instance, and
3.7 ms per minimum-bias interaction. Initialising minimum bias takes 5-13 s the first time
in a cache folder and 0.3 s afterwards (see `_minimum_bias_mpi_init`). The default pool of
5,000 interactions took 18 s to build. At 200 pile-up each event draws 200 of those
interactions, so events share pile-up interactions, each time at a new vertex.

Each track is a final-state charged particle. Its z0 comes from the interaction vertex plus
the particle's production point extrapolated along a straight line to its closest approach
to the beam line, which ignores curvature. Displaced tracks are kept. Nominal resolutions
and the L1 selection follow as for the parametric generator.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress

from altmin_hls.data.atomic import atomic_write
from altmin_hls.data.events import as_seed_sequence, assemble_events, draw_vertex_z
from altmin_hls.data.resolution import smear_track_parameters
from altmin_hls.data.tracks import TrackSet
from altmin_hls.errors import AltminError, DataFileError

logger = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 5000
"""Minimum-bias interactions in the pile-up pool (18 s to generate once, then cached)."""
DEFAULT_CACHE_DIR = Path("~/.cache/altmin-hls")
"""Folder of cached pile-up pools when no cache_dir is given."""

COMMON_SETTINGS = (
    "Beams:eCM = 14000.",
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Random:setSeed = on",
)
TTBAR_SETTINGS = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on")
MINIMUM_BIAS_SETTINGS = ("SoftQCD:inelastic = on",)

STORE_PT_MIN_GEV = 1.5
"""Particles below this pt are not kept. The margin below the 2 GeV cut lets resolution move
tracks across the cut in both directions (3 % at 2 GeV is 0.06 GeV)."""
STORE_ABS_ETA_MAX = 2.6
"""Particles beyond this |eta| are not kept (the cut is at 2.4)."""

_POOL_FORMAT = 1
_MPI_INIT_SEED = 1
_MAX_FAILED_EVENTS = 100
_MM_PER_CM = 10.0


def generate_pythia(
    n_events: int,
    seed: int | np.random.SeedSequence,
    pileup: float = 200.0,
    pool_size: int = DEFAULT_POOL_SIZE,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    *,
    pool_seed: int | None = None,
) -> TrackSet:
    """Generate n_events ttbar + pile-up events of L1 tracks with Pythia 8.

    The result is identical for identical arguments and pythia8mc version. `pool_seed`
    selects the pile-up pool; by default it is derived from `seed`. Pass one pool_seed to
    several calls to make them share a pool. `progress` shows rich progress bars.
    Raises ImportError when pythia8mc is missing.
    """
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    if pileup < 0.0:
        raise ValueError(f"pileup must be >= 0, got {pileup}")
    if pool_size < 1:
        raise ValueError(f"pool_size must be >= 1, got {pool_size}")
    if pool_seed is not None and pool_seed < 0:
        raise ValueError(f"pool_seed must be >= 0, got {pool_seed}")
    _import_pythia()
    ttbar_ss, pool_ss, vertex_ss, overlay_ss, resolution_ss, order_ss = as_seed_sequence(
        seed
    ).spawn(6)
    if pool_seed is None:
        pool_seed = int(pool_ss.generate_state(1)[0])

    pool = load_or_generate_pool(pool_size, pool_seed, cache_dir, progress)
    hard_counts, hard = _generate_interactions(
        TTBAR_SETTINGS, _pythia_seed(ttbar_ss), n_events, "ttbar events", progress
    )

    vertex_rng = np.random.default_rng(vertex_ss)
    z_true = draw_vertex_z(vertex_rng, n_events)
    n_pileup = vertex_rng.poisson(pileup, n_events)
    z_pileup = draw_vertex_z(vertex_rng, int(n_pileup.sum()))
    # Interactions drawn from the pool with replacement, in event order.
    drawn = np.random.default_rng(overlay_ss).integers(0, pool_size, int(n_pileup.sum()))
    drawn_counts = pool["counts"][drawn]
    pool_starts = np.cumsum(pool["counts"]) - pool["counts"]
    soft_rows = _expand_rows(pool_starts[drawn], drawn_counts)

    event = np.concatenate(
        [
            np.repeat(np.arange(n_events), hard_counts),
            np.repeat(np.repeat(np.arange(n_events), n_pileup), drawn_counts),
        ]
    )
    vertex_z = np.concatenate([np.repeat(z_true, hard_counts), np.repeat(z_pileup, drawn_counts)])
    eta, phi, pt, z_offset = (
        np.concatenate([hard[name], pool[name][soft_rows]])
        for name in ("eta", "phi", "pt", "z_offset")
    )
    label = np.concatenate([np.ones(len(hard["pt"]), np.int8), np.zeros(len(soft_rows), np.int8)])

    eta, phi, pt, z0 = smear_track_parameters(
        eta, phi, pt, vertex_z + z_offset, 1.0, np.random.default_rng(resolution_ss)
    )
    tracks = assemble_events(
        event, eta, phi, pt, z0, label, z_true, np.random.default_rng(order_ss)
    )
    logger.info("pythia: %d events, %d tracks", tracks.n_events, tracks.n_tracks)
    return tracks


def load_or_generate_pool(
    pool_size: int,
    pool_seed: int,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> dict[str, NDArray]:
    """Return the minimum-bias pool, loading it from the cache or generating and caching it.

    The pool contains `counts` (kept particles per interaction) and, per particle, `eta`,
    `phi`, `pt` and `z_offset` (cm, z0 relative to the interaction vertex). Raises
    DataFileError when the cache file exists but is unreadable or does not match.
    """
    path = pool_cache_path(pool_size, pool_seed, cache_dir)
    folder = path.parent
    version = importlib.metadata.version("pythia8mc")
    if path.exists():
        pool = _read_pool(path, pool_size, pool_seed)
        logger.info("loaded pile-up pool of %d interactions from %s", pool_size, path)
        return pool

    folder.mkdir(parents=True, exist_ok=True)
    mpi_init = _minimum_bias_mpi_init(folder, version, progress)
    logger.info("generating pile-up pool of %d interactions (seed %d)", pool_size, pool_seed)
    counts, columns = _generate_interactions(
        MINIMUM_BIAS_SETTINGS,
        _pythia_seed(np.random.SeedSequence(pool_seed)),
        pool_size,
        "pile-up pool",
        progress,
        mpi_init=(2, mpi_init),
    )
    pool = {"counts": counts, **columns}
    with atomic_write(path, binary=True) as handle:
        np.savez(handle, format=_POOL_FORMAT, pool_seed=pool_seed, pool_size=pool_size, **pool)
    logger.info("cached pile-up pool in %s", path)
    return pool


def pool_cache_path(
    pool_size: int, pool_seed: int, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return the cache file of a pile-up pool; raises ImportError without pythia8mc."""
    _import_pythia()
    version = importlib.metadata.version("pythia8mc")
    folder = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).expanduser()
    name = f"minbias_pool_v{_POOL_FORMAT}_pythia{version}_seed{pool_seed}_n{pool_size}.npz"
    return folder / name


def _read_pool(path: Path, pool_size: int, pool_seed: int) -> dict[str, NDArray]:
    """Load a cached pool and check that it is complete and matches the request."""
    fix = "Delete the file to generate the pool again."
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFileError(
            f"{path}: cannot read the pile-up pool cache ({error}). {fix}"
        ) from error

    required = ("format", "pool_seed", "pool_size", "counts", "eta", "phi", "pt", "z_offset")
    missing = [name for name in required if name not in stored]
    if missing:
        raise DataFileError(f"{path}: pile-up pool cache lacks arrays {missing}. {fix}")
    header = (int(stored["format"]), int(stored["pool_seed"]), int(stored["pool_size"]))
    if header != (_POOL_FORMAT, pool_seed, pool_size):
        raise DataFileError(
            f"{path}: pile-up pool cache contains (format, seed, size) = {header}, expected "
            f"{(_POOL_FORMAT, pool_seed, pool_size)}. {fix}"
        )
    counts = stored["counts"]
    n_particles = int(counts.sum())
    if len(counts) != pool_size or any(
        len(stored[name]) != n_particles for name in ("eta", "phi", "pt", "z_offset")
    ):
        raise DataFileError(f"{path}: pile-up pool cache has inconsistent array lengths. {fix}")
    return {name: stored[name] for name in ("counts", "eta", "phi", "pt", "z_offset")}


def _generate_interactions(
    settings: tuple[str, ...],
    pythia_seed: int,
    n: int,
    description: str,
    progress: bool,
    mpi_init: tuple[int, Path] | None = None,
) -> tuple[NDArray[np.int64], dict[str, NDArray[np.float64]]]:
    """Run Pythia for n events and return per-event particle counts and particle columns."""
    pythia = _make_pythia(settings, pythia_seed, mpi_init)
    counts = np.zeros(n, dtype=np.int64)
    parts: list[NDArray[np.float64]] = []
    failures = 0
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(description, total=n)
        for index in range(n):
            while not pythia.next():
                failures += 1
                if failures > _MAX_FAILED_EVENTS:
                    raise AltminError(
                        f"Pythia failed {failures} times while generating {description}; "
                        f"check the settings {settings}"
                    )
            particles = _charged_final_state(pythia.event)
            counts[index] = len(particles)
            parts.append(particles)
            bar.advance(task)
    if failures:
        logger.warning("Pythia: %d failed attempts while generating %s", failures, description)

    table = np.concatenate(parts) if parts else np.zeros((0, 6))
    return counts, _track_columns(table)


def _charged_final_state(event: Any) -> NDArray[np.float64]:
    """Return (px, py, pz, x, y, z) rows of the event's final-state charged particles."""
    rows = [
        (
            particle.px(),
            particle.py(),
            particle.pz(),
            particle.xProd(),
            particle.yProd(),
            particle.zProd(),
        )
        for particle in event
        if particle.isFinal() and particle.isCharged()
    ]
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    pt = np.hypot(table[:, 0], table[:, 1])
    eta = np.arcsinh(table[:, 2] / np.maximum(pt, 1e-12))
    return table[(pt > STORE_PT_MIN_GEV) & (np.abs(eta) < STORE_ABS_ETA_MAX)]


def _track_columns(table: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Convert (px, py, pz, x, y, z) rows in GeV and mm to eta, phi, pt, z_offset (cm)."""
    px, py, pz, x, y, z = table.T
    pt = np.hypot(px, py)
    # Straight line x(s) = x + s px: closest approach to the beam line at s = -(x px + y py)/pt^2.
    z_offset = (z - (x * px + y * py) / pt**2 * pz) / _MM_PER_CM
    return {
        "eta": np.arcsinh(pz / pt),
        "phi": np.arctan2(py, px),
        "pt": pt,
        "z_offset": z_offset,
    }


def _expand_rows(starts: NDArray[np.int64], counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return the concatenation of arange(start, start + count) for each pair."""
    total = int(counts.sum())
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return offsets + np.arange(total)


def _pythia_seed(seed_sequence: np.random.SeedSequence) -> int:
    """Derive a Pythia Random:seed in 1..900,000,000 (0 would mean a time-based seed)."""
    return int(seed_sequence.generate_state(1, dtype=np.uint64)[0] % 900_000_000) + 1


def _import_pythia() -> ModuleType:
    try:
        return importlib.import_module("pythia8mc")
    except ImportError as error:
        raise ImportError(
            "the Pythia generator needs the pythia8mc package; install it with "
            "pip install 'altmin-hls[pythia]'"
        ) from error


def _make_pythia(
    settings: tuple[str, ...], pythia_seed: int, mpi_init: tuple[int, Path] | None = None
) -> Any:
    """Create and initialise a quiet Pythia instance with the given settings and seed.

    `mpi_init` = (reuseInit mode, file) saves (1) or loads (2) the MPI initialisation.
    """
    pythia8mc = _import_pythia()
    pythia = pythia8mc.Pythia("", False)  # False: no banner
    for line in (*COMMON_SETTINGS, *settings, f"Random:seed = {pythia_seed}"):
        if not pythia.readString(line):
            raise AltminError(f"Pythia rejected the setting {line!r}")
    if mpi_init is not None:
        mode, path = mpi_init
        pythia.readString(f"MultipartonInteractions:reuseInit = {mode}")
        # settings.word keeps blanks in the path, which readString would cut off.
        pythia.settings.word("MultipartonInteractions:initFile", str(path))
    if not pythia.init():
        raise AltminError(f"Pythia failed to initialise with settings {settings}")
    return pythia


def _minimum_bias_mpi_init(folder: Path, version: str, progress: bool) -> Path:
    """Return the cached MPI initialisation file for minimum bias, creating it if missing.

    Initialising MPI for `SoftQCD:inelastic` took 5-13 s on the development machine, against 1 s for
    `SoftQCD:nonDiffractive`, while loading the saved tables takes 0.3 s. Loading them changes
    the random-number sequence compared with a fresh initialisation, so every pool run
    loads the file, and the file always comes from one init-only run with a fixed seed.
    A pool therefore depends only on the pythia8mc version and the pool seed.
    """
    path = folder / f"mpi_init_inelastic_pythia{version}.dat"
    if path.exists():
        return path
    logger.info("initialising Pythia MPI for minimum bias once (5-13 s), saving %s", path)
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        with Progress(disable=not progress, transient=True) as bar:
            bar.add_task("Pythia MPI initialisation", total=None)
            _make_pythia(MINIMUM_BIAS_SETTINGS, _MPI_INIT_SEED, (1, temporary))
        if not temporary.exists():
            raise AltminError(f"Pythia did not write its MPI initialisation to {temporary}")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
