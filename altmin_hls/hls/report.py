"""Find and parse the ``csynth.xml`` synthesis report that Vitis HLS writes after C synthesis.

Where the report is written:

- classic flow (``vitis_hls -f build_prj.tcl``, and Vivado HLS before it):
  ``<project>/<name>_prj/solution1/syn/report/csynth.xml``
- unified flow (``v++ -c --mode hls --work_dir <work>``):
  ``<work>/hls/syn/report/csynth.xml``; for this project ``<work>`` is ``<project>/<name>_hls``.

Next to ``csynth.xml`` both flows write ``<function>_csynth.xml`` for the top function and
for every function that was not inlined. The top function's file is read when
``csynth.xml`` is absent.

Schema, as read here (element paths below the root element ``<profile>``)::

    ReportVersion/Version                                  tool version, e.g. 2020.2
    UserAssignments/{TopModelName, Part, unit,
                     TargetClockPeriod, ClockUncertainty}  unit is the time unit (ns)
    PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod
    PerformanceEstimates/SummaryOfOverallLatency/
        {Best,Average,Worst}-caseLatency                   cycles, or "undef"
        {Best,Average,Worst}-caseRealTimeLatency           e.g. "2.627 ms" (2020.2 and later)
        Interval-min, Interval-max                         cycles
    AreaEstimates/Resources/<resource>                     used
    AreaEstimates/AvailableResources/<resource>            available on the part

The resource names differ between versions: Vivado HLS 2018.x writes ``DSP48E`` and no
``URAM``, Vitis HLS 2020.2 and 2024.x write ``DSP`` and ``URAM``. :data:`RESOURCE_ALIASES`
maps each name to one canonical name. Newer reports add per-module sections
(``ModuleInformation``) with the same element names nested deeper, so only the direct
children of the root are read. A field that the file lacks is ``None``, never 0; a field
that the tool reported as ``undef`` (for example the latency of a loop with a variable
trip count) is ``None`` too and is listed in :attr:`SynthesisReport.undefined`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altmin_hls.errors import DataFileError

log = logging.getLogger(__name__)

REPORT_NAME = "csynth.xml"
PROJECT_MARKER = "altmin_project.json"  # written by altmin_hls.hls.writer
CANONICAL_RESOURCES = ("BRAM_18K", "DSP", "FF", "LUT", "URAM")
RESOURCE_ALIASES = {
    "BRAM_18K": "BRAM_18K",
    "BRAM": "BRAM_18K",
    "DSP": "DSP",
    "DSP48E": "DSP",
    "DSP48E1": "DSP",
    "DSP48E2": "DSP",
    "DSP58": "DSP",
    "FF": "FF",
    "LUT": "LUT",
    "URAM": "URAM",
}
# Direct children of <profile> of which a csynth report has at least one.
REPORT_SECTIONS = ("UserAssignments", "PerformanceEstimates", "AreaEstimates")
UNDEFINED = "undef"
TIME_UNITS_NS = {"ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9, "sec": 1e9}
LATENCY_CASES = ("best", "average", "worst")


class ReportNotFoundError(DataFileError):
    """No csynth report exists at the given path; ``searched`` lists where it was looked for."""

    def __init__(self, message: str, searched: list[str]) -> None:
        super().__init__(message)
        self.searched = searched


@dataclass(frozen=True)
class Latency:
    """One latency case: cycles, and the absolute time as the report states it."""

    cycles: int | None
    time_ns: float | None
    time_text: str | None  # verbatim, e.g. "2.627 ms"

    def to_dict(self) -> dict[str, Any]:
        return {"cycles": self.cycles, "time_ns": self.time_ns, "time_text": self.time_text}


@dataclass(frozen=True)
class ResourceUse:
    """Use of one resource. ``reported_as`` is the element name in the file, e.g. DSP48E."""

    name: str
    used: int | None
    available: int | None
    reported_as: str | None

    @property
    def percent(self) -> float | None:
        """Return 100 used / available, or None when either is missing or nothing is available."""
        if self.used is None or not self.available:
            return None
        return 100.0 * self.used / self.available

    def to_dict(self) -> dict[str, Any]:
        return {
            "used": self.used,
            "available": self.available,
            "percent": self.percent,
            "reported_as": self.reported_as,
        }


@dataclass(frozen=True)
class LoopSummary:
    """One top-level loop of SummaryOfLoopLatency: its label, II, depth and trip count."""

    name: str
    pipeline_ii: int | None  # None when the loop is not pipelined or the field is missing
    pipeline_depth: int | None
    trip_count: int | None  # the maximum when the report gives a range

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pipeline_ii": self.pipeline_ii,
            "pipeline_depth": self.pipeline_depth,
            "trip_count": self.trip_count,
        }


@dataclass(frozen=True)
class SynthesisReport:
    """The summary of one csynth.xml, with times in ns and latencies and intervals in cycles."""

    path: Path
    flow: str  # "classic", "unified" or "unknown", from the folder layout
    tool_version: str | None
    top: str | None
    part: str | None
    target_clock_ns: float | None
    clock_uncertainty_ns: float | None
    estimated_clock_ns: float | None
    latency: dict[str, Latency]  # keys: best, average, worst
    interval_min: int | None
    interval_max: int | None
    resources: dict[str, ResourceUse]  # keys: CANONICAL_RESOURCES
    other_resources: dict[str, ResourceUse] = field(default_factory=dict)
    undefined: tuple[str, ...] = ()  # fields the tool reported as "undef"
    loops: tuple[LoopSummary, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values, with None for missing fields."""
        return {
            "path": str(self.path),
            "flow": self.flow,
            "tool_version": self.tool_version,
            "top": self.top,
            "part": self.part,
            "target_clock_ns": self.target_clock_ns,
            "clock_uncertainty_ns": self.clock_uncertainty_ns,
            "estimated_clock_ns": self.estimated_clock_ns,
            "latency": {case: value.to_dict() for case, value in self.latency.items()},
            "interval_min": self.interval_min,
            "interval_max": self.interval_max,
            "resources": {name: use.to_dict() for name, use in self.resources.items()},
            "other_resources": {name: use.to_dict() for name, use in self.other_resources.items()},
            "undefined": list(self.undefined),
            "loops": [loop.to_dict() for loop in self.loops],
        }


