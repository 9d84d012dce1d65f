"""Errors of the console (see the tree in :mod:`crypto.errors`).

::

    InputError
    └── hub.console.FormError      a console form that cannot be acted on   (422)

Access refusals are the kit's (:class:`node.web.kit.AccessError`, 403) and the
hub's (:class:`hub.errors.ForbiddenError`); a bundle decided already is the hub's
:class:`hub.errors.AlreadyDecidedError` (409).
"""

from __future__ import annotations

from crypto.errors import InputError

__all__ = ["FormError"]


class FormError(InputError):
    """A submitted console form is incomplete or malformed; nothing was changed.

    The page is shown again with the message next to the form and what was typed.
    """

    http_status = 422
    code = "form_invalid"
