"""Load, validate and describe a project config.

A config is a YAML file with the sections of ``default_config.yaml``. Keys left out take
the default. Every invalid value raises :class:`ConfigError` with the key, the value and
what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from altmin_hls.errors import ConfigError
from altmin_hls.fixed import FixedType

PRECISION_KEYS = (
    "input",
    "weight",
    "bias",
    "accumulator",
    "code",
    "activation",
    "gradient",
    "score",
)
PRETRAIN_METHODS = ("altmin", "altmin-hw", "sgd")
GENERATORS = ("parametric", "pythia")
# Sigmoid table variants (samples and index), which altmin_hls.emulator.datapath defines.
SIGMOID_SAMPLES = ("centre", "hls4ml")
# hls4ml 1.3.0 (nnet_activation.h) hard-codes a sigmoid table over [-8, 8).
HLS4ML_SIGMOID_RANGE = 8.0
MAX_BATCH_SIZE = 4096
# C++ keywords, and names that the generated project defines itself (files, the config
# struct, parameter arrays, library namespaces), which project.name would clash with.
RESERVED_NAMES = frozenset(
    """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char16_t
    char32_t class compl const constexpr const_cast continue decltype default delete do double
    dynamic_cast else enum explicit export extern false float for friend goto if inline int
    long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected
    public register reinterpret_cast return short signed sizeof static static_assert
    static_cast struct switch template this thread_local throw true try typedef typeid
    typename union unsigned using virtual void volatile wchar_t while xor xor_eq
    main config altmin altmin_axis defines parameters weights hls std
    w1 w2 w3 b1 b2 b3 g1 g2 g3 gb1 gb2 gb3""".split()
)
MAX_CODE_STEPS = 8


def load_default_dict() -> dict[str, Any]:
    """Return the default config as nested dictionaries."""
    text = resources.files("altmin_hls").joinpath("default_config.yaml").read_text()
    return yaml.safe_load(text)


def _merge(defaults: dict[str, Any], user: dict[str, Any], where: str) -> dict[str, Any]:
    merged = copy.deepcopy(defaults)
    for key, value in user.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in defaults:
            allowed = ", ".join(sorted(defaults))
            raise ConfigError(f"unknown config key '{path}'; allowed keys here: {allowed}")
        if isinstance(defaults[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{path}' must be a mapping, got {value!r}")
            merged[key] = _merge(defaults[key], value, path)
        else:
            merged[key] = value
    return merged


def _is_power_of_two(value: float) -> bool:
    if value <= 0 or not math.isfinite(value):
        return False
    mantissa, _ = math.frexp(value)
    return mantissa == 0.5


def _number(raw: dict[str, Any], section: str, key: str, kind: type) -> Any:
    value = raw[section][key]
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    if not ok:
        name = "an integer" if kind is int else "a finite number"
        raise ConfigError(f"config key '{section}.{key}' must be {name}, got {value!r}")
    return kind(value)


def _require(condition: bool, key: str, value: Any, allowed: str) -> None:
    if not condition:
        raise ConfigError(f"config key '{key}' has invalid value {value!r}; allowed: {allowed}")


@dataclass(frozen=True)
class Precisions:
    """The ``ap_fixed`` type of each tensor of the firmware."""

    input: FixedType
    weight: FixedType
    bias: FixedType
    accumulator: FixedType
    code: FixedType
    activation: FixedType
    gradient: FixedType
    score: FixedType


@dataclass(frozen=True)
class Config:
    """A validated project config; ``raw`` keeps the merged YAML mapping."""

    raw: dict[str, Any]
    name: str
    part: str
    clock_period: float
    reuse_factor: int
    sizes: tuple[int, ...]
    precision: Precisions
    sigmoid_table_size: int
    sigmoid_input_range: float
    code_steps: int
    code_lr_top: float
    code_lr_lower: float
    weight_lr: float
    batch_size: int
    pretrain_method: str
    pretrain_epochs: int
    pretrain_batch_size: int
    pretrain_seed: int
    generator: str
    pileup: float
    events_unsmeared: int
    events_per_experience: int
    experiences: int
    smearing_step: float
    data_seed: int
    sigmoid_sample: str = "centre"

    @property
    def weight_shift(self) -> int:
        """Return s with 2**-s = weight_lr / batch_size, the shift of the weight step."""
        return -int(round(math.log2(self.weight_lr / self.batch_size)))

    @property
    def n_parameters(self) -> int:
        """Return the number of weights and biases."""
        return sum((n_in + 1) * n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))

    def digest(self) -> str:
        """Return a short SHA-256 of the merged config, written into every generated file."""
        text = json.dumps(self.raw, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        """Return the merged config as YAML text."""
        return yaml.safe_dump(self.raw, sort_keys=False)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML config (or the default when ``path`` is None), merge it and validate it."""
    user: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections")
        user = loaded
    merged = _merge(load_default_dict(), user, "")
    if overrides:
        merged = _merge(merged, overrides, "")
    return validate(merged)