# ---- locating the report ------------------------------------------------------------------


def _project_name(folder: Path) -> str | None:
    """Return the project name from the altmin-hls marker in ``folder``, if there is one."""
    marker = folder / PROJECT_MARKER
    if not marker.is_file():
        return None
    try:
        name = json.loads(marker.read_text()).get("project")
    except (json.JSONDecodeError, AttributeError, OSError):
        return None
    return name if isinstance(name, str) else None


def _report_folders(root: Path, name: str | None) -> list[tuple[str, list[Path]]]:
    """Return each place a report folder may be: the path or pattern, and the folders it matches."""
    folders = [
        root,  # root is the report folder itself
        root / "syn" / "report",  # a classic solution folder or a unified hls folder
        root / "hls" / "syn" / "report",  # a unified work folder
        root / "solution1" / "syn" / "report",  # a classic project folder
    ]
    if name is not None:
        folders.append(root / f"{name}_prj" / "solution1" / "syn" / "report")
        folders.append(root / f"{name}_hls" / "hls" / "syn" / "report")
    places = [(str(folder), [folder]) for folder in folders]
    # Any classic project and solution, and any unified work folder, below root.
    for pattern in ("*_prj/*/syn/report", "*/hls/syn/report"):
        places.append((str(root / pattern), sorted(root.glob(pattern))))
    return places


def _report_in_folder(folder: Path, name: str | None) -> Path | None:
    """Return the top-level report in a report folder, or None when it has none."""
    if not folder.is_dir():
        return None
    summary = folder / REPORT_NAME
    if summary.is_file():
        return summary
    if name is not None and (folder / f"{name}_csynth.xml").is_file():
        return folder / f"{name}_csynth.xml"
    per_function = sorted(folder.glob("*_csynth.xml"))
    if len(per_function) == 1:
        return per_function[0]
    if len(per_function) > 1:
        names = ", ".join(path.name for path in per_function)
        raise DataFileError(
            f"report folder {folder} has no {REPORT_NAME} but several per-function reports "
            f"({names}); pass the top function's report file as the path"
        )
    return None


