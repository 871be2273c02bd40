"""A QKeras model through import, data, generate, csim and export; hls4ml on the same weights.

One module-scoped run of the command line imports a QKeras model with non-default
precisions (and the hls4ml-compatible sigmoid table), C-simulates about 12,000 smeared
tracks with learning on, and exports the learned weights. The hls4ml comparisons use
the learned weights and the same project, compiling each hls4ml model once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from altmin_hls import cli, pipeline
from altmin_hls.config import Config, load_config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.hls import streams as stream_files
from altmin_hls.interop import hls4ml_check
from altmin_hls.interop.command import csim_final_parameters
from altmin_hls.interop.keras_io import import_model

# The keras extra installs both; these guards only help where it is missing.
keras = pytest.importorskip("tensorflow").keras
qkeras = pytest.importorskip("qkeras")

pytestmark = pytest.mark.slow

# The same small run as tests/conftest.py: about 12,000 smeared tracks in ten experiences.
SMALL_RUN = {
    "data": {"events_unsmeared": 20, "events_per_experience": 6, "seed": 7},
    "pretrain": {"epochs": 3},
}
IMPORTED_PRECISION = {
    "input": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
    "weight": "ap_fixed<14,4,AP_RND_CONV,AP_SAT>",
    "bias": "ap_fixed<12,4,AP_RND_CONV,AP_SAT>",
    "activation": "ap_ufixed<13,5,AP_RND_CONV,AP_SAT>",
}


def _qkeras_model(float_weights: list[tuple[np.ndarray, np.ndarray]]):
    """Return a QKeras 5-25-30-1 model with these float (off-grid) shadow weights."""

    def bits(width, integer):
        return qkeras.quantized_bits(width, integer, alpha=1)

    inputs = keras.Input((5,), name="features")
    x = qkeras.QActivation("quantized_bits(16,5,alpha=1)", name="input_q")(inputs)
    for index, units in enumerate((25, 30, 1)):
        activation = "sigmoid" if units == 1 else "quantized_relu(13,5)"
        x = qkeras.QDense(
            units,
            kernel_quantizer=bits(14, 3),
            bias_quantizer=bits(12, 3),
            activation=activation,
            name=f"q{index + 1}",
        )(x)
    model = keras.Model(inputs, x)
    for index, (weight, bias) in enumerate(float_weights):
        model.get_layer(f"q{index + 1}").set_weights(
            [weight.T.astype(np.float32), bias.astype(np.float32)]
        )
    return model


@dataclass
class ImportedRun:
    """Output folder of the command-line run and what went into it."""

    workspace: pipeline.Workspace
    config: Config
    qkeras_model: object
    model_file: Path
    exported: Path
    exit_codes: dict[str, int]


def _main(arguments: list) -> int:
    return cli.main([str(a) for a in arguments])


@pytest.fixture(scope="module")
def imported_run(tmp_path_factory: pytest.TempPathFactory) -> ImportedRun:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    scratch = pipeline.Workspace(tmp_path_factory.mktemp("float_model"))
    base = load_config(overrides=SMALL_RUN)
    sets = pipeline.generate_data(base, scratch, progress=False)
    float_model, _ = pipeline.pretrain(base, scratch, sets[0])
    qkeras_model = _qkeras_model(list(zip(float_model.weights, float_model.biases)))
    model_file = scratch.root / "classifier.h5"
    qkeras_model.save(model_file)

    base_file = scratch.root / "base.yaml"
    base_file.write_text(yaml.safe_dump({**SMALL_RUN, "sigmoid": {"sample": "hls4ml"}}))
    out = tmp_path_factory.mktemp("imported") / "out"
    exported = out / "learned.h5"
    exit_codes = {
        "import": _main(["import", model_file, "--out", out, "--config", base_file]),
        "data": _main(["data", "--out", out]),
        "generate": _main(["generate", "--out", out]),
        "csim": _main(["csim", "--out", out]),
        "export": _main(["export", "--out", out, "--file", exported]),
    }
    config = load_config(out / "config.yaml")
    return ImportedRun(
        pipeline.Workspace(out), config, qkeras_model, model_file, exported, exit_codes
    )


def test_commands_succeed(imported_run: ImportedRun):
    assert imported_run.exit_codes == {
        "import": 0,
        "data": 0,
        "generate": 0,
        "csim": 0,
        "export": 0,
    }


def test_config_has_imported_precisions(imported_run: ImportedRun):
    raw = imported_run.config.raw
    for key, value in IMPORTED_PRECISION.items():
        assert raw["precision"][key] == value, key
    assert imported_run.config.sigmoid_sample == "hls4ml"
    assert imported_run.config.events_per_experience == 6


def test_generated_weights_equal_qkeras_quantised_weights(imported_run: ImportedRun):
    config = imported_run.config
    path = Datapath.from_config(config)
    tb_data = imported_run.workspace.hls / "tb_data"
    initial = FixedParameters.from_vector(
        stream_files.read_parameters(tb_data / "initial_parameters.txt", path.n_parameters),
        config.sizes,
    )
    for index in range(3):
        layer = imported_run.qkeras_model.get_layer(f"q{index + 1}")
        kernel, bias = layer.get_weights()
        # The quantised values are multiples of 2**-10, so float32 represents them exactly.
        quantised_kernel = np.asarray(layer.kernel_quantizer_internal(kernel), np.float64).T
        quantised_bias = np.asarray(layer.bias_quantizer_internal(bias), np.float64)
        assert np.array_equal(path.weight.to_float(initial.weights[index]), quantised_kernel)
        assert np.array_equal(path.bias.to_float(initial.biases[index]), quantised_bias)


def test_csim_learned_and_matched_emulator(imported_run: ImportedRun):
    config = imported_run.config
    steps = stream_files.read_weight_steps(
        imported_run.workspace.hls / "csim" / "csim_weights.txt",
        Datapath.from_config(config).n_parameters,
    )
    assert len(steps) > 300
    expected = pipeline.expected_from_project(config, imported_run.workspace)
    assert np.array_equal(steps[-1, 2:], expected.final.to_vector())
    assert not np.array_equal(steps[-1, 2:], steps[0, 2:])


def test_export_round_trips_csim_weights(imported_run: ImportedRun):
    config = imported_run.config
    learned = csim_final_parameters(config, imported_run.workspace)
    overrides, model = import_model(imported_run.exported)
    for key, value in IMPORTED_PRECISION.items():
        assert overrides["precision"][key] == value, key
    back = FixedParameters.from_mlp(model, Datapath.from_config(config))
    assert np.array_equal(back.to_vector(), learned.to_vector())


@pytest.mark.parametrize(("source", "plain"), [("emulator", False), ("pretrained", True)])
def test_export_other_sources(imported_run: ImportedRun, tmp_path: Path, source: str, plain: bool):
    file = tmp_path / f"{source}.keras"
    arguments = ["export", "--out", imported_run.workspace.root, "--from", source, "--file", file]
    assert _main(arguments + (["--plain-keras"] if plain else [])) == 0
    _, model = import_model(file)
    raw = FixedParameters.from_mlp(model, Datapath.from_config(imported_run.config)).to_vector()
    tb_data = imported_run.workspace.hls / "tb_data"
    if source == "emulator":
        want = csim_final_parameters(imported_run.config, imported_run.workspace).to_vector()
    else:
        want = stream_files.read_parameters(tb_data / "initial_parameters.txt", len(raw))
    assert np.array_equal(raw, want)


def test_import_refuses_to_replace_model(imported_run: ImportedRun, capsys):
    code = _main(["import", imported_run.model_file, "--out", imported_run.workspace.root])
    assert code == 1
    assert "pretrained.npz exists; pass --force" in capsys.readouterr().err


def test_export_without_project(tmp_path: Path, capsys):
    (tmp_path / "config.yaml").write_text(load_config().to_yaml())
    code = _main(["export", "--out", tmp_path, "--file", tmp_path / "m.h5"])
    assert code == 1
    assert (
        "altmin_project.json: file not found; run 'altmin-hls generate' first"
        in capsys.readouterr().err
    )


# ---- hls4ml ------------------------------------------------------------------------------


@dataclass
class Hls4mlInputs:
    """Learned weights, the streamed tracks' raw inputs and their C-simulation scores."""

    parameters: FixedParameters
    x_raw: np.ndarray
    csim_scores: np.ndarray


