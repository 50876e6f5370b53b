"""Safe SVG -> PNG rendering: cairosvg in killable, resource-limited worker processes.

Model-written SVG is hostile input. This package never fetches anything (external
``href``/``url()``/``@import``, ``file:`` and relative paths are rendered as absent, XML
entities and external DTD subsets are refused), caps input and output size before
rasterising, kills a worker that exceeds the per-render timeout, and renders text with a
bundled, pinned font. Quick use::

    from vzgym.render import SVGRenderer, render_svg

    res = render_svg('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
                     '<rect width="8" height="8"/></svg>')
    assert res.ok and res.png.startswith(b"\\x89PNG")

    with SVGRenderer() as r:              # one worker per core, kept warm
        results = r.render_batch(svgs)    # input order kept, never raises on bad input

Importing this package is cheap: cairosvg is only imported inside the workers.
"""

from vzgym.render.limits import RenderLimits
from vzgym.render.results import RenderResult, RenderStatus
from vzgym.render.sandbox import SVGRenderer, render_svg, shared_renderer

__all__ = [
    "RenderLimits",
    "RenderResult",
    "RenderStatus",
    "SVGRenderer",
    "render_svg",
    "shared_renderer",
]
