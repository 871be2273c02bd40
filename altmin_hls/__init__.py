"""altmin-hls: on-chip continual learning by Alternating Minimisation for L1 trigger tracks."""

__version__ = "0.1.0"
