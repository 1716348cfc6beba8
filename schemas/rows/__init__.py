"""The rows the tables take, built in Python: the ``logs`` columns of a batch (``columnar.LogColumns``, one
list per column, made into Arrow once per batch), the Arrow layouts of the tables (``arrow``), and the
reference mapping every dialect shares (``normalize``: attributes flattened, a declared mapping run).

Each dialect's own mapping lives in its folder (``schemas/dialects/<name>/columns.py`` as data, or
``rows.py`` as code where the wire is no flat entry of members); the worker runs them, and its hot path
(hotpath/) must equal them row for row.
"""
