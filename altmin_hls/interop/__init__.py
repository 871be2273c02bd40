"""Keras, QKeras and hls4ml interoperability.

``keras_io`` imports a Keras or QKeras model of the track classifier as a config and a
float model, and exports fixed-point weights as a Keras or QKeras model file.
``hls4ml_check`` converts the same weights with hls4ml and compares its inference with
the emulator and C-simulation, value by value. ``command`` adds the ``altmin-hls
import`` and ``altmin-hls export`` subcommands. TensorFlow and QKeras (the ``keras``
extra) and hls4ml are imported only when a function needs them.
"""