def find_reports(path: str | Path) -> tuple[list[Path], list[str]]:
    """Return every csynth report at or under ``path``, newest first, and the places searched.

    ``path`` is a report file, a report folder, a classic project (``<name>_prj``) or
    solution folder, a unified work folder, or an altmin-hls project folder that contains
    any of these. Raises DataFileError when ``path`` does not exist.
    """
    path = Path(path)
    if path.is_file():
        return [path], [str(path)]
    if not path.exists():
        raise DataFileError(f"report path {path} does not exist; pass a csynth.xml or a project folder")
    name = _project_name(path)
    found: list[Path] = []
    searched: list[str] = []
    for place, folders in _report_folders(path, name):
        searched.append(place)
        for folder in folders:
            report = _report_in_folder(folder, name)
            if report is not None and report.resolve() not in {p.resolve() for p in found}:
                found.append(report)
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return found, searched


def find_report(path: str | Path) -> Path:
    """Return the newest csynth report at or under ``path``.

    Raises ReportNotFoundError, which lists the places searched, when there is none.
    """
    found, searched = find_reports(path)
    if not found:
        places = "; ".join(searched)
        raise ReportNotFoundError(
            f"no Vitis HLS synthesis report ({REPORT_NAME}) found under {path}; searched: {places}. "
            "Run C synthesis first (vitis_hls -f build_prj.tcl, or v++ -c --mode hls)",
            searched,
        )
    if len(found) > 1:
        others = ", ".join(str(p) for p in found[1:])
        log.info("using the newest report %s; older reports: %s", found[0], others)
    return found[0]


# ---- parsing ------------------------------------------------------------------------------


def _flow_of(path: Path) -> str:
    parts = path.parts
    if len(parts) >= 4 and parts[-4] == "hls" and parts[-3:-1] == ("syn", "report"):
        return "unified"
    if len(parts) >= 4 and parts[-3:-1] == ("syn", "report"):
        return "classic"
    return "unknown"


