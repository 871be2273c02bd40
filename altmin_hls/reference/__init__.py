"""Float64 NumPy reference of the network and of its training methods.

``MLP`` is the network, ``AltMinPublished`` the published AltMin, ``AltMinHardware``
the float twin of the firmware's AltMin and ``SGDBackprop`` the back-propagation
baseline. docs/algorithm.md defines what each computes.
"""

from altmin_hls.reference.altmin import AltMinHardware, AltMinPublished
from altmin_hls.reference.metrics import accuracy, bce, roc_auc, roc_curve
from altmin_hls.reference.mlp import MLP, Forward
from altmin_hls.reference.sgd import SGDBackprop
from altmin_hls.reference.train import METHODS, History, train

__all__ = [
    "METHODS",
    "MLP",
    "AltMinHardware",
    "AltMinPublished",
    "Forward",
    "History",
    "SGDBackprop",
    "accuracy",
    "bce",
    "roc_auc",
    "roc_curve",
    "train",
]