def _parse_precisions(raw: dict[str, Any]) -> Precisions:
    types = {}
    for key in PRECISION_KEYS:
        text = raw["precision"][key]
        try:
            types[key] = FixedType.parse(str(text))
        except ValueError as exc:
            raise ConfigError(f"config key 'precision.{key}': {exc}") from exc
    return Precisions(**types)


def validate(raw: dict[str, Any]) -> Config:
    """Check every value of a merged config mapping and build the :class:`Config`."""
    project = raw["project"]
    name = project["name"]
    _require(
        isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) is not None,
        "project.name",
        name,
        "a C++ identifier (letters, digits, underscore; not starting with a digit)",
    )
    part = project["part"]
    _require(
        isinstance(part, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", part) is not None,
        "project.part",
        part,
        "an FPGA part name of letters, digits, '-', '_' and '.'",
    )
    clock = _number(raw, "project", "clock_period", float)
    _require(0.5 <= clock <= 100.0, "project.clock_period", clock, "0.5 to 100 (ns)")
    reuse = _number(raw, "project", "reuse_factor", int)
    _require(reuse >= 1, "project.reuse_factor", reuse, "an integer >= 1")

    sizes = raw["network"]["sizes"]
    _require(
        isinstance(sizes, list)
        and len(sizes) == 4
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes)
        and sizes[0] == 5
        and sizes[-1] == 1,
        "network.sizes",
        sizes,
        "[5, n1, n2, 1]: five track features, two hidden layers, one output",
    )

    if name in RESERVED_NAMES:
        raise ConfigError(
            f"config key 'project.name' has invalid value {name!r}: it is a C++ keyword or a "
            "name the generated project already uses; choose another name"
        )
    precision = _parse_precisions(raw)
    for key in PRECISION_KEYS:
        fixed = getattr(precision, key)
        if not 0 <= fixed.integer <= fixed.width:
            raise ConfigError(
                f"config key 'precision.{key}' is {fixed.cpp()}; use 0 <= I <= W, because "
                "C-simulation of ap_fixed aborts on some assignments from types outside that range"
            )
    for key in ("input", "weight", "bias", "accumulator", "code", "gradient"):
        fixed = getattr(precision, key)
        if not fixed.signed:
            raise ConfigError(
                f"config key 'precision.{key}' is {fixed.cpp()}; these values can be "
                "negative, so use a signed ap_fixed type"
            )
    if precision.score.signed or precision.score.integer > 1:
        raise ConfigError(
            f"config key 'precision.score' is {precision.score.cpp()}; the score is a "
            "probability, so use an unsigned type with at most 1 integer bit, e.g. ap_ufixed<16,0>"
        )

    table = _number(raw, "sigmoid", "table_size", int)
    _require(
        _is_power_of_two(table) and 4 <= table <= 65536,
        "sigmoid.table_size",
        table,
        "a power of two from 4 to 65536",
    )
    table_range = _number(raw, "sigmoid", "input_range", float)
    _require(
        _is_power_of_two(table_range) and 0.5 <= table_range <= 64,
        "sigmoid.input_range",
        table_range,
        "a power of two from 0.5 to 64",
    )
    sample = raw["sigmoid"]["sample"]
    _require(sample in SIGMOID_SAMPLES, "sigmoid.sample", sample, ", ".join(SIGMOID_SAMPLES))
    if sample == "hls4ml" and table_range != HLS4ML_SIGMOID_RANGE:
        raise ConfigError(
            f"config key 'sigmoid.input_range' is {table_range!r}, but 'sigmoid.sample: hls4ml' "
            f"needs {HLS4ML_SIGMOID_RANGE}, because hls4ml's sigmoid table always covers [-8, 8)"
        )

    code_steps = _number(raw, "altmin", "code_steps", int)
    _require(1 <= code_steps <= MAX_CODE_STEPS, "altmin.code_steps", code_steps, f"1 to {MAX_CODE_STEPS}")
    for key in ("code_lr_top", "code_lr_lower"):
        value = _number(raw, "altmin", key, float)
        _require(
            _is_power_of_two(value) and 2.0**-16 <= value <= 16,
            f"altmin.{key}",
            value,
            "a power of two from 2**-16 to 16, so the step is a shift",
        )
    batch = _number(raw, "altmin", "batch_size", int)
    _require(
        _is_power_of_two(batch) and batch <= MAX_BATCH_SIZE,
        "altmin.batch_size",
        batch,
        f"a power of two from 1 to {MAX_BATCH_SIZE}, so that 1/batch_size is a shift",
    )
    weight_lr = _number(raw, "altmin", "weight_lr", float)
    _require(
        _is_power_of_two(weight_lr / batch) if weight_lr > 0 else False,
        "altmin.weight_lr",
        weight_lr,
        f"a positive value whose ratio to batch_size ({batch}) is a power of two",
    )

    pretrain = raw["pretrain"]
    _require(
        pretrain["method"] in PRETRAIN_METHODS,
        "pretrain.method",
        pretrain["method"],
        ", ".join(PRETRAIN_METHODS),
    )
    epochs = _number(raw, "pretrain", "epochs", int)
    _require(0 <= epochs <= 10000, "pretrain.epochs", epochs, "0 to 10000")
    pre_batch = _number(raw, "pretrain", "batch_size", int)
    _require(pre_batch >= 1, "pretrain.batch_size", pre_batch, "an integer >= 1")
    pre_seed = _number(raw, "pretrain", "seed", int)
    _require(pre_seed >= 0, "pretrain.seed", pre_seed, "an integer >= 0")

    data = raw["data"]
    _require(data["generator"] in GENERATORS, "data.generator", data["generator"], ", ".join(GENERATORS))
    pileup = _number(raw, "data", "pileup", float)
    _require(0 <= pileup <= 1000, "data.pileup", pileup, "0 to 1000")
    counts = {}
    for key in ("events_unsmeared", "events_per_experience", "experiences"):
        counts[key] = _number(raw, "data", key, int)
        _require(counts[key] >= 1, f"data.{key}", counts[key], "an integer >= 1")
    step = _number(raw, "data", "smearing_step", float)
    _require(step >= 0, "data.smearing_step", step, "a number >= 0")
    data_seed = _number(raw, "data", "seed", int)
    _require(data_seed >= 0, "data.seed", data_seed, "an integer >= 0")

    config = Config(
        raw=raw,
        name=name,
        part=part,
        clock_period=clock,
        reuse_factor=reuse,
        sizes=tuple(sizes),
        precision=precision,
        sigmoid_table_size=table,
        sigmoid_input_range=table_range,
        code_steps=code_steps,
        code_lr_top=float(raw["altmin"]["code_lr_top"]),
        code_lr_lower=float(raw["altmin"]["code_lr_lower"]),
        weight_lr=weight_lr,
        batch_size=batch,
        pretrain_method=pretrain["method"],
        pretrain_epochs=epochs,
        pretrain_batch_size=pre_batch,
        pretrain_seed=pre_seed,
        generator=data["generator"],
        pileup=pileup,
        events_unsmeared=counts["events_unsmeared"],
        events_per_experience=counts["events_per_experience"],
        experiences=counts["experiences"],
        smearing_step=step,
        data_seed=data_seed,
        sigmoid_sample=sample,
    )
    # Deferred import: the datapath module imports this one for the Config type.
    from altmin_hls.emulator.datapath import Datapath

    Datapath.from_config(config)  # raises ConfigError when a derived type cannot be exact
    return config
