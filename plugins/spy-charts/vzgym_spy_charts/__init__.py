"""vzgym plugin ``spy-charts``: Who-Is-the-Spy over procedural charts (Vision-Zero's chart setting).

Modules: :mod:`~vzgym_spy_charts.data` (the chart data model and its seeded sampler),
:mod:`~vzgym_spy_charts.edits` (the spy's edit and its change log),
:mod:`~vzgym_spy_charts.svg` (chart → SVG text), :mod:`~vzgym_spy_charts.facts`
(true statements read from a chart's data), :mod:`~vzgym_spy_charts.pair` (render a
pair through vzgym's sandbox), :mod:`~vzgym_spy_charts.env` (the game),
:mod:`~vzgym_spy_charts.bots` (scripted players) and :mod:`~vzgym_spy_charts.plugin`
(the ``register_envs`` hook).
"""
