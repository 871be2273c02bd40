"""Hand-written HLS C++ library headers, shipped as package data."""
