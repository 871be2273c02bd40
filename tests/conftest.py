"""Shared fixtures: one small end-to-end project, generated and compiled once per session."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from altmin_hls import pipeline
from altmin_hls.config import Config, load_config
from altmin_hls.data.tracks import TrackSet
from altmin_hls.hls import csim
from altmin_hls.hls.tbdata import ExpectedResults
from altmin_hls.reference.mlp import MLP

# Six events per experience give about 12,000 streamed smeared tracks over the ten
# experiences, enough for the bit-exactness check to cover hundreds of weight steps.
SMALL_RUN = {
    "data": {"events_unsmeared": 20, "events_per_experience": 6, "seed": 7},
    "pretrain": {"epochs": 3},
}


@dataclass
class SmallProject:
    """A generated project with its inputs, its expected results and a compiled testbench."""

    config: Config
    workspace: pipeline.Workspace
    sets: list[TrackSet]
    model: MLP
    expected: ExpectedResults
    binary: Path

    def copy_to(self, folder: Path) -> Path:
        """Copy the project folder (with its compiled testbench) for a test to modify."""
        target = folder / "hls"
        shutil.copytree(self.workspace.hls, target)
        return target


@pytest.fixture(scope="session")
def small_project(tmp_path_factory: pytest.TempPathFactory) -> SmallProject:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    config = load_config(overrides=SMALL_RUN)
    workspace = pipeline.Workspace(tmp_path_factory.mktemp("small_run"))
    sets = pipeline.generate_data(config, workspace, progress=False)
    model, _ = pipeline.pretrain(config, workspace, sets[0])
    expected = pipeline.generate_project(config, workspace, model, sets)
    binary = csim.build(workspace.hls)
    return SmallProject(config, workspace, sets, model, expected, binary)
