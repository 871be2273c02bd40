"""Import a Keras or QKeras track classifier, and export fixed-point weights as one.

Supported models are a single chain ``Input(5) -> Dense(n1) -> ReLU -> Dense(n2) -> ReLU ->
Dense(1) -> sigmoid``. A Dense layer may be a QKeras ``QDense``. A ReLU may be an
``Activation``, a ``ReLU`` layer, a ``QActivation(quantized_relu)`` or the Dense layer's
``activation`` argument. An optional ``QActivation(quantized_bits)`` directly after the
input sets the input type. Dropout and noise layers are skipped, because they are the
identity at inference.

QKeras quantisers set the precisions. ``quantized_bits(bits, integer)`` is
``ap_fixed<bits, integer + 1>``, and ``quantized_relu(bits, integer)`` is
``ap_ufixed<bits, integer>``. QKeras rounds with ``tf.round`` (half to even) and clips, so
the imported types use ``AP_RND_CONV`` with ``AP_SAT`` (``AP_SAT_SYM`` for a symmetric
quantiser). QKeras keeps float shadow weights, and the layer computes with
``quantizer(kernel)``. These quantised values are what the import takes, so each imported
weight is exactly representable in its type and ``generate`` rounds nothing. Plain Keras
layers keep the config's precisions, and their float weights are rounded by ``generate``.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from altmin_hls.config import Config, load_config, validate
from altmin_hls.emulator.datapath import Datapath, exact_dot_type, exact_type
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import AltminError, ConfigError
from altmin_hls.fixed import FixedType
from altmin_hls.reference.mlp import MLP

log = logging.getLogger(__name__)

SUPPORTED_MODEL = "Input(5) -> Dense(n1) -> ReLU -> Dense(n2) -> ReLU -> Dense(1) -> sigmoid"
N_FEATURES = 5
MODEL_SUFFIXES = (".h5", ".keras")
# tf.round rounds half to even, and QKeras quantisers clip to the representable range.
QKERAS_QUANTIZATION = "AP_RND_CONV"
QKERAS_OVERFLOW = "AP_SAT"
# Layers that are the identity at inference.
SKIPPED_LAYERS = (
    "Dropout",
    "SpatialDropout1D",
    "AlphaDropout",
    "GaussianDropout",
    "GaussianNoise",
    "ActivityRegularization",
)
# Names of the layers that export_model writes; hls4ml_check configures hls4ml by them.
INPUT_NAME = "tracks"
INPUT_QUANTIZER_NAME = "input_quantizer"
DENSE_NAMES = ("dense1", "dense2", "dense3")
RELU_NAMES = ("relu1", "relu2")
SIGMOID_NAME = "sigmoid"
EXPECTED_STEPS = ("dense", "relu", "dense", "relu", "dense", "sigmoid")
STEP_NAMES = {
    "input_quantizer": "quantized_bits input quantiser",
    "dense": "Dense layer",
    "relu": "ReLU",
    "sigmoid": "sigmoid",
}


# ---- optional dependencies ---------------------------------------------------------------


def keras_module() -> Any:
    """Import TensorFlow's Keras, or raise AltminError with the install command."""
    # Level 3 keeps TensorFlow's C++ logs (CPU features, missing CUDA libraries) off the
    # console. Failures still raise Python exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from tensorflow import keras
    except ImportError as exc:
        raise AltminError(
            f"TensorFlow is not installed ({exc}); install the keras extra: "
            "pip install -e '.[keras]'"
        ) from exc
    return keras


def qkeras_module() -> Any:
    """Import QKeras, or raise AltminError with the install command."""
    keras_module()
    try:
        import qkeras
    except ImportError as exc:
        raise AltminError(
            f"QKeras is not installed ({exc}); install the keras extra: pip install -e '.[keras]'"
        ) from exc
    return qkeras


def _qkeras_or_none() -> Any:
    try:
        return qkeras_module()
    except AltminError:
        return None


