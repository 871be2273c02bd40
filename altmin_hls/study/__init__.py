"""Continual-learning study of AltMin against SGD over experiences of growing track smearing.

``run_study`` runs the protocol (``study.py``), ``summary`` condenses the runs into
tables, ``plots`` and ``report`` write the figures and ``report.md``, and ``command``
adds the ``altmin-hls study`` subcommand.
"""

from altmin_hls.study.study import METHODS, MethodRun, StudyResult, recovery_epoch, run_study

__all__ = ["METHODS", "MethodRun", "StudyResult", "recovery_epoch", "run_study"]
