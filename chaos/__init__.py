"""The chaos suite: scenarios against the real local stack, run as separate processes.

`make chaos` (or `python -m chaos`) runs every scenario at full size; `python -m chaos --short`
is the short version CI runs (tests/chaos; about 5 minutes on 2 busy cores). One line per
scenario with its figures; the exit status is non-zero on any lost or twice-applied event, any
5xx or any lead out of step.
"""
