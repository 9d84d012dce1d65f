"""The hub server: intake, staging, review, merge, federation and the admin console.

A hub also runs a node agent toward its parent, so :mod:`hub` may import :mod:`node`.
"""
