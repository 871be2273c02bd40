"""Verilog of the inference datapath, its cocotb co-simulation and Yosys resource counts.

``writer`` generates the RTL, ``cosim`` runs the cocotb bench in ``sim/`` on Icarus or
Verilator, ``yosys`` synthesises the RTL for resource counts, and ``command`` adds the
``rtl``, ``cosim`` and ``yosys`` subcommands to the command line.
"""
