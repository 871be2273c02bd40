"""The altmin-hls command line, end to end on a few events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from altmin_hls.cli import main

TINY = """\
data:
  events_unsmeared: 8
  events_per_experience: 1
  experiences: 3
pretrain:
  epochs: 2
"""


@pytest.fixture()
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.mark.slow
def test_run_prints_table_and_writes_results(tiny_config: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--config", str(tiny_config), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "csim: bit-exact" in printed
    assert "On-chip learning per smeared experience" in printed
    summary = json.loads((out / "results" / "summary.json").read_text())
    rows = summary["experiences"]
    assert [row["experience"] for row in rows] == [1, 2, 3]
    for row in rows:
        assert row["tracks_in"] == row["results_out"] > 0
        assert row["bit_exact"] is True
    assert (out / "hls" / "csim" / "build.log").is_file()
    assert (out / "hls" / "csim" / "run.log").is_file()


@pytest.mark.slow
def test_stages_run_one_by_one(tiny_config: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    common = ["--config", str(tiny_config), "--out", str(out)]
    assert main(["data", *common]) == 0
    assert (out / "data" / "experience_03.csv").is_file()
    assert main(["train", "--out", str(out)]) == 0  # reads out/config.yaml
    assert (out / "model" / "pretrained.npz").is_file()
    assert main(["generate", "--out", str(out)]) == 0
    assert (out / "hls" / "tb_data" / "expected_weights.txt").is_file()
    assert main(["csim", "--out", str(out)]) == 0
    assert "csim: bit-exact" in capsys.readouterr().out

    # A different config must not be blamed on C-simulation.
    other = tmp_path / "other.yaml"
    other.write_text(TINY + "altmin:\n  batch_size: 16\n  weight_lr: 0.015625\n")
    assert main(["csim", "--config", str(other), "--out", str(out)]) == 1
    assert "differs from the config the project" in capsys.readouterr().err

    # An edited expected file is reported as stale, not as a C-simulation mismatch.
    expected = out / "hls" / "tb_data" / "expected_scores.txt"
    lines = expected.read_text().splitlines()
    stream, event, score = lines[0].split()
    lines[0] = f"{stream} {event} {int(score) ^ 1}"
    expected.write_text("\n".join(lines) + "\n")
    assert main(["csim", "--out", str(out)]) == 1
    assert "stale or edited" in capsys.readouterr().err

    # A parameter outside its type is reported before C-simulation runs.
    parameters = out / "hls" / "tb_data" / "initial_parameters.txt"
    original = parameters.read_text()
    values = original.split()
    values[0] = "99999"
    parameters.write_text(" ".join(values) + "\n")
    assert main(["csim", "--out", str(out)]) == 1
    assert "a layer-1 weight is outside ap_fixed<16,6,AP_RND,AP_SAT>" in capsys.readouterr().err
    parameters.write_text(original)

    # Event files swapped by hand are caught by their metadata.
    first, second = out / "data" / "experience_01.csv", out / "data" / "experience_02.csv"
    first_text = first.read_text()
    first.write_text(second.read_text())
    second.write_text(first_text)
    assert main(["train", "--out", str(out)]) == 1
    assert "its metadata says experience 2" in capsys.readouterr().err
    second.write_text(first.read_text())
    first.write_text(first_text)

    # A model trained for other layer sizes is rejected before anything is written.
    small = tmp_path / "small.yaml"
    small.write_text(TINY + "network:\n  sizes: [5, 10, 10, 1]\n")
    assert main(["generate", "--config", str(small), "--out", str(out), "--force"]) == 1
    assert "the model has layer sizes 5-25-30-1 but network.sizes is 5-10-10-1" in capsys.readouterr().err


def test_train_without_data_says_what_to_run(tmp_path: Path, capsys):
    assert main(["train", "--out", str(tmp_path / "empty")]) == 1
    printed = capsys.readouterr().err
    assert "unsmeared.csv: file not found" in printed
    assert "altmin-hls data" in printed


def test_foreign_output_folder_is_rejected(tmp_path: Path, capsys):
    (tmp_path / "mine.txt").write_text("keep me\n")
    assert main(["run", "--out", str(tmp_path)]) == 1
    assert "is not an altmin-hls output folder" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me\n"


def test_failed_command_leaves_no_config(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("mine\n")
    assert main(["train", "--out", str(tmp_path)]) == 1
    assert not (tmp_path / "config.yaml").exists()
    assert main(["run", "--out", str(tmp_path)]) == 1
    assert "is not an altmin-hls output folder" in capsys.readouterr().err


def test_output_path_that_is_a_file(tmp_path: Path, capsys):
    path = tmp_path / "a_file"
    path.write_text("x\n")
    assert main(["data", "--out", str(path)]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


def test_run_checks_project_before_writing(tiny_config: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    (out / "hls").mkdir(parents=True)
    (out / "config.yaml").write_text("{}\n")
    (out / "hls" / "altmin_project.json").write_text('{"project": "someone_else"}\n')
    assert main(["run", "--config", str(tiny_config), "--out", str(out)]) == 1
    assert "contains project 'someone_else'" in capsys.readouterr().err
    assert not (out / "data").exists()


def test_invalid_config_names_key(tmp_path: Path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("altmin:\n  batch_size: 48\n")
    assert main(["data", "--config", str(config), "--out", str(tmp_path / "o")]) == 1
    printed = capsys.readouterr().err
    assert "altmin.batch_size" in printed
    assert "power of two" in printed


def test_csim_without_project_is_clear(tmp_path: Path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    assert main(["csim", "--out", str(out)]) == 1
    printed = capsys.readouterr().err
    assert "altmin_project.json: file not found" in printed
    assert "altmin-hls generate" in printed


def _delphes_sample() -> Path:
    skhep_testdata = pytest.importorskip("skhep_testdata")
    return Path(skhep_testdata.data_path("uproot-issue513.root"))


def test_data_from_delphes_sample(tmp_path: Path, capsys):
    out = tmp_path / "o"
    args = ["data", "--delphes", str(_delphes_sample()), "--out", str(out)]
    sizes = ["--events-unsmeared", "4", "--events-per-experience", "2", "--experiences", "3"]
    assert main(args + sizes) == 0
    assert "Delphes file" in capsys.readouterr().out
    text = (out / "data" / "experience_03.csv").read_text()
    assert '# generator: "delphes:uproot-issue513.root"' in text
    assert "# n_events: 2" in text


def test_delphes_sample_too_small(tmp_path: Path, capsys):
    args = ["data", "--delphes", str(_delphes_sample()), "--out", str(tmp_path / "o")]
    assert main(args) == 1  # the default config needs 300 events; the sample has 10
    assert "10 events, but the config needs 300" in capsys.readouterr().err


def test_missing_extra_names_the_install(tmp_path: Path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    monkeypatch.delitem(sys.modules, "altmin_hls.study.plots", raising=False)
    assert main(["study", "--quick", "--out", str(tmp_path / "o")]) == 1
    printed = capsys.readouterr().err
    assert "needs the Python package 'matplotlib'" in printed
    assert "pip install 'altmin-hls[study]'" in printed


def test_run_keeps_imported_model(tmp_path: Path, capsys):
    out = tmp_path / "out"
    (out / "model").mkdir(parents=True)
    (out / "config.yaml").write_text("{}\n")
    (out / "model" / "imported.json").write_text('{"source": "import"}\n')
    for command in ("run", "train"):
        assert main([command, "--out", str(out)]) == 1
        assert "was imported" in capsys.readouterr().err
    assert not (out / "data").exists()
