"""Probes: one module per domain, each a set of plain functions returning an :class:`Outcome`.

Probes never print and never decide a cause; they translate what their library raised into a
failure code through one table per module, so the knowledge base can explain it.
"""
