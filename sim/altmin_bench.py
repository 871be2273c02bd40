"""cocotb bench of the inference top: smeared tracks in, raw scores out, checked bit for bit.

The bench drives the track stream with cocotbext-axi's ``AxiStreamSource``, collects the
score stream with ``AxiStreamSink``, and compares every raw score, end-of-event bit,
weight-step bit and TLAST with the emulator's inference scores for the same tracks. It
uses only the Vitis HLS port names (``ap_clk``, ``ap_rst_n``, ``tracks_*``, ``scores_*``),
so it runs unchanged on the RTL that ``altmin_hls.rtl.writer`` generates and on RTL
exported by Vitis HLS. Optional Vitis ports are driven when present: ``ap_start`` high,
``mode`` to MODE_INFER, ``tracks_TKEEP`` and ``tracks_TSTRB`` all ones.

Run it through ``altmin_hls.rtl.cosim``, which writes the JSON spec that the environment
variable ``ALTMIN_BENCH_SPEC`` names (keys in :class:`BenchSpec`). The bench writes its
measurements and verdict to the spec's ``report`` file.

The run has two phases. The first streams at least ``measure_tracks`` tracks with no idle
cycles and no back-pressure and measures latency and initiation interval. The second
streams the rest with random idle cycles on the source and random back-pressure on the
sink. A watchdog fails the run when no score word arrives for ``timeout_cycles`` cycles
while scores are outstanding, so a stalled sink or a dead DUT ends with a message instead
of a hang.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, FallingEdge, First, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from altmin_hls.config import load_config
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.hls import streams as stream_files
from altmin_hls.hls.tbdata import emulate_streams
from altmin_hls.rtl.cosim import SPEC_VARIABLE
from altmin_hls.rtl.layout import WordLayout, word_layout

MODE_INFER = 0
RESET_CYCLES = 8


@dataclass
class BenchSpec:
    """Settings of one bench run, written as JSON by altmin_hls.rtl.cosim."""

    project: str  # HLS project folder with config.yaml and tb_data/
    streams: list[str]  # stream files in tb_data/, in streaming order
    report: str  # where the bench writes its JSON report
    max_tracks: int | None = None  # stream only the first tracks; the last one gets TLAST
    seed: int = 1
    idle_probability: float = 0.2  # chance that the source inserts an idle cycle
    stall_probability: float = 0.3  # chance that the sink keeps scores_TREADY low in a cycle
    measure_tracks: int = 64  # tracks of the first phase, streamed without pauses; 0 skips it
    timeout_cycles: int = 2000  # cycles without a score word before the run fails
    clock_period_ns: float = 4.0
    expected_scores: str | None = None  # a scores file to compare with instead of the emulator

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BenchSpec":
        return cls(**json.loads(Path(path).read_text()))


@dataclass
class Track:
    """One track as the bench sends it and the score word it expects back."""

    word: int
    event_end: bool
    last: bool
    expected_score: int
    stream: str
    index: int  # position in its stream file (0-based, comment lines not counted)


@dataclass
class BenchReport:
    """Verdict and measurements of one run, written to the spec's report file."""

    passed: bool = False
    message: str = ""
    tracks: int = 0
    scores_checked: int = 0
    latency_cycles: int | None = None
    initiation_interval: float | None = None
    tracks_per_cycle: float | None = None
    cycles: int = 0
    overall_tracks_per_cycle: float | None = None
    wall_seconds: float = 0.0


class BenchFailure(AssertionError):
    """The DUT's output differs from the reference, or the DUT stopped making progress."""


def _is_one(handle) -> bool:
    value = handle.value
    return value.is_resolvable and int(value) == 1


def _random_pauses(rng: random.Random, probability: float):
    while True:
        yield rng.random() < probability


