"""End to end: ``altmin-hls study --quick`` on a tiny data set, through the CLI entry point."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from altmin_hls import cli
from altmin_hls.study import command

pytest.importorskip("matplotlib")
pytest.importorskip("mplhep")

N_EXPERIENCES = 3


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    folder = tmp_path_factory.mktemp("study")
    config_path = folder / "tiny.yaml"
    config_path.write_text(yaml.safe_dump({"data": {"experiences": N_EXPERIENCES, "seed": 5}}))
    out = folder / "out"
    # The comparison function may exist in a later version; hide it so the skip path runs.
    saved = sys.modules.get("altmin_hls.data.validation")
    sys.modules["altmin_hls.data.validation"] = None  # type: ignore[assignment]
    try:
        code = cli.main([
            "study", "--config", str(config_path), "--out", str(out), "--events-unsmeared", "8",
            "--events-per-experience", "3", "--quick", "--validate-generator",
        ])
    finally:
        if saved is None:
            del sys.modules["altmin_hls.data.validation"]
        else:
            sys.modules["altmin_hls.data.validation"] = saved
    return code, out


def test_quick_study_exit_code(quick_run):
    code, _ = quick_run
    assert code == 0


def test_quick_study_writes_every_figure(quick_run):
    _, out = quick_run
    figures = sorted((out / "study" / "figures").glob("*.png"))
    names = {path.name for path in figures}
    expected = {
        "convergence_pretraining.png", "convergence_experiences.png", "auc_accuracy_per_experience.png",
        "difference_to_sgd.png", "roc.png", "recovery_epochs.png", "forgetting_matrix_auc.png",
        "forgetting_matrix_accuracy.png", "forgetting_unsmeared.png", "features_eta.png", "features_phi.png",
        "features_pt.png", "features_z0.png", "features_dz.png",
    }
    assert names == expected
    for path in figures:
        assert path.stat().st_size > 10_000, path.name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path.name


def test_report_links_every_figure(quick_run):
    _, out = quick_run
    text = (out / "study" / "report.md").read_text()
    links = set(re.findall(r"\]\((figures/[^)]+\.png)\)", text))
    on_disk = {f"figures/{path.name}" for path in (out / "study" / "figures").glob("*.png")}
    assert links == on_disk


def test_report_has_tables_and_verdict(quick_run):
    _, out = quick_run
    text = (out / "study" / "report.md").read_text()
    for heading in ("## Verdict", "## Test AUC per experience", "## Forgetting", "## Epochs to recover",
                    "## Settings"):
        assert heading in text, heading
    assert "Seeds: 1, 2." in text


def test_report_skips_missing_generator_comparison(quick_run):
    _, out = quick_run
    text = (out / "study" / "report.md").read_text()
    assert "Skipped: this installation has no `altmin_hls.data.validation.plot_generator_comparison`" in text


def test_tables_json_has_matrices(quick_run):
    _, out = quick_run
    tables = json.loads((out / "study" / "tables.json").read_text())
    assert tables["settings"]["seeds"] == [1, 2]
    for run in tables["runs"]:
        assert len(run["auc_matrix"]) == N_EXPERIENCES + 1
        assert len(run["experience_curves"]) == N_EXPERIENCES


def test_study_reuses_data_folder(quick_run):
    _, out = quick_run
    assert (out / "data" / "unsmeared.csv").is_file()
    assert (out / "config.yaml").is_file()


def test_study_rejects_data_of_other_config(quick_run):
    _, out = quick_run
    code = cli.main(["study", "--out", str(out), "--events-unsmeared", "9", "--quick"])
    assert code == 1


def test_generator_comparison_included(quick_run, monkeypatch, tmp_path):
    import types

    from altmin_hls import pipeline
    from altmin_hls.config import load_config
    from altmin_hls.data import parametric

    _, out = quick_run
    config = load_config(out / "config.yaml")
    sets = pipeline.load_data(config, pipeline.Workspace(out))
    calls = []

    def fake_comparison(parametric_set, pythia_set, path):
        calls.append((parametric_set.n_events, pythia_set.n_events))
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n")

    module = types.ModuleType("altmin_hls.data.validation")
    module.plot_generator_comparison = fake_comparison
    monkeypatch.setitem(sys.modules, "altmin_hls.data.validation", module)
    monkeypatch.setattr("altmin_hls.data.pythia.generate_pythia",
                        lambda n, seed, pileup: parametric.generate_parametric(n, seed, pileup))
    outcome = command.validate_generator(config, sets, tmp_path, n_events=2)
    assert calls == [(2, 2)]
    assert outcome.figure == tmp_path / "generator_comparison.png"
