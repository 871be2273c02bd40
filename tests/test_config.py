"""Config loading and validation: every invalid value names its key."""

import re
from pathlib import Path

import pytest

from altmin_hls.config import load_config
from altmin_hls.errors import ConfigError


def test_default_config_is_valid():
    config = load_config()
    assert config.sizes == (5, 25, 30, 1)
    assert config.n_parameters == 961
    assert config.weight_shift == 10  # 2**-5 / 32


def test_yaml_file_overrides_defaults(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("altmin:\n  batch_size: 64\n  weight_lr: 0.0625\nproject:\n  name: other\n")
    config = load_config(path)
    assert config.batch_size == 64
    assert config.name == "other"
    assert config.code_steps == 1  # untouched default


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"altmin": {"batch_size": 48}}, "altmin.batch_size"),
        ({"altmin": {"batch_size": 0}}, "altmin.batch_size"),
        ({"altmin": {"weight_lr": 0.03}}, "altmin.weight_lr"),
        ({"altmin": {"weight_lr": -0.03125}}, "altmin.weight_lr"),
        ({"altmin": {"code_lr_top": 0.3}}, "altmin.code_lr_top"),
        ({"altmin": {"code_steps": 0}}, "altmin.code_steps"),
        ({"altmin": {"code_steps": 1.5}}, "altmin.code_steps"),
        ({"project": {"name": "1bad-name"}}, "project.name"),
        ({"project": {"reuse_factor": 0}}, "project.reuse_factor"),
        ({"project": {"name": "main"}}, "project.name"),
        ({"project": {"name": "int"}}, "project.name"),
        ({"project": {"name": "parameters"}}, "project.name"),
        ({"project": {"part": "xcvu9p; exit"}}, "project.part"),
        ({"precision": {"code": "ap_fixed<4,30,AP_RND,AP_SAT>"}}, "precision.code"),
        ({"precision": {"weight": "ap_fixed<8,-2>"}}, "precision.weight"),
        ({"pretrain": {"seed": -5}}, "pretrain.seed"),
        ({"data": {"seed": -1}}, "data.seed"),
        ({"project": {"clock_period": float("nan")}}, "project.clock_period"),
        ({"network": {"sizes": [5, 25, 1]}}, "network.sizes"),
        ({"network": {"sizes": [4, 25, 30, 1]}}, "network.sizes"),
        ({"precision": {"weight": "ap_fixed<16>"}}, "precision.weight"),
        ({"precision": {"weight": "ap_fixed<16,6,AP_FOO>"}}, "precision.weight"),
        ({"precision": {"score": "ap_fixed<16,1>"}}, "precision.score"),
        ({"precision": {"accumulator": "ap_fixed<24,10>"}}, "precision.accumulator"),
        ({"precision": {"code": "ap_ufixed<16,6>"}}, "precision.code"),
        ({"sigmoid": {"table_size": 1000}}, "sigmoid.table_size"),
        ({"sigmoid": {"input_range": 6.0}}, "sigmoid.input_range"),
        ({"pretrain": {"method": "adam"}}, "pretrain.method"),
        ({"data": {"generator": "herwig"}}, "data.generator"),
        ({"data": {"events_per_experience": 0}}, "data.events_per_experience"),
        ({"altmin": {"momentum": 0.9}}, "altmin.momentum"),
    ],
)
def test_invalid_value_names_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(overrides=overrides)


def test_accumulator_error_gives_minimum_type():
    with pytest.raises(ConfigError, match=r"at least ap_fixed<(\d+),(\d+)>") as raised:
        load_config(overrides={"precision": {"accumulator": "ap_fixed<24,10>"}})
    width, integer = re.search(r"at least ap_fixed<(\d+),(\d+)>", str(raised.value)).groups()
    # The suggested minimum must itself be accepted: it covers every layer, not the first.
    load_config(overrides={"precision": {"accumulator": f"ap_fixed<{width},{integer}>"}})


def test_missing_file_is_reported(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")


def test_invalid_yaml_is_reported(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("altmin: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_section_must_be_mapping(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("altmin: 3\n")
    with pytest.raises(ConfigError, match="'altmin' must be a mapping"):
        load_config(path)


def test_digest_changes_with_config():
    assert load_config().digest() != load_config(overrides={"altmin": {"code_steps": 2}}).digest()