class ReferenceModel:
    """Tracks of the spec's stream files and the emulator's inference scores for them."""

    def __init__(self, spec: BenchSpec, layout: WordLayout) -> None:
        self.log = logging.getLogger("cocotb.tb.reference")
        project = Path(spec.project)
        config = load_config(project / "config.yaml")
        tb_data = project / "tb_data"
        streams = [stream_files.read_stream(tb_data / name, config.precision.input) for name in spec.streams]
        initial = FixedParameters.from_vector(
            stream_files.read_parameters(tb_data / "initial_parameters.txt", config.n_parameters),
            config.sizes,
        )
        scores = emulate_streams(config, initial, streams, learn=False).scores
        self.score_type = config.precision.score
        self.tracks: list[Track] = []
        for name, stream, stream_scores in zip(spec.streams, streams, scores):
            events = stream.event
            for i in range(len(stream)):
                event_end = i + 1 == len(stream) or events[i + 1] != events[i]
                word = layout.pack_track(stream.features[i], int(stream.label[i]), event_end)
                self.tracks.append(Track(word, event_end, event_end, int(stream_scores[i]), name, i))
        if spec.max_tracks is not None and spec.max_tracks < len(self.tracks):
            del self.tracks[spec.max_tracks :]
            self.tracks[-1].last = True
        if spec.expected_scores is not None:
            self._override_scores(Path(spec.expected_scores))
        self.log.info("reference: %d tracks from %d stream files", len(self.tracks), len(spec.streams))

    def _override_scores(self, path: Path) -> None:
        table = stream_files.read_scores(path)
        if len(table) < len(self.tracks):
            raise ValueError(f"{path}: {len(table)} expected scores for {len(self.tracks)} tracks")
        for track, score in zip(self.tracks, table[:, 2].tolist()):
            track.expected_score = int(score)
        self.log.info("expected scores taken from %s instead of the emulator", path)

    def frames(self) -> list[list[int]]:
        """Return the track indices of each packet; a packet ends where TLAST is set."""
        frames, current = [], []
        for k, track in enumerate(self.tracks):
            current.append(k)
            if track.last:
                frames.append(current)
                current = []
        if current:
            frames.append(current)
        return frames