def load_keras_model(path: str | Path) -> Any:
    """Load a ``.h5`` or ``.keras`` model file, with the QKeras layers if QKeras is installed."""
    path = Path(path)
    if not path.exists():
        raise AltminError(f"model file {path} not found")
    if path.suffix not in MODEL_SUFFIXES:
        raise AltminError(
            f"model file {path} has suffix '{path.suffix}'; expected one of "
            f"{', '.join(MODEL_SUFFIXES)}"
        )
    if path.suffix == ".h5" and path.is_file():
        with open(path, "rb") as handle:
            # HDF5 files that Keras writes start with the 8-byte HDF5 signature (no user block).
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                raise AltminError(
                    f"model file {path} is not an HDF5 file; save the model with model.save"
                )
    keras = keras_module()
    qkeras = _qkeras_or_none()
    custom_objects: dict[str, Any] = {}
    if qkeras is not None:
        from qkeras.utils import _add_supported_quantized_objects

        _add_supported_quantized_objects(custom_objects)
    try:
        return keras.models.load_model(path, custom_objects=custom_objects, compile=False)
    except (OSError, ValueError, TypeError) as exc:
        hint = (
            "" if qkeras is not None else " (QKeras is not installed, so QKeras layers are unknown)"
        )
        raise AltminError(f"cannot load model file {path}{hint}: {exc}") from exc


# ---- quantisers --------------------------------------------------------------------------


def _quantizer_config(quantizer: Any) -> dict[str, Any]:
    config = dict(quantizer.get_config())
    for key, value in config.items():
        if hasattr(value, "numpy"):  # tf.Variable when the quantiser uses variables
            config[key] = value.numpy()
    return config


def _is_unit_alpha(alpha: Any) -> bool:
    if alpha is None:
        return True
    if isinstance(alpha, (bool, str)):
        return False
    try:
        return np.ndim(alpha) == 0 and float(alpha) == 1.0
    except (TypeError, ValueError):
        return False


def bits_type(quantizer: Any, where: str) -> FixedType:
    """Return the signed type of a ``quantized_bits`` quantiser; ``where`` names it in errors.

    An unsigned quantiser (``keep_negative=False``), ``ap_ufixed<bits, integer>``, becomes
    ``ap_fixed<bits + 1, integer + 1>``, which contains the same values. The input, weight
    and bias types must be signed, because the features and on-chip learned weights can be
    negative.
    """
    name = type(quantizer).__name__
    if name != "quantized_bits":
        raise ConfigError(f"{where} is {name}; only quantized_bits is supported here")
    config = _quantizer_config(quantizer)
    alpha = config.get("alpha")
    if not _is_unit_alpha(alpha):
        raise ConfigError(
            f"{where} has alpha={alpha!r}; only alpha=1 is supported, because the firmware has "
            "no per-channel scale. Pass alpha=1 to quantized_bits: QDense turns alpha=None into "
            "alpha='auto_po2'"
        )
    if float(config.get("qnoise_factor", 1.0)) != 1.0:
        raise ConfigError(
            f"{where} has qnoise_factor={config['qnoise_factor']}; only 1.0 (fully quantised) "
            "is supported"
        )
    bits = int(config["bits"])
    integer = int(config["integer"])
    keep_negative = bool(config.get("keep_negative", True))
    if bits - keep_negative < 1:
        raise ConfigError(f"{where} is a binary quantiser ({bits} bit); use at least 2 bits")
    try:
        if keep_negative:
            overflow = "AP_SAT_SYM" if config.get("symmetric") else QKERAS_OVERFLOW
            return FixedType(bits, integer + 1, True, QKERAS_QUANTIZATION, overflow)
        return FixedType(bits + 1, integer + 1, True, QKERAS_QUANTIZATION, QKERAS_OVERFLOW)
    except ValueError as exc:
        raise ConfigError(f"{where} has no supported fixed-point type: {exc}") from exc


