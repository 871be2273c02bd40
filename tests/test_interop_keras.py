"""Import of Keras and QKeras models, its errors, and export of fixed-point weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from altmin_hls.config import load_config, validate
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import Emulator, FixedParameters
from altmin_hls.errors import AltminError, ConfigError
from altmin_hls.fixed import FixedType
from altmin_hls.interop.keras_io import (
    export_model,
    import_model,
    import_model_with_report,
    load_keras_model,
    merge_overrides,
)
from altmin_hls.reference.mlp import MLP

# The keras extra installs both; these guards only help where it is missing.
keras = pytest.importorskip("tensorflow").keras
qkeras = pytest.importorskip("qkeras")

WEIGHT_BITS = (14, 3)  # quantized_bits(14, 3) -> ap_fixed<14,4>
BIAS_BITS = (12, 3)
RELU_BITS = (13, 5)  # quantized_relu(13, 5) -> ap_ufixed<13,5>
INPUT_BITS = (16, 5)


def _bits(bits_integer, **options):
    options.setdefault("alpha", 1)
    return qkeras.quantized_bits(*bits_integer, **options)


def _qdense(units, name, activation=None, kernel=None, bias=None):
    return qkeras.QDense(
        units,
        kernel_quantizer=kernel or _bits(WEIGHT_BITS),
        bias_quantizer=bias or _bits(BIAS_BITS),
        activation=activation,
        name=name,
    )


def qkeras_classifier(seed: int = 0, scale: float = 2.0):
    """Return a 5-25-30-1 QKeras model with random off-grid float weights."""
    inputs = keras.Input((5,), name="features")
    # QActivation quantisers as strings: Keras cannot load them from .keras files otherwise.
    x = qkeras.QActivation("quantized_bits({},{},alpha=1)".format(*INPUT_BITS), name="input_q")(
        inputs
    )
    x = _qdense(25, "q1", activation=qkeras.quantized_relu(*RELU_BITS))(x)
    x = keras.layers.Dropout(0.1, name="drop")(x)
    x = _qdense(30, "q2")(x)
    x = qkeras.QActivation("quantized_relu({},{})".format(*RELU_BITS), name="a2")(x)
    x = _qdense(1, "q3")(x)
    outputs = keras.layers.Activation("sigmoid", name="out")(x)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        arrays = layer.get_weights()
        if arrays:
            layer.set_weights([rng.normal(0.0, scale, a.shape).astype(np.float32) for a in arrays])
    return model


def _imported_config(overrides):
    return validate(merge_overrides(load_config().raw, overrides))


# ---- import ------------------------------------------------------------------------------


def test_qkeras_quantisers_set_precisions():
    overrides, model = import_model(qkeras_classifier())
    assert overrides["network"] == {"sizes": [5, 25, 30, 1]}
    assert overrides["precision"] == {
        "input": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
        "weight": "ap_fixed<14,4,AP_RND_CONV,AP_SAT>",
        "bias": "ap_fixed<12,4,AP_RND_CONV,AP_SAT>",
        "activation": "ap_ufixed<13,5,AP_RND_CONV,AP_SAT>",
    }
    assert model.sizes == (5, 25, 30, 1)


def test_import_takes_quantised_weights():
    keras_model = qkeras_classifier()
    layer = keras_model.get_layer("q1")
    kernel, bias = layer.get_weights()
    kernel[0, :2] = [20.0, -20.0]  # beyond ap_fixed<14,4>, so clipped
    layer.set_weights([kernel, bias])
    overrides, model = import_model(keras_model)
    config = _imported_config(overrides)
    path = Datapath.from_config(config)
    for index, name in enumerate(("q1", "q2", "q3")):
        layer = keras_model.get_layer(name)
        kernel, bias = layer.get_weights()
        quantised = np.asarray(layer.kernel_quantizer_internal(kernel), np.float64)
        assert np.allclose(model.weights[index], quantised.T, rtol=0, atol=1e-6)
        assert not np.array_equal(model.weights[index], kernel.T.astype(np.float64))
        # Exactly on the grid of the weight type, so generate rounds nothing.
        raw = path.weight.from_float(model.weights[index])
        assert np.array_equal(path.weight.to_float(raw), model.weights[index])
        raw_bias = path.bias.from_float(model.biases[index])
        assert np.array_equal(path.bias.to_float(raw_bias), model.biases[index])
    assert model.weights[0][0, 0] == path.weight.to_float(path.weight.max_raw)
    assert model.weights[0][1, 0] == path.weight.to_float(path.weight.min_raw)


def test_dropout_is_skipped_and_reported():
    _, _, report = import_model_with_report(qkeras_classifier())
    assert report.skipped == ["drop"]
    assert report.float_weights == []


def test_plain_keras_keeps_default_precisions():
    inputs = keras.Input((5,))
    x = keras.layers.Dense(25, activation="relu", name="d1")(inputs)
    x = keras.layers.Dense(30, name="d2")(x)
    x = keras.layers.ReLU(name="r2")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="d3")(x)
    keras_model = keras.Model(inputs, outputs)
    overrides, model, report = import_model_with_report(keras_model)
    assert overrides == {"network": {"sizes": [5, 25, 30, 1]}}
    assert report.float_weights == ["d1", "d2", "d3"]
    kernel, bias = keras_model.get_layer("d2").get_weights()
    assert np.array_equal(model.weights[1], kernel.T.astype(np.float64))
    assert np.array_equal(model.biases[1], bias.astype(np.float64))


def test_sequential_model_with_other_sizes():
    keras_model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8),
            keras.layers.Activation("relu"),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dense(1),
            keras.layers.Activation("sigmoid"),
        ]
    )
    overrides, model = import_model(keras_model)
    assert overrides["network"]["sizes"] == [5, 8, 6, 1]
    assert model.sizes == (5, 8, 6, 1)


def test_import_from_file_equals_in_memory(tmp_path: Path):
    keras_model = qkeras_classifier()
    for suffix in (".h5", ".keras"):
        path = tmp_path / f"model{suffix}"
        keras_model.save(path)
        from_file = import_model(path)
        in_memory = import_model(keras_model)
        assert from_file[0] == in_memory[0]
        for a, b in zip(from_file[1].parameters(), in_memory[1].parameters()):
            assert np.array_equal(a, b)


def test_unsigned_quantiser_becomes_signed_type():
    inputs = keras.Input((5,))
    x = _qdense(25, "q1", activation="relu", kernel=_bits((8, 2), keep_negative=False))(inputs)
    x = _qdense(30, "q2", activation="relu", kernel=_bits((8, 2), keep_negative=False))(x)
    outputs = _qdense(1, "q3", activation="sigmoid", kernel=_bits((8, 2), keep_negative=False))(x)
    overrides, _ = import_model(keras.Model(inputs, outputs))
    # ap_fixed<9,3> contains every value of ap_ufixed<8,2>.
    assert overrides["precision"]["weight"] == "ap_fixed<9,3,AP_RND_CONV,AP_SAT>"


def test_symmetric_quantiser_saturates_symmetrically():
    inputs = keras.Input((5,))
    kernel = _bits(WEIGHT_BITS, symmetric=1)
    x = _qdense(25, "q1", activation="relu", kernel=kernel)(inputs)
    x = _qdense(30, "q2", activation="relu", kernel=_bits(WEIGHT_BITS, symmetric=1))(x)
    outputs = _qdense(1, "q3", activation="sigmoid", kernel=_bits(WEIGHT_BITS, symmetric=1))(x)
    overrides, _ = import_model(keras.Model(inputs, outputs))
    assert overrides["precision"]["weight"] == "ap_fixed<14,4,AP_RND_CONV,AP_SAT_SYM>"


def test_accumulator_widened_for_wide_weights():
    inputs = keras.Input((5,))
    x = _qdense(25, "q1", activation="relu", kernel=_bits((24, 3)))(inputs)
    x = _qdense(30, "q2", activation="relu", kernel=_bits((24, 3)))(x)
    outputs = _qdense(1, "q3", activation="sigmoid", kernel=_bits((24, 3)))(x)
    overrides, _ = import_model(keras.Model(inputs, outputs))
    # 20 weight fraction bits + 10 activation fraction bits need more than ap_fixed<48,20>'s 28.
    accumulator = FixedType.parse(overrides["precision"]["accumulator"])
    assert accumulator.frac == 30
    assert accumulator.integer >= 20
    _imported_config(overrides)  # valid


# ---- import errors -----------------------------------------------------------------------


def _chain(*layers, input_size=5):
    inputs = keras.Input((input_size,))
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def _standard(**replace):
    layers = {
        "d1": keras.layers.Dense(25, activation="relu", name="d1"),
        "d2": keras.layers.Dense(30, activation="relu", name="d2"),
        "d3": keras.layers.Dense(1, activation="sigmoid", name="d3"),
    }
    layers.update(replace)
    return [layer for layer in layers.values() if layer is not None]


ERROR_CASES = {
    "batch normalisation": (
        lambda: _chain(
            keras.layers.Dense(25, name="d1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.ReLU(),
            *_standard(d1=None),
        ),
        r"layer 'bn' \(BatchNormalization\) is not supported",
    ),
    "convolution": (
        lambda: _chain(
            keras.layers.Reshape((5, 1), name="shape"), keras.layers.Conv1D(2, 3, name="conv")
        ),
        r"layer 'shape' \(Reshape\) is not supported",
    ),
    "alpha auto_po2 from QDense default": (
        lambda: _chain(
            qkeras.QDense(
                25, kernel_quantizer=qkeras.quantized_bits(14, 3), activation="relu", name="q1"
            ),
            *_standard(d1=None),
        ),
        r"layer 'q1' \(QDense\) kernel_quantizer has alpha='auto_po2'.*Pass alpha=1",
    ),
    "alpha two": (
        lambda: _chain(
            _qdense(25, "q1", activation="relu", bias=qkeras.quantized_bits(12, 3, alpha=2.0)),
            *_standard(d1=None),
        ),
        r"layer 'q1' \(QDense\) bias_quantizer has alpha=2.0",
    ),
    "four inputs": (
        lambda: _chain(*_standard(), input_size=4),
        r"layer 'd1' \(Dense\) takes 4 inputs; expected 5",
    ),
    "two outputs": (
        lambda: _chain(*_standard(d3=keras.layers.Dense(2, activation="sigmoid", name="d3"))),
        r"layer 'd3' \(Dense\) has 2 units; the output layer must have 1",
    ),
    "tanh": (
        lambda: _chain(*_standard(d2=keras.layers.Dense(30, activation="tanh", name="d2"))),
        r"layer 'd2' \(Dense\) has activation 'tanh'",
    ),
    "no sigmoid": (
        lambda: _chain(*_standard(d3=keras.layers.Dense(1, name="d3"))),
        r"the model ends after layer 'd3', but a sigmoid must follow",
    ),
    "three hidden layers": (
        lambda: _chain(
            keras.layers.Dense(25, activation="relu", name="d1"),
            keras.layers.Dense(30, activation="relu", name="d2"),
            keras.layers.Dense(4, activation="relu", name="extra"),
            keras.layers.Dense(1, activation="sigmoid", name="d3"),
        ),
        r"layer 'extra' \(Dense\) relu is a ReLU where a sigmoid must be",
    ),
    "layer after the sigmoid": (
        lambda: _chain(*_standard(), keras.layers.Dense(1, name="after")),
        r"layer 'after' \(Dense\) follows the sigmoid output",
    ),
    "missing relu": (
        lambda: _chain(*_standard(d1=keras.layers.Dense(25, name="d1"))),
        r"layer 'd2' \(Dense\) is a Dense layer where a ReLU must be",
    ),
    "leaky quantized_relu": (
        lambda: _chain(
            keras.layers.Dense(25, name="d1"),
            qkeras.QActivation(qkeras.quantized_relu(8, 3, negative_slope=0.25), name="leaky"),
            *_standard(d1=None),
        ),
        r"layer 'leaky' \(QActivation\) activation has negative_slope=0.25",
    ),
    "capped ReLU layer": (
        lambda: _chain(
            keras.layers.Dense(25, name="d1"),
            keras.layers.ReLU(max_value=6.0, name="relu6"),
            *_standard(d1=None),
        ),
        r"layer 'relu6' \(ReLU\) has options",
    ),
    "different weight quantisers": (
        lambda: _chain(
            _qdense(25, "q1", activation="relu"),
            _qdense(30, "q2", activation="relu", kernel=_bits((10, 2))),
            _qdense(1, "q3", activation="sigmoid"),
        ),
        r"layer 'q2' has weight type ap_fixed<10,3.*but layer 'q1' has ap_fixed<14,4",
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_import_error_names_layer(case: str):
    build, message = ERROR_CASES[case]
    with pytest.raises(ConfigError, match=message):
        import_model(build())


def test_branching_model_is_rejected():
    inputs = keras.Input((5,))
    a = keras.layers.Dense(25, activation="relu", name="a")(inputs)
    b = keras.layers.Dense(25, activation="relu", name="b")(inputs)
    x = keras.layers.Add(name="sum")([a, b])
    x = keras.layers.Dense(30, activation="relu", name="d2")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="d3")(x)
    with pytest.raises(
        ConfigError, match=r"layer 'b' \(Dense\) does not take the output of layer 'a'"
    ):
        import_model(keras.Model(inputs, outputs))


def test_missing_model_file(tmp_path: Path):
    with pytest.raises(AltminError, match="not found"):
        import_model(tmp_path / "absent.h5")


def test_text_file_named_h5(tmp_path: Path):
    path = tmp_path / "model.h5"
    path.write_text("not a model\n")
    with pytest.raises(AltminError, match="is not an HDF5 file"):
        import_model(path)


def test_wrong_model_suffix(tmp_path: Path):
    path = tmp_path / "model.onnx"
    path.write_text("")
    with pytest.raises(AltminError, match=r"suffix '.onnx'; expected one of .h5, .keras"):
        import_model(path)


# ---- export ------------------------------------------------------------------------------


def _full_range_parameters(config, seed: int = 3) -> FixedParameters:
    """Return random raw parameters that include each type's minimum and maximum."""
    path = Datapath.from_config(config)
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in zip(config.sizes[:-1], config.sizes[1:]):
        w = rng.integers(path.weight.min_raw, path.weight.max_raw + 1, (n_out, n_in))
        b = rng.integers(path.bias.min_raw, path.bias.max_raw + 1, n_out)
        w.flat[:2] = [path.weight.min_raw, path.weight.max_raw]
        b[:1] = path.bias.max_raw
        weights.append(w.astype(np.int64))
        biases.append(b.astype(np.int64))
    return FixedParameters(weights, biases)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_qkeras_export_round_trips_raw_weights(tmp_path: Path, suffix: str):
    overrides, _ = import_model(qkeras_classifier())
    config = _imported_config(overrides)
    parameters = _full_range_parameters(config)
    path = export_model(parameters, config, tmp_path / f"learned{suffix}")
    again, model = import_model(path)
    assert again["precision"] == overrides["precision"]
    back = FixedParameters.from_mlp(model, Datapath.from_config(_imported_config(again)))
    assert np.array_equal(back.to_vector(), parameters.to_vector())


