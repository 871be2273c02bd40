"""Fixed point against float: tolerances derived from the precisions, not fitted to results."""

from __future__ import annotations

import numpy as np

from altmin_hls import pipeline
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import Emulator, FixedParameters
from altmin_hls.reference.metrics import roc_auc


def inference_tolerance(params: FixedParameters, path: Datapath) -> float:
    """Return a bound on |p_fixed - p_float| for one set of weights.

    With identical weights and inputs, the fixed-point forward pass differs from float
    only by rounding each code to the code type (at most half an LSB, AP_RND) and by the
    sigmoid table. A code error e1 in layer 1 reaches layer 2 as |W2| e1, so the error
    on z is at most |w3| . (e + |W2| e). The table returns the sigmoid at the bin centre,
    at most half a bin away, and sigmoid' <= 1/4, so the table adds (1/4) (bin / 2) plus
    half a score LSB.
    """
    half_code = 0.5 * path.code.lsb
    w2 = np.abs(path.weight.to_float(params.weights[1]))
    w3 = np.abs(path.weight.to_float(params.weights[2]))[0]
    e1 = np.full(w2.shape[1], half_code)
    e2 = half_code + w2 @ e1
    z_error = float(w3 @ e2)
    bin_width = 2.0 * path.table_range / path.table_size
    return 0.25 * (z_error + bin_width / 2.0) + 0.5 * path.score.lsb


def test_inference_within_derived_tolerance(small_project):
    config = small_project.config
    path = Datapath.from_config(config)
    params = FixedParameters.from_mlp(small_project.model, path)
    same_weights = params.to_mlp(path)
    tolerance = inference_tolerance(params, path)
    assert tolerance < 0.05  # a loose bound would make this test unable to fail
    for tracks in small_project.sets[1:]:
        stream = pipeline.to_stream(tracks, config)
        p_float = same_weights.predict(config.precision.input.to_float(stream.features))
        p_fixed = Emulator(path, params).infer(stream.features) * config.precision.score.lsb
        assert np.max(np.abs(p_fixed - p_float)) <= tolerance


# On-chip learning in fixed point follows a slightly different weight trajectory from the
# float twin, because every weight step rounds to the weight LSB (2**-10). On the default
# data the per-experience AUC gap was at most 0.002; 0.01 leaves room for the statistical
# spread of an AUC on ~1,200 tracks (about 0.005) while still catching a broken learning step,
# which costs 0.05 or more.
AUC_TOLERANCE = 0.01


def test_learning_auc_close_to_float(small_project):
    config = small_project.config
    float_scores = pipeline.float_stream_scores(config, small_project.model, small_project.sets, learn=True)
    for index, tracks in enumerate(small_project.sets[1:]):
        auc_fixed = roc_auc(tracks.label, small_project.expected.scores[index])
        auc_float = roc_auc(tracks.label, float_scores[index])
        assert abs(auc_fixed - auc_float) <= AUC_TOLERANCE, f"experience {index + 1}"