def relu_type(quantizer: Any, where: str) -> FixedType:
    """Return the activation type ``ap_ufixed<bits, integer>`` of a ``quantized_relu``."""
    config = _quantizer_config(quantizer)
    if config.get("use_sigmoid"):
        raise ConfigError(f"{where} has use_sigmoid set; only a plain quantized_relu is supported")
    if float(config.get("negative_slope", 0.0)) != 0.0:
        raise ConfigError(
            f"{where} has negative_slope={config['negative_slope']}; the firmware's ReLU has "
            "slope 0 below zero"
        )
    if float(config.get("qnoise_factor", 1.0)) != 1.0:
        raise ConfigError(
            f"{where} has qnoise_factor={config['qnoise_factor']}; only 1.0 is supported"
        )
    if config.get("relu_upper_bound") is not None and not getattr(
        quantizer, "is_quantized_clip", True
    ):
        raise ConfigError(
            f"{where} clips at relu_upper_bound={config['relu_upper_bound']}; only the clip at "
            "the type's maximum (is_quantized_clip=True) is supported"
        )
    try:
        return FixedType(
            int(config["bits"]), int(config["integer"]), False, QKERAS_QUANTIZATION, QKERAS_OVERFLOW
        )
    except ValueError as exc:
        raise ConfigError(f"{where} has no supported fixed-point type: {exc}") from exc


def quantized_values(quantizer: Any, values: np.ndarray) -> np.ndarray:
    """Return ``quantizer(values)`` as float64, computed without the straight-through estimator.

    A QKeras quantiser returns ``x + stop_gradient(xq - x)``, which float32 can round away
    from ``xq`` where the two are far apart (clipped weights). A copy with ``use_ste=False``
    returns ``0 * x + xq``, which is ``xq`` exactly.
    """
    exact = type(quantizer)(**_quantizer_config(quantizer), use_ste=False)
    return np.asarray(exact(np.asarray(values, np.float32)), np.float64)


# ---- import ------------------------------------------------------------------------------


@dataclass
class _Step:
    """One step of the network found in the model, and the layer that computes it."""

    kind: str  # "input_quantizer", "dense", "relu" or "sigmoid"
    layer: str
    description: str
    fixed_type: FixedType | None = None  # input, activation
    weight: np.ndarray | None = None  # (n_out, n_in)
    bias: np.ndarray | None = None
    weight_type: FixedType | None = None
    bias_type: FixedType | None = None


@dataclass
class ImportReport:
    """Layers that the import skipped, and layers whose float weights ``generate`` rounds."""

    skipped: list[str] = field(default_factory=list)
    float_weights: list[str] = field(default_factory=list)  # layers without a quantiser


def _describe(layer: Any) -> str:
    return f"layer '{layer.name}' ({type(layer).__name__})"


def _activation_step(activation: Any, layer: Any) -> _Step | None:
    """Return the step of an activation given as a function, a name or a QKeras quantiser."""
    if activation is None:
        return None
    where = _describe(layer)
    name = type(activation).__name__
    if name == "quantized_relu":
        return _Step(
            "relu",
            layer.name,
            f"{where} quantized_relu",
            relu_type(activation, f"{where} activation"),
        )
    if name == "quantized_bits":
        return _Step(
            "input_quantizer",
            layer.name,
            f"{where} quantized_bits",
            bits_type(activation, f"{where} quantiser"),
        )
    function = activation if isinstance(activation, str) else getattr(activation, "__name__", name)
    if function == "linear":
        return None
    if function in ("relu", "sigmoid"):
        return _Step(function, layer.name, f"{where} {function}")
    raise ConfigError(
        f"{where} has activation '{function}'; supported activations are relu (or "
        f"quantized_relu) after the hidden layers and sigmoid at the output ({SUPPORTED_MODEL})"
    )