@pytest.fixture(scope="module")
def hls4ml_inputs(
    imported_run: ImportedRun, tmp_path_factory: pytest.TempPathFactory
) -> Hls4mlInputs:
    config = imported_run.config
    parameters = csim_final_parameters(config, imported_run.workspace)
    tb_data = imported_run.workspace.hls / "tb_data"
    streams = [
        stream_files.read_stream(tb_data / name, config.precision.input)
        for name in pipeline.experience_names(config)
    ]
    x_raw = np.concatenate([stream.features for stream in streams])
    scores = hls4ml_check.csim_inference(
        imported_run.workspace.hls,
        config,
        parameters,
        streams,
        tmp_path_factory.mktemp("csim_infer"),
    )
    return Hls4mlInputs(parameters, x_raw, scores)


@pytest.fixture(scope="module", params=hls4ml_check.IO_TYPES)
def hls4ml_run(
    request,
    imported_run: ImportedRun,
    hls4ml_inputs: Hls4mlInputs,
    tmp_path_factory: pytest.TempPathFactory,
) -> hls4ml_check.Hls4mlRun:
    folder = tmp_path_factory.mktemp(f"hls4ml_{request.param}")
    return hls4ml_check.run_hls4ml(
        imported_run.config, hls4ml_inputs.parameters, hls4ml_inputs.x_raw, request.param, folder
    )


