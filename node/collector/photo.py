"""Photo decoder plug-ins for the card's 1024-byte WLT photo.

WLT is a proprietary wavelet format; decoding it needs the licensed library
shipped with reader SDKs. Muster therefore keeps the raw bytes by default and
lets a deployment that holds a licence name a decoder in the configuration as
a dotted path (``package.module:Name`` or ``package.module.Name``). The named
object is either a decoder (anything with ``decode(wlt) -> bytes``) or a
callable that takes no arguments and returns one (a class, a factory).
"""

from __future__ import annotations

import importlib
import logging
from typing import Protocol, runtime_checkable

from node.collector.card import CardPhoto
from node.collector.errors import CollectorConfigError

__all__ = ["PhotoDecoder", "decode_photo", "load_photo_decoder", "sniff_media_type"]

_log = logging.getLogger("muster.collector")

#: Magic bytes → media type of the images a decoder may return.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"BM", "image/bmp"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@runtime_checkable
class PhotoDecoder(Protocol):
    """Turns the card's raw WLT photo into an image file's bytes (BMP, PNG or JPEG)."""

    def decode(self, wlt: bytes) -> bytes:
        """Return the decoded image; raise any exception when the bytes do not decode."""
        ...  # pragma: no cover


def sniff_media_type(image: bytes) -> str | None:
    """Return the media type of ``image`` from its magic bytes, or None if unknown."""
    for magic, media_type in _MAGIC:
        if image.startswith(magic):
            return media_type
    return None


def load_photo_decoder(path: str | None) -> PhotoDecoder | None:
    """Load the decoder a configuration names; None keeps raw photos only.

    Raises:
        CollectorConfigError: the path does not name an importable decoder.
    """
    if not path:
        return None
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise CollectorConfigError(
            f"photo decoder {path!r}: expected package.module:Name", setting="photo_decoder"
        )
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise CollectorConfigError(
            f"photo decoder {path!r}: cannot import it ({type(exc).__name__})",
            setting="photo_decoder",
        ) from exc
    # A class has a ``decode`` attribute too, so it must be instantiated first.
    if isinstance(target, type) or (callable(target) and not isinstance(target, PhotoDecoder)):
        try:
            target = target()
        except TypeError as exc:
            raise CollectorConfigError(
                f"photo decoder {path!r}: expected a factory that takes no arguments",
                setting="photo_decoder",
            ) from exc
    if not isinstance(target, PhotoDecoder):
        raise CollectorConfigError(
            f"photo decoder {path!r}: expected an object with decode(wlt) -> bytes",
            setting="photo_decoder",
        )
    return target


def decode_photo(wlt: bytes, decoder: PhotoDecoder | None) -> CardPhoto:
    """Wrap the raw photo, decoding it when a decoder is configured.

    A decoder that fails or returns an unknown format leaves the raw bytes only:
    the card's text is worth keeping even when its photo cannot be shown.

    Raises:
        CardDataError: the raw photo is not 1024 bytes.
    """
    if decoder is None:
        return CardPhoto(wlt=wlt)
    try:
        image = decoder.decode(wlt)
    except Exception:  # a licensed plug-in may raise anything
        _log.warning("photo decoder failed; keeping the encoded photo", exc_info=False)
        return CardPhoto(wlt=wlt)
    media_type = sniff_media_type(image) if isinstance(image, bytes) else None
    if media_type is None:
        _log.warning("photo decoder returned no BMP, PNG or JPEG; keeping the encoded photo")
        return CardPhoto(wlt=wlt)
    return CardPhoto(wlt=wlt, image=image, media_type=media_type)
