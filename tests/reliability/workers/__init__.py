"""Child processes the reliability suite kills, starves or floods (run with `python -m`)."""
