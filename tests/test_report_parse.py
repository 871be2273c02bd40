"""Parsing csynth.xml: both resource-name generations, missing fields, malformed files.

The reports under tests/data/reports/ are hand-written (see the README there), not tool output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from altmin_hls.errors import DataFileError
from altmin_hls.hls.report import CANONICAL_RESOURCES, parse_csynth, report_tables

DATA = Path(__file__).parent / "data" / "reports"


def _render(report) -> str:
    console = Console(width=200, record=True)
    for table in report_tables(report):
        console.print(table)
    return console.export_text()


def test_vitis_2020_header_and_clock():
    report = parse_csynth(DATA / "vitis_2020_2_csynth.xml")
    assert report.tool_version == "2020.2"
    assert report.top == "altmin_tracks"
    assert report.part == "xcvu9p-flga2104-2L-e"
    assert report.target_clock_ns == 4.0
    assert report.clock_uncertainty_ns == 1.08
    assert report.estimated_clock_ns == 3.65


def test_vitis_2020_latency_and_interval():
    report = parse_csynth(DATA / "vitis_2020_2_csynth.xml")
    assert [report.latency[c].cycles for c in ("best", "average", "worst")] == [14, 15, 17]
    assert [report.latency[c].time_ns for c in ("best", "average", "worst")] == [56.0, 60.0, 68.0]
    assert report.latency["worst"].time_text == "68.000 ns"
    assert report.interval_min == 4
    assert report.interval_max == 5
    assert report.undefined == ()


def test_vitis_2020_resources():
    resources = parse_csynth(DATA / "vitis_2020_2_csynth.xml").resources
    assert list(resources) == list(CANONICAL_RESOURCES)
    expected = {
        "BRAM_18K": (2, 4320),
        "DSP": (905, 6840),
        "FF": (41234, 2364480),
        "LUT": (60321, 1182240),
        "URAM": (0, 960),
    }
    for name, (used, available) in expected.items():
        assert resources[name].used == used, name
        assert resources[name].available == available, name
        assert resources[name].reported_as == name
    assert resources["DSP"].percent == pytest.approx(100 * 905 / 6840)
    assert resources["URAM"].percent == 0.0


def test_nested_module_sections_are_ignored():
    # ModuleInformation repeats the element names with the value 999 or 9.99.
    report = parse_csynth(DATA / "vitis_2020_2_csynth.xml")
    assert report.latency["best"].cycles == 14
    assert report.estimated_clock_ns == 3.65
    assert report.resources["DSP"].used == 905
    assert report.other_resources == {}


def test_vivado_hls_dsp48e_maps_to_dsp():
    report = parse_csynth(DATA / "vivado_hls_2018_3_csynth.xml")
    dsp = report.resources["DSP"]
    assert dsp.used == 905
    assert dsp.available == 3600
    assert dsp.reported_as == "DSP48E"
    assert dsp.percent == pytest.approx(100 * 905 / 3600)
    assert "DSP48E" not in report.other_resources


def test_vivado_hls_missing_uram_is_missing():
    uram = parse_csynth(DATA / "vivado_hls_2018_3_csynth.xml").resources["URAM"]
    assert uram.used is None
    assert uram.available is None
    assert uram.percent is None
    assert uram.reported_as is None


def test_vivado_hls_undef_average_latency():
    report = parse_csynth(DATA / "vivado_hls_2018_3_csynth.xml")
    assert report.latency["average"].cycles is None
    assert report.undefined == ("PerformanceEstimates/SummaryOfOverallLatency/Average-caseLatency",)
    assert report.latency["best"].cycles == 20
    assert report.latency["worst"].cycles == 30
    # Vivado HLS 2018.3 reports no real-time latency.
    assert all(report.latency[c].time_ns is None for c in ("best", "average", "worst"))
    assert report.interval_min == 1
    assert report.interval_max == 8


def test_unified_2024_times_in_us():
    report = parse_csynth(DATA / "vitis_2024_1_unified_csynth.xml")
    assert report.top == "trk"
    assert report.target_clock_ns == 2.5
    assert report.latency["best"].time_ns == pytest.approx(100.0)
    assert report.latency["worst"].time_ns == pytest.approx(160.0)
    assert report.latency["worst"].time_text == "0.160 us"
    assert report.resources["DSP"].used == 227
    assert report.resources["URAM"].available == 1280


def test_missing_fields_are_none_not_zero():
    report = parse_csynth(DATA / "missing_fields_csynth.xml")
    assert report.tool_version is None
    assert report.target_clock_ns is None
    assert report.clock_uncertainty_ns is None
    assert report.estimated_clock_ns is None
    assert all(report.latency[c].cycles is None for c in ("best", "average", "worst"))
    assert report.interval_min is None
    assert report.interval_max is None
    assert report.resources["DSP"].used is None
    assert report.resources["LUT"].available is None
    assert report.resources["LUT"].percent is None
    # A reported 0 stays 0.
    assert report.resources["FF"].used == 0


def test_missing_fields_in_json_are_null():
    data = json.loads(json.dumps(parse_csynth(DATA / "missing_fields_csynth.xml").to_dict()))
    assert data["target_clock_ns"] is None
    assert data["latency"]["best"]["cycles"] is None
    assert data["resources"]["BRAM_18K"] == {
        "used": None, "available": None, "percent": None, "reported_as": None,
    }
    assert data["undefined"] == [
        "PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency",
        "PerformanceEstimates/SummaryOfOverallLatency/Interval-min",
    ]


def test_missing_fields_in_table():
    text = _render(parse_csynth(DATA / "missing_fields_csynth.xml"))
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") >= 3}
    assert "-" in lines["target clock"]
    assert "undef" in lines["latency, worst case"]
    assert "min undef, max -" in lines["interval (II), cycles"]
    assert "0 " not in lines["target clock"]


def test_table_shows_canonical_names():
    text = _render(parse_csynth(DATA / "vivado_hls_2018_3_csynth.xml"))
    assert "DSP48E" in text  # the "in the file" column
    assert "25.14 %" in text
    assert "xc7vx690tffg1927-2" in text


def test_truncated_file_rejected():
    path = DATA / "truncated_csynth.xml"
    with pytest.raises(DataFileError) as caught:
        parse_csynth(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not well-formed XML" in message
    assert "truncated" in message


def test_non_xml_file_rejected():
    path = DATA / "not_xml_csynth.rpt"
    with pytest.raises(DataFileError) as caught:
        parse_csynth(path)
    assert str(path) in str(caught.value)
    assert "not an XML file" in str(caught.value)


def test_other_xml_rejected():
    path = DATA / "not_csynth.xml"
    with pytest.raises(DataFileError) as caught:
        parse_csynth(path)
    assert str(path) in str(caught.value)
    assert "not a Vitis HLS csynth report" in str(caught.value)


def test_empty_file_rejected(tmp_path: Path):
    path = tmp_path / "csynth.xml"
    path.write_text("  \n")
    with pytest.raises(DataFileError, match="is empty"):
        parse_csynth(path)


@pytest.mark.parametrize(
    ("original", "replacement", "field"),
    [
        ("<LUT>60321</LUT>", "<LUT>lots</LUT>", "AreaEstimates/Resources/LUT"),
        ("<Best-caseLatency>14<", "<Best-caseLatency>-3<", "Best-caseLatency"),
        ("<EstimatedClockPeriod>3.650<", "<EstimatedClockPeriod>fast<", "EstimatedClockPeriod"),
        ("56.000 ns", "56.000 parsecs", "Best-caseRealTimeLatency"),
    ],
)
def test_invalid_value_names_field(tmp_path: Path, original: str, replacement: str, field: str):
    text = (DATA / "vitis_2020_2_csynth.xml").read_text()
    assert original in text
    path = tmp_path / "csynth.xml"
    path.write_text(text.replace(original, replacement, 1))
    with pytest.raises(DataFileError) as caught:
        parse_csynth(path)
    assert field in str(caught.value)
    assert str(path) in str(caught.value)


def test_duplicate_resource_names_rejected(tmp_path: Path):
    text = (DATA / "vitis_2020_2_csynth.xml").read_text()
    path = tmp_path / "csynth.xml"
    path.write_text(text.replace("<DSP>905</DSP>", "<DSP>905</DSP><DSP48E>905</DSP48E>", 1))
    with pytest.raises(DataFileError, match="lists DSP twice"):
        parse_csynth(path)


def test_missing_file_rejected(tmp_path: Path):
    with pytest.raises(DataFileError, match="does not exist"):
        parse_csynth(tmp_path / "nothing" / "csynth.xml")


def test_report_copied_keeps_values(tmp_path: Path):
    target = tmp_path / "solution1" / "syn" / "report" / "csynth.xml"
    target.parent.mkdir(parents=True)
    shutil.copy(DATA / "vitis_2020_2_csynth.xml", target)
    report = parse_csynth(target)
    assert report.flow == "classic"
    assert report.resources["LUT"].used == 60321


def test_loop_ii_is_read():
    report = parse_csynth(DATA / "vitis_2020_2_csynth.xml")
    assert [loop.name for loop in report.loops] == ["Tracks"]
    assert report.loops[0].pipeline_ii == 4
    assert report.loops[0].pipeline_depth == 14
    assert report.loops[0].trip_count is None  # "undef" stays missing
    assert report.to_dict()["loops"][0]["pipeline_ii"] == 4


def test_loop_trip_count_range(tmp_path):
    text = (DATA / "vitis_2020_2_csynth.xml").read_text().replace(
        "<TripCount>undef</TripCount>",
        "<TripCount><range><min>1</min><max>512</max></range></TripCount>",
    )
    path = tmp_path / "csynth.xml"
    path.write_text(text)
    assert parse_csynth(path).loops[0].trip_count == 512


def test_loops_appear_in_table():
    text = _render(parse_csynth(DATA / "vitis_2020_2_csynth.xml"))
    assert "Loops" in text
    assert "Tracks" in text