def _load_root(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"cannot read report {path}: {exc.strerror}") from exc
    if not data.strip():
        raise DataFileError(f"report {path} is empty; C synthesis may have been interrupted")
    if not data.lstrip().startswith(b"<"):
        raise DataFileError(
            f"report {path} is not an XML file (it does not start with '<'); pass a csynth.xml"
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DataFileError(
            f"report {path} is not well-formed XML ({exc}); the file is truncated or corrupt, "
            "so rerun C synthesis"
        ) from exc
    if root.tag != "profile" or not any(root.find(section) is not None for section in REPORT_SECTIONS):
        sections = ", ".join(REPORT_SECTIONS)
        raise DataFileError(
            f"{path} is XML but not a Vitis HLS csynth report: expected a <profile> root with "
            f"one of {sections}, found <{root.tag}>"
        )
    return root


class _Reader:
    """Reads typed fields below one root element, recording 'undef' values."""

    def __init__(self, root: ET.Element, path: Path) -> None:
        self.root = root
        self.path = path
        self.undefined: list[str] = []

    def text(self, where: str) -> str | None:
        node = self.root.find(where)
        if node is None or node.text is None or not node.text.strip():
            return None
        value = node.text.strip()
        if value == UNDEFINED:
            self.undefined.append(where)
            return None
        return value

    def integer(self, where: str) -> int | None:
        value = self.text(where)
        if value is None:
            return None
        if re.fullmatch(r"\d+", value) is None:
            raise DataFileError(
                f"report {self.path}: {where} has invalid value {value!r}; expected a "
                f"non-negative integer or {UNDEFINED!r}"
            )
        return int(value)

    def number(self, where: str) -> float | None:
        value = self.text(where)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise DataFileError(
                f"report {self.path}: {where} has invalid value {value!r}; expected a number"
            )
        return number

    def time_ns(self, where: str, unit: str) -> float | None:
        value = self.number(where)
        return None if value is None else value * _unit_scale(unit, where, self.path)

    def real_time(self, where: str) -> tuple[float | None, str | None]:
        """Return (ns, verbatim text) of a value such as '0.250 us'."""
        value = self.text(where)
        if value is None:
            return None, None
        match = re.fullmatch(r"([0-9.eE+-]+)\s*([A-Za-z]+)", value)
        if match is None or match.group(2) not in TIME_UNITS_NS:
            units = ", ".join(TIME_UNITS_NS)
            raise DataFileError(
                f"report {self.path}: {where} has invalid value {value!r}; expected a number "
                f"and one of the units {units}"
            )
        try:
            number = float(match.group(1))
        except ValueError as exc:
            raise DataFileError(f"report {self.path}: {where} has invalid value {value!r}") from exc
        return number * TIME_UNITS_NS[match.group(2)], value


def _unit_scale(unit: str, where: str, path: Path) -> float:
    if unit not in TIME_UNITS_NS:
        units = ", ".join(TIME_UNITS_NS)
        raise DataFileError(f"report {path}: unknown time unit {unit!r} for {where}; expected one of {units}")
    return TIME_UNITS_NS[unit]


def _resources(reader: _Reader) -> tuple[dict[str, ResourceUse], dict[str, ResourceUse]]:
    """Return the canonical resources and any others, each with used and available counts."""
    used: dict[str, tuple[str, int | None]] = {}
    available: dict[str, tuple[str, int | None]] = {}
    for section, target in (("AreaEstimates/Resources", used), ("AreaEstimates/AvailableResources", available)):
        node = reader.root.find(section)
        if node is None:
            continue
        for child in node:
            name = RESOURCE_ALIASES.get(child.tag, child.tag)
            if name in target:
                raise DataFileError(
                    f"report {reader.path}: {section} lists {name} twice "
                    f"({target[name][0]} and {child.tag})"
                )
            target[name] = (child.tag, reader.integer(f"{section}/{child.tag}"))

    def use(name: str) -> ResourceUse:
        tag_used, count_used = used.get(name, (None, None))
        tag_available, count_available = available.get(name, (None, None))
        return ResourceUse(name, count_used, count_available, tag_used or tag_available)

    canonical = {name: use(name) for name in CANONICAL_RESOURCES}
    others = {name: use(name) for name in sorted(set(used) | set(available)) if name not in canonical}
    return canonical, others


def _optional_count(node: ET.Element | None) -> int | None:
    """Return a whole number from a field's text, or None for '-', 'undef' or no field."""
    if node is None or node.text is None:
        return None
    text = node.text.strip()
    return int(text) if text.isdigit() else None


def _loops(root: ET.Element) -> tuple[LoopSummary, ...]:
    """Return the top-level loops of PerformanceEstimates/SummaryOfLoopLatency."""
    section = root.find("PerformanceEstimates/SummaryOfLoopLatency")
    if section is None:
        return ()
    loops = []
    for loop in section:
        trip = loop.find("TripCount")
        trip_count = _optional_count(trip)
        if trip is not None and trip_count is None:
            trip_count = _optional_count(trip.find("range/max"))
        loops.append(
            LoopSummary(
                name=loop.tag,
                pipeline_ii=_optional_count(loop.find("PipelineII")),
                pipeline_depth=_optional_count(loop.find("PipelineDepth")),
                trip_count=trip_count,
            )
        )
    return tuple(loops)


def parse_csynth(path: str | Path) -> SynthesisReport:
    """Parse a csynth report, given as the file or as a folder that contains it.

    A folder is searched as :func:`find_report` describes. Raises DataFileError, naming the
    file and the problem, for an empty, truncated or non-XML file, for XML that is not a
    csynth report, and for a field with an invalid value. Raises ReportNotFoundError, a
    DataFileError, when a folder contains no report.
    """
    path = Path(path)
    report_path = find_report(path) if path.is_dir() else path
    if not report_path.is_file():
        raise DataFileError(f"report file {report_path} does not exist")
    root = _load_root(report_path)
    reader = _Reader(root, report_path)
    unit = reader.text("UserAssignments/unit") or "ns"
    overall = "PerformanceEstimates/SummaryOfOverallLatency"
    latency = {}
    for case in LATENCY_CASES:
        prefix = f"{overall}/{case.capitalize()}-case"
        time_ns, time_text = reader.real_time(f"{prefix}RealTimeLatency")
        latency[case] = Latency(reader.integer(f"{prefix}Latency"), time_ns, time_text)
    resources, others = _resources(reader)
    return SynthesisReport(
        path=report_path,
        flow=_flow_of(report_path),
        tool_version=reader.text("ReportVersion/Version"),
        top=reader.text("UserAssignments/TopModelName"),
        part=reader.text("UserAssignments/Part"),
        target_clock_ns=reader.time_ns("UserAssignments/TargetClockPeriod", unit),
        clock_uncertainty_ns=reader.time_ns("UserAssignments/ClockUncertainty", unit),
        estimated_clock_ns=reader.time_ns(
            "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod",
            reader.text("PerformanceEstimates/SummaryOfTimingAnalysis/unit") or unit,
        ),
        latency=latency,
        interval_min=reader.integer(f"{overall}/Interval-min"),
        interval_max=reader.integer(f"{overall}/Interval-max"),
        resources=resources,
        other_resources=others,
        undefined=tuple(reader.undefined),
        loops=_loops(root),
    )


# ---- presentation -------------------------------------------------------------------------

MISSING = "-"


def _show(value: Any, fmt: str = "{}") -> str:
    return MISSING if value is None else fmt.format(value)


def report_tables(report: SynthesisReport) -> list[Any]:
    """Return rich tables of the report: a summary and the resources."""
    from rich.table import Table

    undefined = set(report.undefined)

    def cell(value: Any, where: str, fmt: str = "{}") -> str:
        if value is None and any(item.endswith(where) for item in undefined):
            return UNDEFINED
        return _show(value, fmt)

    title = "Vitis HLS synthesis report"
    if report.flow != "unknown":
        title += f" ({report.flow} flow)"
    summary = Table(
        title=title,
        show_header=False,
        caption=f"{MISSING}: missing from the report; {UNDEFINED}: the tool reported it as undefined",
    )
    summary.add_column("field")
    summary.add_column("value")
    summary.add_row("file", str(report.path))
    summary.add_row("tool version", _show(report.tool_version))
    summary.add_row("top function", _show(report.top))
    summary.add_row("part", _show(report.part))
    summary.add_row("target clock", cell(report.target_clock_ns, "TargetClockPeriod", "{:.3f} ns"))
    summary.add_row("clock uncertainty", cell(report.clock_uncertainty_ns, "ClockUncertainty", "{:.3f} ns"))
    summary.add_row("estimated clock", cell(report.estimated_clock_ns, "EstimatedClockPeriod", "{:.3f} ns"))
    for case in LATENCY_CASES:
        value = report.latency[case]
        cycles = cell(value.cycles, f"{case.capitalize()}-caseLatency", "{} cycles")
        time = cell(value.time_text, f"{case.capitalize()}-caseRealTimeLatency")
        summary.add_row(f"latency, {case} case", f"{cycles} (time {time})")
    interval_min = cell(report.interval_min, "Interval-min")
    interval_max = cell(report.interval_max, "Interval-max")
    summary.add_row("interval (II), cycles", f"min {interval_min}, max {interval_max}")

    resources = Table(title="Resources (percent = used / available)")
    for column in ("resource", "used", "available", "percent", "in the file"):
        resources.add_column(column, justify="left" if column in ("resource", "in the file") else "right")
    for use in [*report.resources.values(), *report.other_resources.values()]:
        resources.add_row(
            use.name,
            _show(use.used),
            _show(use.available),
            _show(use.percent, "{:.2f} %"),
            _show(use.reported_as),
        )
    tables = [summary, resources]
    if report.loops:
        loops = Table(title="Loops (pipeline II of MODE_INFER's loop InferTracks is the reuse factor)")
        for column in ("loop", "pipeline II", "depth", "trip count (max)"):
            loops.add_column(column, justify="left" if column == "loop" else "right")
        for loop in report.loops:
            loops.add_row(
                loop.name, _show(loop.pipeline_ii), _show(loop.pipeline_depth), _show(loop.trip_count)
            )
        tables.append(loops)
    return tables
