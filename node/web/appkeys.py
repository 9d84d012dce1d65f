"""The node UI's own typed app keys (the kit's are in :mod:`node.web.kit.appkeys`)."""

from __future__ import annotations

from aiohttp import web

from node.web.services import UiServices
from protocol.schema import Schema

__all__ = ["CARD_TIMEOUT", "SCHEMA", "SERVICES"]

#: The node's services facade.
SERVICES = web.AppKey("muster_node_services", UiServices)
#: The record schema the forms are generated from (the node's).
SCHEMA = web.AppKey("muster_node_schema", Schema)
#: How long "读卡" waits for a card to be placed, in seconds.
CARD_TIMEOUT = web.AppKey("muster_node_card_timeout", float)