class TB:
    """Driver, monitor, reference model and checker around one DUT."""

    def __init__(self, dut, spec: BenchSpec) -> None:
        self.dut = dut
        self.spec = spec
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        project = Path(spec.project)
        self.layout = word_layout(load_config(project / "config.yaml"))
        self.reference = ReferenceModel(spec, self.layout)
        self.rng = random.Random(spec.seed)
        self.report = BenchReport(tracks=len(self.reference.tracks))

        self._check_ports()
        # Without TKEEP the whole word is one lane; with it (Vitis), cocotbext-axi uses bytes.
        lanes = {} if hasattr(dut, "tracks_TKEEP") else {"byte_lanes": 1}
        self.source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "tracks"), dut.ap_clk, dut.ap_rst_n,
            reset_active_level=False, **lanes,
        )
        lanes = {} if hasattr(dut, "scores_TKEEP") else {"byte_lanes": 1}
        self.sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "scores"), dut.ap_clk, dut.ap_rst_n,
            reset_active_level=False, **lanes,
        )
        for stream in (self.source, self.sink):
            stream.log.setLevel(logging.WARNING)

        self.cycle = 0
        self.in_cycles: list[int] = []
        self.out_cycles: list[int] = []
        self.queued = 0  # tracks handed to the source so far
        self.checked = 0  # score words compared so far
        self.last_progress = 0  # last cycle with a score word, or with nothing outstanding
        self.failed = Event()
        self.failure = ""
        self.progress_step = max(1, len(self.reference.tracks) // 10)

    def _check_ports(self) -> None:
        required = ["ap_clk", "ap_rst_n"] + [
            f"{bus}_{signal}" for bus in ("tracks", "scores") for signal in ("TDATA", "TVALID", "TREADY", "TLAST")
        ]
        missing = [name for name in required if not hasattr(self.dut, name)]
        if missing:
            raise BenchFailure(
                f"missing DUT ports {', '.join(missing)}; the bench expects the Vitis HLS names of an "
                "axis-in, axis-out top"
            )
        widths = {"tracks_TDATA": self.layout.track_word_bits, "scores_TDATA": self.layout.score_word_bits}
        for name, bits in widths.items():
            if len(getattr(self.dut, name)) != bits:
                raise BenchFailure(
                    f"{name} has {len(getattr(self.dut, name))} bits, but the project's word layout has {bits}"
                )

    def fail(self, message: str) -> None:
        """Record the first failure and wake the main coroutine, which raises it."""
        if not self.failure:
            self.failure = message
            self.log.error("%s", message)
            self.failed.set()

    # ---- setup -------------------------------------------------------------------------

    async def reset(self) -> None:
        dut = self.dut
        if hasattr(dut, "ap_start"):
            dut.ap_start.value = 1
        if hasattr(dut, "mode"):
            dut.mode.value = MODE_INFER
        if hasattr(dut, "tracks_TSTRB"):
            dut.tracks_TSTRB.value = (1 << len(dut.tracks_TSTRB)) - 1
        dut.ap_rst_n.value = 0
        await ClockCycles(dut.ap_clk, RESET_CYCLES)
        dut.ap_rst_n.value = 1
        await RisingEdge(dut.ap_clk)

    def start_monitors(self) -> None:
        cocotb.start_soon(self._count_handshakes())
        cocotb.start_soon(self._check_unknown_bits())
        cocotb.start_soon(self._check_scores())

    # ---- driver ------------------------------------------------------------------------

    def _pieces(self, word: int) -> list[int]:
        """Split a word into the source's lanes (one lane when the bus has no TKEEP)."""
        source = self.source
        if source.byte_lanes == 1:
            return [word]
        return [(word >> (source.byte_size * k)) & source.byte_mask for k in range(source.byte_lanes)]

    def send(self, frames: list[list[int]]) -> None:
        tracks = self.reference.tracks
        for frame in frames:
            pieces = []
            for k in frame:
                pieces += self._pieces(tracks[k].word)
            self.source.send_nowait(AxiStreamFrame(pieces))
            self.queued += len(frame)
        self.last_progress = self.cycle

    # ---- monitors and checker ----------------------------------------------------------

    async def _count_handshakes(self) -> None:
        """Record the cycle of every handshake on both streams and run the watchdog."""
        dut = self.dut
        edge = RisingEdge(dut.ap_clk)
        timeout = self.spec.timeout_cycles
        while True:
            await edge
            self.cycle += 1
            if _is_one(dut.tracks_TVALID) and _is_one(dut.tracks_TREADY):
                self.in_cycles.append(self.cycle)
            if _is_one(dut.scores_TVALID) and _is_one(dut.scores_TREADY):
                self.out_cycles.append(self.cycle)
                self.last_progress = self.cycle
            if self.queued == self.checked:
                self.last_progress = self.cycle
            elif self.cycle - self.last_progress > timeout:
                self.fail(self._timeout_message(timeout))
                return

    def _timeout_message(self, timeout: int) -> str:
        dut = self.dut
        received, total = len(self.out_cycles), len(self.reference.tracks)
        state = (
            f"scores_TVALID={dut.scores_TVALID.value}, scores_TREADY={dut.scores_TREADY.value}, "
            f"{len(self.in_cycles)} / {total} tracks accepted, tracks_TREADY={dut.tracks_TREADY.value}"
        )
        if received >= self.queued:
            cause = (
                f"all {received} score words arrived but the last packet never ended: the DUT did "
                "not pass TLAST through"
            )
        elif _is_one(dut.scores_TVALID) and not _is_one(dut.scores_TREADY):
            cause = "the sink is stalled: it has held scores_TREADY low while a score word waits"
        else:
            cause = "the DUT produced no score word: it may be dead, held in reset, or have lost tracks"
        return f"timed out after {timeout} cycles without a score word at {received} / {total} scores; {cause} ({state})"

    async def _check_unknown_bits(self) -> None:
        """Fail on X or Z in the score word while scores_TVALID is high (sampled mid-cycle)."""
        dut = self.dut
        edge = FallingEdge(dut.ap_clk)
        while True:
            await edge
            valid = dut.scores_TVALID.value
            if not valid.is_resolvable:
                self.fail(f"scores_TVALID is {valid} at cycle {self.cycle}; it must be 0 or 1 after reset")
                return
            if int(valid) != 1:
                continue
            for name in ("scores_TDATA", "scores_TLAST"):
                value = getattr(dut, name).value
                if not value.is_resolvable:
                    self.fail(
                        f"{name} is {value} at cycle {self.cycle} while scores_TVALID is high, after "
                        f"{len(self.out_cycles)} score words; every bit must be 0 or 1"
                    )
                    return

    def _words(self, frame: AxiStreamFrame) -> list[int]:
        sink = self.sink
        if sink.byte_lanes == 1:
            return list(frame.tdata)
        data = list(frame.tdata)
        lanes = sink.byte_lanes
        return [
            sum(piece << (sink.byte_size * k) for k, piece in enumerate(data[i : i + lanes]))
            for i in range(0, len(data), lanes)
        ]

    async def _check_scores(self) -> None:
        """Compare every received score word with the reference, frame by frame."""
        tracks = self.reference.tracks
        total = len(tracks)
        while True:
            frame = await self.sink.recv()
            words = self._words(frame)
            for position, word in enumerate(words):
                if self.checked >= total:
                    self.fail(f"extra score word {word:#x} after all {total} scores were received")
                    return
                track = tracks[self.checked]
                message = self._compare(track, word, position + 1 == len(words))
                if message:
                    self.fail(message)
                    return
                self.checked += 1
                if self.checked % self.progress_step == 0 or self.checked == total:
                    self.log.info("%d / %d scores checked", self.checked, total)

    def _compare(self, track: Track, word: int, frame_end: bool) -> str:
        score, event, step = self.layout.unpack_score(word)
        where = f"score {self.checked + 1} / {len(self.reference.tracks)} ({track.stream}, track {track.index})"
        if score != track.expected_score:
            return (
                f"{where}: raw score {score} ({score:#x}), expected {track.expected_score} "
                f"({track.expected_score:#x}), differing bits {score ^ track.expected_score:#x}"
            )
        if event != int(track.event_end):
            return f"{where}: end-of-event bit is {event}, expected {int(track.event_end)}"
        if step != 0:
            return f"{where}: weight-step bit is 1, but inference never takes a weight step"
        if frame_end != track.last:
            return f"{where}: TLAST is {int(frame_end)}, expected {int(track.last)} (TLAST of the track word)"
        return ""

    # ---- phases ------------------------------------------------------------------------

    async def wait_for_scores(self, count: int) -> None:
        """Wait until ``count`` scores are checked; the watchdog bounds the wait."""
        while self.checked < count and not self.failure:
            await First(self.failed.wait(), ClockCycles(self.dut.ap_clk, 64))
        if self.failure:
            raise BenchFailure(self.failure)

    def measure(self, frames: list[list[int]]) -> None:
        """Compute latency, initiation interval and tracks per cycle of the unpaused phase."""
        n = sum(len(f) for f in frames)
        inputs, outputs = self.in_cycles[:n], self.out_cycles[:n]
        report = self.report
        report.latency_cycles = outputs[0] - inputs[0]
        # Intervals between handshakes of the same packet, so that a restart of a Vitis
        # top between packets (ap_ctrl_hs) does not count.
        intervals, start = [], 0
        for frame in frames:
            stop = start + len(frame)
            intervals += np.diff(inputs[start:stop]).tolist()
            start = stop
        if intervals:
            report.initiation_interval = float(np.mean(intervals))
        if n > 1:
            report.tracks_per_cycle = (n - 1) / (outputs[n - 1] - outputs[0])

    async def run(self) -> None:
        """Stream every track in two phases, then check that no extra word follows."""
        frames = self.reference.frames()
        first, count = [], 0
        while frames and count < self.spec.measure_tracks:
            count += len(frames[0])
            first.append(frames.pop(0))
        if first:
            await self._unpaused_phase(first, count)
        if frames:
            await self._paused_phase(frames, count)
        await self._check_end()

    async def _unpaused_phase(self, frames: list[list[int]], count: int) -> None:
        self.log.info("phase 1: %d tracks without idle cycles or back-pressure, to measure latency and II", count)
        self.send(frames)
        await self.wait_for_scores(count)
        self.measure(frames)
        self.log.info(
            "latency %d cycles, initiation interval %.3f cycles, %.3f tracks per cycle",
            self.report.latency_cycles,
            self.report.initiation_interval or float("nan"),
            self.report.tracks_per_cycle or float("nan"),
        )

    async def _paused_phase(self, frames: list[list[int]], done: int) -> None:
        total = len(self.reference.tracks)
        self.log.info(
            "phase 2: %d tracks with idle probability %.2f and back-pressure probability %.2f",
            total - done,
            self.spec.idle_probability,
            self.spec.stall_probability,
        )
        self.source.set_pause_generator(_random_pauses(self.rng, self.spec.idle_probability))
        self.sink.set_pause_generator(_random_pauses(self.rng, self.spec.stall_probability))
        self.send(frames)
        await self.wait_for_scores(total)
        self.sink.clear_pause_generator()
        self.sink.pause = False

    async def _check_end(self) -> None:
        """Fail on a score word after the last expected one, then record the overall rate."""
        total = len(self.reference.tracks)
        await First(self.failed.wait(), ClockCycles(self.dut.ap_clk, 64))
        if self.failure:
            raise BenchFailure(self.failure)
        if len(self.out_cycles) != total:
            raise BenchFailure(f"{len(self.out_cycles)} score words for {total} tracks")
        self.report.cycles = self.out_cycles[-1] - self.in_cycles[0] + 1
        self.report.overall_tracks_per_cycle = total / self.report.cycles


@cocotb.test()
async def stream_smeared_tracks(dut) -> None:
    """Stream the smeared experiences and check every score word against the emulator."""
    started = time.perf_counter()
    spec = BenchSpec.load(os.environ[SPEC_VARIABLE])
    report = BenchReport()
    tb = None
    try:
        tb = TB(dut, spec)
        report = tb.report
        Clock(dut.ap_clk, spec.clock_period_ns, unit="ns").start()
        await tb.reset()
        tb.start_monitors()
        await tb.run()
        report.passed = True
        report.scores_checked = tb.checked
        report.message = f"{tb.checked} / {report.tracks} scores bit-exact"
        tb.log.info("%s", report.message)
    except BenchFailure as exc:
        report.message = str(exc)
        raise
    except Exception as exc:
        report.message = f"the bench failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        if tb is not None:
            report.scores_checked = tb.checked
        report.wall_seconds = time.perf_counter() - started
        Path(spec.report).write_text(json.dumps(asdict(report), indent=1) + "\n")
