"""``altmin-hls report``: the parsed report when one exists, static estimates otherwise."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from altmin_hls import cli

DATA = Path(__file__).parent / "data" / "reports"
MODULE = "altmin_hls.hls.report_command"


@pytest.fixture()
def main(monkeypatch):
    """Return cli.main with only this subcommand registered, so other modules cannot interfere."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", (MODULE,))
    return cli.main


def _place_classic(out: Path) -> Path:
    project = out / "hls"
    report = project / "altmin_tracks_prj" / "solution1" / "syn" / "report" / "csynth.xml"
    report.parent.mkdir(parents=True)
    shutil.copy(DATA / "vitis_2020_2_csynth.xml", report)
    (project / "altmin_project.json").write_text(json.dumps({"project": "altmin_tracks"}))
    return report


def test_module_registered():
    assert MODULE in cli.COMMAND_MODULES


def test_prints_report_from_out(main, tmp_path: Path, capsys):
    out = tmp_path / "out"
    _place_classic(out)
    assert main(["report", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Vitis HLS synthesis report (classic flow)" in printed
    assert "xcvu9p-flga2104-2L-e" in printed
    assert "13.23 %" in printed
    assert "static estimate" not in printed.lower()


def test_report_json(main, tmp_path: Path):
    out = tmp_path / "out"
    report = _place_classic(out)
    json_path = tmp_path / "report.json"
    assert main(["report", str(out / "hls"), "--json", str(json_path)]) == 0
    data = json.loads(json_path.read_text())
    assert data["source"] == "vitis csynth report"
    assert data["report"]["path"] == str(report)
    assert data["report"]["resources"]["DSP"]["used"] == 905
    assert data["report"]["latency"]["worst"]["time_ns"] == 68.0


def test_explicit_file(main, tmp_path: Path, capsys):
    assert main(["report", str(DATA / "vivado_hls_2018_3_csynth.xml"), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "DSP48E" in printed
    assert "undef" in printed


def test_estimates_without_report(main, tmp_path: Path, capsys):
    out = tmp_path / "out"
    (out / "hls").mkdir(parents=True)
    json_path = tmp_path / "estimate.json"
    assert main(["report", "--out", str(out), "--json", str(json_path)]) == 0
    printed = capsys.readouterr().out
    assert "no Vitis report found (searched " in printed
    assert str(out / "hls" / "hls" / "syn" / "report") in printed
    assert "static estimates:" in printed
    assert "Static estimate: multiplications per track" in printed
    assert "905" in printed
    data = json.loads(json_path.read_text())
    assert data["source"] == "static estimate"
    assert data["estimate"]["forward_multiplies"] == 905
    assert data["estimate"]["kind"] == "static estimate, not a synthesis result"
    assert str(out / "hls" / "hls" / "syn" / "report") in data["searched"]


def test_estimates_when_out_missing(main, tmp_path: Path, capsys):
    out = tmp_path / "absent"
    assert main(["report", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"no Vitis report found (searched {out / 'hls'}); static estimates:" in printed


def test_estimates_use_project_config(main, tmp_path: Path):
    out = tmp_path / "out"
    (out / "hls").mkdir(parents=True)
    config = {"project": {"reuse_factor": 5}, "altmin": {"code_steps": 2}}
    (out / "hls" / "config.yaml").write_text(yaml.safe_dump(config))
    json_path = tmp_path / "estimate.json"
    assert main(["report", "--out", str(out), "--json", str(json_path)]) == 0
    data = json.loads(json_path.read_text())
    assert data["config"] == str(out / "hls" / "config.yaml")
    assert data["estimate"]["reuse_factor"] == 5
    assert data["estimate"]["code_steps"] == 2
    assert data["estimate"]["multiplier_limit"] == 181


def test_estimates_skip_yosys_without_module(main, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "altmin_hls.rtl.yosys", None)
    assert main(["report", "--out", str(tmp_path / "out"), "--yosys"]) == 0
    assert "NOTE: Yosys figures skipped" in capsys.readouterr().out


def test_malformed_report_fails(main, tmp_path: Path, capsys):
    code = main(["report", str(DATA / "truncated_csynth.xml"), "--out", str(tmp_path)])
    assert code == 1
    error = capsys.readouterr().err
    assert "error: report" in error
    assert "truncated_csynth.xml" in error


def test_missing_path_fails(main, tmp_path: Path, capsys):
    assert main(["report", str(tmp_path / "absent.xml"), "--out", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err
