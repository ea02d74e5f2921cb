"""The command line edge: ``labelhouse``."""
