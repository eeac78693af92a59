"""Many hosts at once: ``report`` rolls up ``arc-preflight/1`` reports, ``compare`` sets two
side by side.

``load`` reads reports (bounded, never trusting their content), ``rollup`` and ``compare``
build the models of :mod:`.model`, and the renderers under ``arc_preflight.render`` turn those
into text. Nothing here prints.
"""