def test_plain_export_contains_dequantised_weights(tmp_path: Path):
    config = load_config()
    path = Datapath.from_config(config)
    parameters = _full_range_parameters(config)
    file = export_model(parameters, config, tmp_path / "learned.keras", qkeras=False)
    loaded = keras.models.load_model(file, compile=False)
    assert [layer.name for layer in loaded.layers] == [
        "tracks",
        "dense1",
        "relu1",
        "dense2",
        "relu2",
        "dense3",
        "sigmoid",
    ]
    for index in range(3):
        kernel, bias = loaded.get_layer(f"dense{index + 1}").get_weights()
        assert np.array_equal(
            kernel.T.astype(np.float64), path.weight.to_float(parameters.weights[index])
        )
        assert np.array_equal(bias.astype(np.float64), path.bias.to_float(parameters.biases[index]))


def test_qkeras_export_scores_close_to_emulator(tmp_path: Path):
    config = load_config()
    path = Datapath.from_config(config)
    rng = np.random.default_rng(5)
    parameters = FixedParameters.from_mlp(MLP.init(config.sizes, rng), path)
    loaded = load_keras_model(export_model(parameters, config, tmp_path / "m.h5"))
    x_raw = path.input.from_float(rng.uniform(-1, 1, (200, 5)))
    keras_scores = loaded.predict(path.input.to_float(x_raw), verbose=0)[:, 0]
    emulator_scores = path.score.to_float(Emulator(path, parameters).infer(x_raw))
    # Same weights, but a float sigmoid and no code rounding: the 1024-entry table alone
    # differs from the float sigmoid by up to 2**-9.
    assert np.max(np.abs(keras_scores - emulator_scores)) < 0.01


def test_export_rejects_weights_beyond_float32(tmp_path: Path):
    config = load_config(
        overrides={
            "precision": {
                "weight": "ap_fixed<30,6,AP_RND,AP_SAT>",
                "accumulator": "ap_fixed<60,20>",
            }
        }
    )
    parameters = _full_range_parameters(config)
    parameters.weights[0][0, 0] = (1 << 28) + 1  # 29 significant bits
    with pytest.raises(ConfigError, match=r"precision.weight.*24 significant bits of float32"):
        export_model(parameters, config, tmp_path / "m.h5")


def test_export_rejects_other_suffix(tmp_path: Path):
    config = load_config()
    with pytest.raises(AltminError, match=r"suffix '.pb'"):
        export_model(_full_range_parameters(config), config, tmp_path / "m.pb")


def test_export_rejects_size_mismatch(tmp_path: Path):
    config = load_config()
    small = load_config(overrides={"network": {"sizes": [5, 4, 3, 1]}})
    with pytest.raises(ConfigError, match=r"sizes \[5, 4, 3, 1\].*network.sizes"):
        export_model(_full_range_parameters(small), config, tmp_path / "m.h5")