def _dense_steps(layer: Any, class_name: str) -> list[_Step]:
    where = _describe(layer)
    arrays = layer.get_weights()
    kernel = np.asarray(arrays[0], np.float64)
    bias = np.asarray(arrays[1], np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
    step = _Step("dense", layer.name, where)
    if class_name == "QDense":
        kernel_quantizer = layer.kernel_quantizer_internal
        bias_quantizer = layer.bias_quantizer_internal if layer.use_bias else None
        if kernel_quantizer is not None:
            step.weight_type = bits_type(kernel_quantizer, f"{where} kernel_quantizer")
            kernel = quantized_values(kernel_quantizer, kernel)
        if bias_quantizer is not None:
            step.bias_type = bits_type(bias_quantizer, f"{where} bias_quantizer")
            bias = quantized_values(bias_quantizer, bias)
    # Keras kernels are (n_in, n_out); MLP weights are (n_out, n_in).
    step.weight = kernel.T.copy()
    step.bias = bias
    steps = [step]
    activation = _activation_step(layer.activation, layer)
    if activation is not None:
        steps.append(activation)
    return steps


def _layer_steps(layer: Any, report: ImportReport) -> list[_Step]:
    """Return the steps of one Keras layer; raise ConfigError for an unsupported layer."""
    name = type(layer).__name__
    where = _describe(layer)
    if name == "InputLayer":
        return []
    if name in SKIPPED_LAYERS:
        log.info("skipped %s: it is the identity at inference", where)
        report.skipped.append(layer.name)
        return []
    if name in ("Dense", "QDense"):
        return _dense_steps(layer, name)
    if name == "Activation":
        step = _activation_step(layer.activation, layer)
        return [] if step is None else [step]
    if name == "QActivation":
        step = _activation_step(layer.quantizer, layer)
        return [] if step is None else [step]
    if name == "ReLU":
        options = {
            "max_value": layer.max_value,
            "negative_slope": layer.negative_slope,
            "threshold": layer.threshold,
        }
        if (
            options["max_value"] is not None
            or float(options["negative_slope"]) != 0
            or float(options["threshold"]) != 0
        ):
            raise ConfigError(f"{where} has options {options}; only a plain ReLU is supported")
        return [_Step("relu", layer.name, f"{where} relu")]
    raise ConfigError(f"{where} is not supported; supported models are {SUPPORTED_MODEL}")


def _check_chain(model: Any) -> None:
    """Raise ConfigError unless every layer takes the output of the layer before it."""
    previous = None
    for layer in model.layers:
        if previous is not None:
            inputs = layer.input if isinstance(layer.input, list) else [layer.input]
            if len(inputs) != 1 or inputs[0] is not previous.output:
                raise ConfigError(
                    f"{_describe(layer)} does not take the output of layer '{previous.name}'; "
                    f"the model must be a single chain {SUPPORTED_MODEL}"
                )
        previous = layer


def _match_steps(steps: list[_Step]) -> list[_Step]:
    """Check the order of the steps; return them without the optional input quantiser."""
    body = steps[1:] if steps and steps[0].kind == "input_quantizer" else steps
    for index, expected in enumerate(EXPECTED_STEPS):
        if index >= len(body):
            last = f"layer '{body[-1].layer}'" if body else "the input"
            raise ConfigError(
                f"the model ends after {last}, but a {STEP_NAMES[expected]} must follow; "
                f"supported models are {SUPPORTED_MODEL}"
            )
        if body[index].kind != expected:
            raise ConfigError(
                f"{body[index].description} is a {STEP_NAMES[body[index].kind]} where a "
                f"{STEP_NAMES[expected]} must be; supported models are {SUPPORTED_MODEL}"
            )
    if len(body) > len(EXPECTED_STEPS):
        raise ConfigError(
            f"{body[len(EXPECTED_STEPS)].description} follows the sigmoid output; supported "
            f"models are {SUPPORTED_MODEL}"
        )
    return body


def _check_sizes(model: Any, dense: list[_Step]) -> None:
    if dense[0].weight.shape[1] != N_FEATURES:
        raise ConfigError(
            f"{dense[0].description} takes {dense[0].weight.shape[1]} inputs; expected "
            f"{N_FEATURES}: eta, phi, pt, z0, dz"
        )
    if dense[-1].weight.shape[0] != 1:
        raise ConfigError(
            f"{dense[-1].description} has {dense[-1].weight.shape[0]} units; the output layer "
            "must have 1"
        )
    inputs = getattr(model, "inputs", None) or []
    shapes = [tuple(tensor.shape) for tensor in inputs]
    if len(shapes) != 1 or len(shapes[0]) != 2:
        raise ConfigError(
            f"the model has input shapes {shapes}; expected one input of shape (None, {N_FEATURES})"
        )


def _common_type(steps: list[_Step], attribute: str, role: str) -> FixedType | None:
    """Return the one type that the steps' quantisers set, or None if none sets it."""
    chosen: tuple[str, FixedType] | None = None
    for step in steps:
        fixed = getattr(step, attribute)
        if fixed is None:
            continue
        if chosen is not None and fixed != chosen[1]:
            raise ConfigError(
                f"layer '{step.layer}' has {role} type {fixed.cpp()}, but layer '{chosen[0]}' has "
                f"{chosen[1].cpp()}; the firmware has one {role} type for all layers, so use the "
                "same quantiser in each"
            )
        chosen = chosen or (step.layer, fixed)
    return None if chosen is None else chosen[1]


def _check_exact(values: np.ndarray, fixed: FixedType, where: str) -> None:
    raw = fixed.from_float(values)
    if not np.array_equal(fixed.to_float(raw), values):
        raise AltminError(
            f"{where}: quantised values are not exactly representable in {fixed.cpp()}; "
            "this is a bug in the quantiser mapping"
        )


def merge_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a config mapping with the sections of ``overrides`` updated."""
    merged = copy.deepcopy(raw)
    for section, values in overrides.items():
        merged[section] = {**merged.get(section, {}), **values}
    return merged


def _accumulator_override(raw: dict[str, Any]) -> str | None:
    """Return a wide enough accumulator type if the merged config's one is too narrow."""
    precision = {key: FixedType.parse(str(raw["precision"][key])) for key in raw["precision"]}
    sizes = raw["network"]["sizes"]
    layer_inputs = (precision["input"], precision["activation"], precision["activation"])
    integer, frac = precision["accumulator"].integer, precision["accumulator"].frac
    for n_in, a_type in zip(sizes[:-1], layer_inputs):
        need = exact_dot_type(precision["weight"], a_type, n_in, precision["bias"])
        integer, frac = max(integer, need.integer), max(frac, need.frac)
    current = precision["accumulator"]
    if (integer, frac) == (current.integer, current.frac):
        return None
    return exact_type(integer, frac).cpp()  # raises ConfigError beyond the emulator's width


def import_model(model_or_path: Any, base: Config | None = None) -> tuple[dict[str, Any], MLP]:
    """Import a Keras or QKeras model; return config overrides and the float model.

    ``model_or_path`` is a ``.h5`` or ``.keras`` file or an in-memory model. The overrides
    set ``network.sizes`` and the precisions that QKeras quantisers define (input,
    weight, bias, activation), plus a wider ``precision.accumulator`` when the base
    config's one cannot hold the exact sums of the imported types. ``base`` is the config
    they apply to (the default config when None), and the merged config is validated.
    Raises ConfigError naming the layer for an unsupported layer, activation, quantiser or
    size.
    """
    overrides, model, _ = import_model_with_report(model_or_path, base)
    return overrides, model


def import_model_with_report(
    model_or_path: Any, base: Config | None = None
) -> tuple[dict[str, Any], MLP, ImportReport]:
    """Do what ``import_model`` does, and also return which layers were skipped or left float."""
    if isinstance(model_or_path, (str, Path)):
        keras_model = load_keras_model(model_or_path)
    else:
        keras_model = model_or_path
    report = ImportReport()
    _check_chain(keras_model)
    steps = [step for layer in keras_model.layers for step in _layer_steps(layer, report)]
    input_quantizer = steps[0] if steps and steps[0].kind == "input_quantizer" else None
    body = _match_steps(steps)
    dense = [step for step in body if step.kind == "dense"]
    relus = [step for step in body if step.kind == "relu"]
    _check_sizes(keras_model, dense)

    precision: dict[str, str] = {}
    types = {
        "input": input_quantizer.fixed_type if input_quantizer else None,
        "weight": _common_type(dense, "weight_type", "weight"),
        "bias": _common_type(dense, "bias_type", "bias"),
        "activation": _common_type(relus, "fixed_type", "activation"),
    }
    for key, fixed in types.items():
        if fixed is not None:
            precision[key] = fixed.cpp()
    for step in dense:
        if step.weight_type is not None:
            _check_exact(step.weight, step.weight_type, f"{step.description} kernel")
        if step.bias_type is not None:
            _check_exact(step.bias, step.bias_type, f"{step.description} bias")
        if step.weight_type is None or step.bias_type is None:
            report.float_weights.append(step.layer)

    sizes = [N_FEATURES] + [step.weight.shape[0] for step in dense]
    overrides: dict[str, Any] = {"network": {"sizes": sizes}}
    if precision:
        overrides["precision"] = precision
    base_raw = (base if base is not None else load_config()).raw
    accumulator = _accumulator_override(merge_overrides(base_raw, overrides))
    if accumulator is not None:
        log.info(
            "widened precision.accumulator to %s for exact sums of the imported types", accumulator
        )
        overrides.setdefault("precision", {})["accumulator"] = accumulator
    validate(merge_overrides(base_raw, overrides))
    model = MLP(weights=[step.weight for step in dense], biases=[step.bias for step in dense])
    return overrides, model, report


# ---- export ------------------------------------------------------------------------------


def _float32_exact(values: np.ndarray, key: str, fixed: FixedType) -> np.ndarray:
    """Return the values as float32, or raise ConfigError where float32 would round one."""
    single = values.astype(np.float32)
    if not np.array_equal(single.astype(np.float64), values):
        raise ConfigError(
            f"config key 'precision.{key}' is {fixed.cpp()}; some of its values need more than "
            "the 24 significant bits of float32, in which Keras stores weights, so the export "
            "would round them"
        )
    return single


def _relu_quantizer_arguments(fixed: FixedType) -> tuple[int, int]:
    """Return quantized_relu (bits, integer) that hold the non-negative values of ``fixed``."""
    if fixed.signed:
        return fixed.width - 1, fixed.integer - 1
    return fixed.width, fixed.integer


def _bits_quantizer(qkeras: Any, fixed: FixedType) -> Any:
    return qkeras.quantized_bits(
        bits=fixed.width,
        integer=fixed.integer - 1,
        symmetric=fixed.overflow == "AP_SAT_SYM",
        keep_negative=True,
        alpha=1,
    )


# QActivation takes its quantiser as a string, because Keras 2.14 with QKeras 0.9.0 cannot
# load a .keras file whose QActivation was given a quantiser object.
def _bits_activation(fixed: FixedType) -> str:
    symmetric = int(fixed.overflow == "AP_SAT_SYM")
    return f"quantized_bits({fixed.width},{fixed.integer - 1},symmetric={symmetric},alpha=1)"


def _relu_activation(fixed: FixedType) -> str:
    bits, integer = _relu_quantizer_arguments(fixed)
    return f"quantized_relu({bits},{integer})"


def build_keras_model(parameters: FixedParameters, config: Config, qkeras: bool = True) -> Any:
    """Return an in-memory Keras model whose weights are the dequantised ``parameters``.

    With ``qkeras`` the model quantises its input, weights, biases and ReLU outputs with
    QKeras quantisers of the config's widths (QKeras always rounds half to even and
    saturates). The model takes the scaled features of ``altmin_hls.features``.
    Layer names are ``tracks``, ``input_quantizer`` (QKeras only), ``dense1``, ``relu1``,
    ``dense2``, ``relu2``, ``dense3`` and ``sigmoid``.
    """
    keras = keras_module()
    module = qkeras_module() if qkeras else None
    path = Datapath.from_config(config)
    p = config.precision
    tensor = inputs = keras.Input(shape=(N_FEATURES,), name=INPUT_NAME)
    if module is not None:
        tensor = module.QActivation(_bits_activation(p.input), name=INPUT_QUANTIZER_NAME)(tensor)
    dense_layers = []
    for index, (weight, bias) in enumerate(zip(parameters.weights, parameters.biases)):
        units = weight.shape[0]
        if module is not None:
            layer = module.QDense(
                units,
                kernel_quantizer=_bits_quantizer(module, p.weight),
                bias_quantizer=_bits_quantizer(module, p.bias),
                name=DENSE_NAMES[index],
            )
        else:
            layer = keras.layers.Dense(units, name=DENSE_NAMES[index])
        tensor = layer(tensor)
        dense_layers.append((layer, weight, bias))
        if index < len(RELU_NAMES):
            if module is not None:
                tensor = module.QActivation(_relu_activation(p.activation), name=RELU_NAMES[index])(
                    tensor
                )
            else:
                tensor = keras.layers.Activation("relu", name=RELU_NAMES[index])(tensor)
    outputs = keras.layers.Activation("sigmoid", name=SIGMOID_NAME)(tensor)
    model = keras.Model(inputs, outputs, name=config.name)
    for layer, weight, bias in dense_layers:
        kernel = _float32_exact(path.weight.to_float(weight), "weight", p.weight)
        values = _float32_exact(path.bias.to_float(bias), "bias", p.bias)
        layer.set_weights([kernel.T.copy(), values])
    return model


def export_model(
    weights: FixedParameters | MLP, config: Config, path: str | Path, qkeras: bool = True
) -> Path:
    """Write a Keras (``qkeras=False``) or QKeras model file of the weights; return its path.

    ``weights`` are firmware parameters (from C-simulation or the emulator), or a float
    model, which is first rounded to the config's weight and bias types as ``generate``
    rounds it. The file's weights equal the dequantised fixed-point values exactly, and
    ``import_model`` reads them back to the same raw integers. The model computes its
    hidden layers in float32 and its sigmoid in float, so its scores approximate the
    firmware's but are not bit-exact. The suffix (``.h5`` or ``.keras``) selects the format.
    """
    path = Path(path)
    if path.suffix not in MODEL_SUFFIXES:
        raise AltminError(
            f"model file {path} has suffix '{path.suffix}'; expected one of "
            f"{', '.join(MODEL_SUFFIXES)}"
        )
    datapath = Datapath.from_config(config)
    if isinstance(weights, MLP):
        weights = FixedParameters.from_mlp(weights, datapath)
    sizes = (weights.weights[0].shape[1],) + tuple(w.shape[0] for w in weights.weights)
    if sizes != tuple(config.sizes):
        raise ConfigError(
            f"the weights have sizes {list(sizes)}, but config key 'network.sizes' is "
            f"{list(config.sizes)}"
        )
    model = build_keras_model(weights, config, qkeras=qkeras)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Keras 2.14 calls HDF5 legacy, and warns that QKeras quantisers stored as kernel
        # constraints are not Constraint objects; QKeras loads both back correctly.
        warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
        warnings.filterwarnings("ignore", message=".*keras.constraints.serialize.*")
        model.save(path)
    log.info("wrote %s model %s", "QKeras" if qkeras else "Keras", path)
    return path
