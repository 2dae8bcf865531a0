"""Figures: sample grids and plots."""