def test_hls4ml_layers_equal_emulator(imported_run, hls4ml_inputs, hls4ml_run):
    comparison = hls4ml_check.compare(
        imported_run.config, hls4ml_inputs.parameters, hls4ml_inputs.x_raw, hls4ml_run
    )
    assert comparison.n_tracks >= 1000
    for name in ("c1", "h1", "c2", "h2", "z"):
        agreement = comparison.agreement(name)
        assert agreement.exact, comparison.summary()
        assert (
            agreement.total
            == comparison.n_tracks * {"c1": 25, "h1": 25, "c2": 30, "h2": 30, "z": 1}[name]
        )


def test_hls4ml_scores_equal_emulator_and_csim(imported_run, hls4ml_inputs, hls4ml_run):
    comparison = hls4ml_check.compare(
        imported_run.config,
        hls4ml_inputs.parameters,
        hls4ml_inputs.x_raw,
        hls4ml_run,
        hls4ml_inputs.csim_scores,
    )
    assert comparison.agreement("score").exact, comparison.summary()
    assert comparison.csim.exact, comparison.summary()
    assert comparison.as_expected


def test_centre_table_scores_within_bound(imported_run, hls4ml_inputs, hls4ml_run):
    raw = {section: dict(values) for section, values in imported_run.config.raw.items()}
    raw["sigmoid"]["sample"] = "centre"
    centre = load_config(overrides=raw)
    comparison = hls4ml_check.compare(
        centre, hls4ml_inputs.parameters, hls4ml_inputs.x_raw, hls4ml_run
    )
    assert comparison.agreement("z").exact
    score = comparison.agreement("score")
    # 16 / 1024 / 8 = 2**-9, which is 128 LSBs of ap_ufixed<16,0>, plus 2 for rounding.
    assert comparison.score_bound == 130
    assert score.max_difference <= comparison.score_bound, comparison.summary()
    assert not score.exact  # the two tables differ, which is why sigmoid.sample exists
    assert comparison.as_expected
