"""Bit layouts of the AXI4-Stream track and score words, shared by the HLS project and the RTL.

The numbers come from :meth:`ProjectWriter.context`, the same values that
``firmware/defines.h`` prints, so the RTL, the cocotb bench and the C++ cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altmin_hls.config import Config
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.hls.writer import ProjectWriter


@dataclass(frozen=True)
class WordLayout:
    """Bit positions of the track word (input) and the score word (output)."""

    n_features: int
    input_width: int  # bits per feature; feature f is in [input_width*f + input_width-1 : input_width*f]
    label_bit: int
    event_bit: int
    track_word_bits: int
    score_width: int  # the score is in [score_width-1 : 0]
    value_width: int  # bits reserved for a score or a parameter, >= score_width
    score_event_bit: int
    score_step_bit: int
    score_word_bits: int

    def pack_track(self, features: np.ndarray, label: int, event_end: bool) -> int:
        """Return the track word of one track's raw features (two's complement per field)."""
        mask = (1 << self.input_width) - 1
        word = 0
        for f, value in enumerate(features):
            word |= (int(value) & mask) << (self.input_width * f)
        word |= (int(label) & 1) << self.label_bit
        word |= int(bool(event_end)) << self.event_bit
        return word

    def unpack_score(self, word: int) -> tuple[int, int, int]:
        """Return (raw score, end-of-event bit, weight-step bit) of a score word."""
        score = word & ((1 << self.score_width) - 1)
        return score, (word >> self.score_event_bit) & 1, (word >> self.score_step_bit) & 1


def word_layout(config: Config, parameters: FixedParameters | None = None) -> WordLayout:
    """Return the word layout of a project, from the HLS writer's template context."""
    if parameters is None:
        # The layout does not depend on the parameter values, but the writer needs some.
        n_parameters = config.n_parameters
        parameters = FixedParameters.from_vector(np.zeros(n_parameters, np.int64), config.sizes)
    context = ProjectWriter(config, parameters).context()
    return WordLayout(
        n_features=config.sizes[0],
        input_width=context["input_width"],
        label_bit=context["label_bit"],
        event_bit=context["event_bit"],
        track_word_bits=context["track_word_bits"],
        score_width=config.precision.score.width,
        value_width=context["value_width"],
        score_event_bit=context["score_event_bit"],
        score_step_bit=context["score_step_bit"],
        score_word_bits=context["score_word_bits"],
    )
