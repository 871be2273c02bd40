"""Jinja2 templates of the generated HLS project, shipped as package data."""
