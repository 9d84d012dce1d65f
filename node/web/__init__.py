"""The node's web UI for collectors, approvers and the site admin (docs/web.md).

:mod:`node.web.kit` is the reusable part the hub's console shares.
"""
