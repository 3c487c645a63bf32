"""The lab's domain: the template, stack inputs, the deploy engine, destroy, and how the
deployed service is observed, probed, diagnosed and explained.

Code here receives a `Context` (lab/context.py), never the composition root that builds it.
"""
