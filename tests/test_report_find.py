"""Finding csynth.xml in the classic and the unified Vitis folder layouts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from altmin_hls.errors import DataFileError
from altmin_hls.hls.report import ReportNotFoundError, find_report, find_reports, parse_csynth

DATA = Path(__file__).parent / "data" / "reports"
CLASSIC = DATA / "vitis_2020_2_csynth.xml"
UNIFIED = DATA / "vitis_2024_1_unified_csynth.xml"


def _project(folder: Path, name: str = "altmin_tracks") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "altmin_project.json").write_text(json.dumps({"project": name}))
    return folder


def _place(source: Path, target: Path, mtime: float | None = None) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    if mtime is not None:
        os.utime(target, (mtime, mtime))
    return target


def test_classic_project_folder(tmp_path: Path):
    project = _project(tmp_path / "hls")
    report = _place(CLASSIC, project / "altmin_tracks_prj" / "solution1" / "syn" / "report" / "csynth.xml")
    assert find_report(project) == report
    assert parse_csynth(project).flow == "classic"


def test_classic_prj_folder(tmp_path: Path):
    prj = tmp_path / "altmin_tracks_prj"
    report = _place(CLASSIC, prj / "solution1" / "syn" / "report" / "csynth.xml")
    assert find_report(prj) == report


def test_classic_without_marker_uses_glob(tmp_path: Path):
    report = _place(CLASSIC, tmp_path / "other_prj" / "solution2" / "syn" / "report" / "csynth.xml")
    assert find_report(tmp_path) == report


def test_unified_work_folder(tmp_path: Path):
    work = tmp_path / "altmin_tracks_hls"
    report = _place(UNIFIED, work / "hls" / "syn" / "report" / "csynth.xml")
    assert find_report(work) == report
    assert parse_csynth(work).flow == "unified"


def test_unified_under_project_folder(tmp_path: Path):
    project = _project(tmp_path / "hls", "trk")
    report = _place(UNIFIED, project / "trk_hls" / "hls" / "syn" / "report" / "csynth.xml")
    assert find_report(project) == report


def test_report_folder_and_direct_file(tmp_path: Path):
    report = _place(CLASSIC, tmp_path / "report" / "csynth.xml")
    assert find_report(tmp_path / "report") == report
    assert find_report(report) == report


def test_newest_of_two_flows(tmp_path: Path):
    project = _project(tmp_path / "hls")
    old = _place(CLASSIC, project / "altmin_tracks_prj" / "solution1" / "syn" / "report" / "csynth.xml", 1_000)
    new = _place(UNIFIED, project / "altmin_tracks_hls" / "hls" / "syn" / "report" / "csynth.xml", 2_000)
    found, _ = find_reports(project)
    assert found == [new, old]
    assert find_report(project) == new


def test_top_function_report_when_summary_missing(tmp_path: Path):
    project = _project(tmp_path / "hls")
    folder = project / "altmin_tracks_prj" / "solution1" / "syn" / "report"
    _place(DATA / "missing_fields_csynth.xml", folder / "dense_csynth.xml")
    report = _place(CLASSIC, folder / "altmin_tracks_csynth.xml")
    assert find_report(project) == report


def test_single_function_report_without_name(tmp_path: Path):
    report = _place(CLASSIC, tmp_path / "solution1" / "syn" / "report" / "top_csynth.xml")
    assert find_report(tmp_path) == report


def test_ambiguous_function_reports_rejected(tmp_path: Path):
    folder = tmp_path / "solution1" / "syn" / "report"
    _place(CLASSIC, folder / "a_csynth.xml")
    _place(CLASSIC, folder / "b_csynth.xml")
    with pytest.raises(DataFileError) as caught:
        find_report(tmp_path)
    assert "a_csynth.xml, b_csynth.xml" in str(caught.value)
    assert "pass the top function's report file" in str(caught.value)


def test_no_report_lists_searched_paths(tmp_path: Path):
    project = _project(tmp_path / "hls")
    (project / "firmware").mkdir()
    with pytest.raises(ReportNotFoundError) as caught:
        find_report(project)
    message = str(caught.value)
    assert str(project / "altmin_tracks_prj" / "solution1" / "syn" / "report") in message
    assert str(project / "altmin_tracks_hls" / "hls" / "syn" / "report") in message
    assert str(project / "hls" / "syn" / "report") in message
    assert str(project / "solution1" / "syn" / "report") in message
    assert str(project / "altmin_tracks_prj" / "solution1" / "syn" / "report") in caught.value.searched


def test_no_report_is_a_data_file_error(tmp_path: Path):
    with pytest.raises(DataFileError, match="no Vitis HLS synthesis report"):
        parse_csynth(tmp_path)


def test_missing_path_rejected(tmp_path: Path):
    with pytest.raises(DataFileError, match="does not exist"):
        find_reports(tmp_path / "absent")
