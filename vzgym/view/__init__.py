"""``vzgym view``: an offline HTML report of trajectories; games render their own episodes.

:mod:`vzgym.view.api` is what a game's view function uses (no heavy imports);
:func:`vzgym.view.report.build_report` writes the report.
"""
