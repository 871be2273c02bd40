"""Protocol of the continual-learning study: recovery, forgetting matrix, seeds, frozen model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from altmin_hls.config import load_config
from altmin_hls.data.experiences import make_experiences
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.errors import AltminError
from altmin_hls.study import summary
from altmin_hls.study.study import MethodRun, recovery_epoch, run_study, split_sets

N_EXPERIENCES = 3
EPOCHS = 2
TINY = {
    "data": {"events_unsmeared": 6, "events_per_experience": 3, "experiences": N_EXPERIENCES, "seed": 11},
    "pretrain": {"epochs": 2},
}


@pytest.fixture(scope="module")
def config():
    return load_config(overrides=TINY)


@pytest.fixture(scope="module")
def sets(config):
    return make_experiences(
        "parametric",
        n_events_unsmeared=config.events_unsmeared,
        n_events_per_experience=config.events_per_experience,
        n_experiences=config.experiences,
        step=config.smearing_step,
        seed=config.data_seed,
    )


@pytest.fixture(scope="module")
def result(config, sets):
    return run_study(config, sets, seeds=[1, 2], epochs_per_experience=EPOCHS)


def _hand_made_run(curves: list[list[float]], pre_smearing_auc: float) -> MethodRun:
    matrix = np.full((len(curves) + 1, len(curves) + 1), 0.5)
    matrix[0, 0] = pre_smearing_auc
    return MethodRun(
        method="sgd",
        seed=1,
        pretrained_with="sgd",
        auc_matrix=matrix,
        accuracy_matrix=matrix.copy(),
        curves=[{"test_auc": curve} for curve in curves],
        pretrain_curves={},
    )


# ---- recovery -----------------------------------------------------------------------------


def test_recovery_epoch_first_within_tolerance():
    curve = [0.90, 0.95, 0.968, 0.971, 0.969, 0.972]
    assert recovery_epoch(curve, target=0.972, tolerance=0.002) == 3


def test_recovery_epoch_zero_when_already_there():
    assert recovery_epoch([0.98, 0.97], target=0.98, tolerance=0.002) == 0


def test_recovery_epoch_boundary_counts():
    # Powers of two, so target - tolerance is exact.
    assert recovery_epoch([0.0, 0.25, 0.5], target=0.5, tolerance=0.25) == 1


def test_recovery_epoch_none_when_never_reached():
    assert recovery_epoch([0.90, 0.95, 0.96], target=0.99, tolerance=0.002) is None


def test_recovery_epoch_skips_nan():
    assert recovery_epoch([math.nan, 0.5], target=0.5, tolerance=0.0) == 1


def test_recovery_of_hand_made_run():
    run = _hand_made_run([[0.90, 0.95, 0.968, 0.971, 0.969, 0.972], [0.99, 0.985, 0.991]], pre_smearing_auc=0.99)
    assert run.recovery_to_best() == [3, 0]
    assert run.recovery_to_pre_smearing() == [None, 0]


def test_recovery_summary_counts_missing_seeds(result):
    table = summary.recovery(result, "pre_smearing")
    for method in result.methods:
        for cell in table[method]:
            reached = [e for e in cell["epochs"] if e is not None]
            assert cell["recovered"] == len(reached)
            assert (cell["mean"] is None) == (not reached)


# ---- forgetting ---------------------------------------------------------------------------


def test_forgetting_matrix_shape(result):
    for run in result.runs.values():
        assert run.auc_matrix.shape == (N_EXPERIENCES + 1, N_EXPERIENCES + 1)
        assert run.accuracy_matrix.shape == (N_EXPERIENCES + 1, N_EXPERIENCES + 1)
        assert np.all(np.isfinite(run.auc_matrix)), run.method
        assert np.all((run.accuracy_matrix >= 0) & (run.accuracy_matrix <= 1)), run.method


def test_curves_have_one_entry_per_epoch(result):
    for run in result.runs.values():
        assert len(run.curves) == N_EXPERIENCES
        for curve in run.curves:
            for key, values in curve.items():
                assert len(values) == EPOCHS + 1, (run.method, key)


def test_final_forgetting_of_hand_made_matrix():
    matrix = np.array(
        [
            [0.90, 0.00, 0.00],
            [0.95, 0.80, 0.00],
            [0.85, 0.70, 0.60],
        ]
    )
    # Set 0: best 0.95, last 0.85. Set 1: best 0.80, last 0.70. Mean drop 0.10.
    assert summary.final_forgetting(matrix) == pytest.approx(0.10)


def test_unsmeared_after_reads_first_column(result):
    table = summary.unsmeared_after(result, "auc")
    for method in result.methods:
        firsts = [run.auc_matrix[:, 0] for run in result.runs_of(method)]
        assert [cell["mean"] for cell in table[method]] == pytest.approx(np.mean(firsts, axis=0).tolist())


# ---- seeds and methods --------------------------------------------------------------------


def test_same_seed_identical_results(config, sets, result):
    again = run_study(config, sets, seeds=[1, 2], epochs_per_experience=EPOCHS)
    for key, run in result.runs.items():
        other = again.runs[key]
        assert np.array_equal(run.auc_matrix, other.auc_matrix), key
        assert np.array_equal(run.accuracy_matrix, other.accuracy_matrix), key
        assert run.curves == other.curves, key
        assert run.pretrain_curves == other.pretrain_curves, key


def test_different_seeds_differ(result):
    first = result.runs[("sgd", 1)].auc_matrix
    second = result.runs[("sgd", 2)].auc_matrix
    assert not np.array_equal(first, second)


def test_frozen_scores_never_change(result):
    for run in result.runs_of("frozen"):
        for row in range(1, N_EXPERIENCES + 1):
            assert np.array_equal(run.auc_matrix[row], run.auc_matrix[0])
            assert np.array_equal(run.accuracy_matrix[row], run.accuracy_matrix[0])
        for k, curve in enumerate(run.curves, start=1):
            assert len(set(curve["test_auc"])) == 1, k
            assert curve["test_auc"][0] == run.auc_matrix[0, k]


def test_frozen_starts_from_configured_pretraining(config, result):
    for seed in result.seeds:
        frozen = result.runs[("frozen", seed)]
        source = result.runs[(config.pretrain_method, seed)]
        assert frozen.pretrained_with == config.pretrain_method
        assert np.array_equal(frozen.auc_matrix[0], source.auc_matrix[0])


def test_learning_methods_change_scores(result):
    for method in ("altmin", "altmin-hw", "altmin-hw-fixed", "sgd"):
        run = result.runs[(method, 1)]
        assert not np.array_equal(run.auc_matrix[-1], run.auc_matrix[0]), method


def test_fixed_scores_are_multiples_of_score_lsb(config, result):
    lsb = Datapath.from_config(config).score.lsb
    for scores in result.runs[("altmin-hw-fixed", 1)].final_scores.values():
        raw = scores / lsb
        assert np.array_equal(raw, np.round(raw))


def test_fixed_pretrained_from_altmin_hw(result):
    run = result.runs[("altmin-hw-fixed", 1)]
    assert run.pretrained_with == "altmin-hw"
    assert run.pretrain_curves == result.runs[("altmin-hw", 1)].pretrain_curves


# ---- splits and arguments -----------------------------------------------------------------


def test_split_keeps_events_apart(config, sets):
    data = split_sets(config, sets)
    for index, tracks in enumerate(sets):
        train, test = data.train[index], data.test[index]
        assert train.n_events + test.n_events == tracks.n_events
        assert train.n_tracks + test.n_tracks == tracks.n_tracks


def test_split_same_for_every_call(config, sets):
    first = split_sets(config, sets)
    second = split_sets(config, sets)
    for a, b in zip(first.test, second.test):
        assert np.array_equal(a.x, b.x)


def test_split_rejects_single_event(config, sets):
    from altmin_hls.study.study import first_events

    with pytest.raises(AltminError, match="at least 2"):
        split_sets(config, [first_events(sets[0], 1), sets[1]])


def test_run_study_rejects_unknown_method(config, sets):
    with pytest.raises(AltminError, match="unknown"):
        run_study(config, sets, seeds=[1], methods=["adam"], epochs_per_experience=1)


def test_compare_statuses():
    sgd = {"mean": 0.95, "std": 0.002}
    assert summary.compare({"mean": 0.952, "std": 0.001}, sgd) == "matched"
    assert summary.compare({"mean": 0.96, "std": 0.001}, sgd) == "better"
    assert summary.compare({"mean": 0.94, "std": 0.001}, sgd) == "worse"
    # A statistical uncertainty of the test sample widens the interval.
    assert summary.compare({"mean": 0.94, "std": 0.001}, sgd, statistical=0.02) == "matched"
