"""Example vzgym plugin: the odd-one-out tile game."""
