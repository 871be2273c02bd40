"""Throughput of the views of on-chip learning, measured side by side on the same stream.

Usage: python benchmarks/bench_learning.py [--events N] [--repeats N]

Generates N smeared events with the parametric generator, pre-trains nothing (random
initial weights are enough for timing) and times, on the same tracks:
the float twin of hardware AltMin, the bit-exact emulator with learning on and in
inference only, and the compiled C-simulation testbench with learning on. Prints tracks
per second for each and the ratio to the float twin. Best of --repeats runs.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from altmin_hls import pipeline
from altmin_hls.config import load_config
from altmin_hls.data.experiences import make_experiences
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import Emulator, FixedParameters
from altmin_hls.features import scale_features
from altmin_hls.hls import csim
from altmin_hls.hls.tbdata import write_tb_data
from altmin_hls.hls.writer import ProjectWriter
from altmin_hls.reference.altmin import AltMinHardware
from altmin_hls.reference.mlp import MLP


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50, help="smeared events to stream")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()

    config = load_config()
    sets = make_experiences("parametric", 1, args.events, n_experiences=1, seed=5)
    tracks = sets[1]
    path = Datapath.from_config(config)
    model = MLP.init(config.sizes, np.random.default_rng(0))
    initial = FixedParameters.from_mlp(model, path)
    stream = pipeline.to_stream(tracks, config)
    x_float = scale_features(tracks.features())
    y = tracks.label.astype(np.float64)
    n = tracks.n_tracks

    def run_float() -> None:
        learner = AltMinHardware(model.copy(), batch_size=config.batch_size, **pipeline.hardware_options(config))
        learner.stream(x_float, y)

    def run_emulator(learn: bool) -> None:
        Emulator(path, initial).stream(stream.features, stream.label, learn=learn)

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "hls"
        ProjectWriter(config, initial).write(project)
        write_tb_data(project, config, initial, [stream], ["experience_01.txt"])
        build_start = time.perf_counter()
        binary = csim.build(project)
        build_seconds = time.perf_counter() - build_start
        timings = {
            "float twin, learning": best_time(run_float, args.repeats),
            "emulator, learning": best_time(lambda: run_emulator(True), args.repeats),
            "emulator, inference": best_time(lambda: run_emulator(False), args.repeats),
            "C-simulation, learning (incl. file I/O and checks)": best_time(
                lambda: csim.run(project, binary), args.repeats
            ),
        }

    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"tracks streamed: {n}, batch size {config.batch_size}, code steps {config.code_steps}")
    print(f"g++ build of the C-simulation: {build_seconds:.1f} s")
    reference = timings["float twin, learning"]
    print(f"{'view':55s} {'tracks/s':>10s} {'time / float':>13s}")
    for name, seconds in timings.items():
        print(f"{name:55s} {n / seconds:10.0f} {seconds / reference:13.2f}")


if __name__ == "__main__":
    main()
