"""cocotb testbench of the generated RTL, run through altmin_hls.rtl.cosim."""
