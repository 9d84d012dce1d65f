"""Photo decoder plug-ins: loading by dotted path, and what happens when one fails."""

from __future__ import annotations

import logging

import pytest

from node.collector.errors import CollectorConfigError
from node.collector.photo import (
    PhotoDecoder,
    decode_photo,
    load_photo_decoder,
    sniff_media_type,
)

WLT = bytes(range(256)) * 4
BMP = b"BM" + bytes(60)


class BmpDecoder:
    """A stand-in for a licensed decoder: always the same tiny bitmap."""

    def decode(self, wlt: bytes) -> bytes:
        return BMP


class BrokenDecoder:
    def decode(self, wlt: bytes) -> bytes:
        raise RuntimeError("licence expired")


class TextDecoder:
    def decode(self, wlt: bytes) -> bytes:
        return b"not an image"


INSTANCE = BmpDecoder()
NOT_A_DECODER = 42


def make_decoder() -> PhotoDecoder:
    return BmpDecoder()


def needs_arguments(size: int) -> PhotoDecoder:
    return BmpDecoder()


HERE = "tests.node.collector.test_photo"


@pytest.mark.parametrize(
    "path",
    [f"{HERE}:BmpDecoder", f"{HERE}.BmpDecoder", f"{HERE}:INSTANCE", f"{HERE}:make_decoder"],
)
def test_a_class_an_instance_or_a_factory_can_be_named(path: str) -> None:
    decoder = load_photo_decoder(path)
    assert decoder is not None
    assert decoder.decode(WLT) == BMP


@pytest.mark.parametrize("path", [None, ""])
def test_no_decoder_configured_keeps_raw_photos(path: str | None) -> None:
    assert load_photo_decoder(path) is None
    photo = decode_photo(WLT, None)
    assert (photo.wlt, photo.image, photo.media_type) == (WLT, None, None)
    assert photo.label == "card photo (encoded)"


def test_a_decoded_photo_keeps_the_raw_bytes_too() -> None:
    photo = decode_photo(WLT, BmpDecoder())
    assert (photo.wlt, photo.image, photo.media_type) == (WLT, BMP, "image/bmp")


def test_a_path_that_does_not_import_is_a_config_error() -> None:
    with pytest.raises(CollectorConfigError) as caught:
        load_photo_decoder("no_such_module:Decoder")
    assert caught.value.message == (
        "photo decoder 'no_such_module:Decoder': cannot import it (ModuleNotFoundError)"
    )


def test_a_path_without_a_name_is_a_config_error() -> None:
    with pytest.raises(CollectorConfigError, match=r"expected package.module:Name$"):
        load_photo_decoder("decoder")


def test_an_object_without_decode_is_a_config_error() -> None:
    with pytest.raises(CollectorConfigError, match=r"expected an object with decode"):
        load_photo_decoder(f"{HERE}:NOT_A_DECODER")


def test_a_factory_that_needs_arguments_is_a_config_error() -> None:
    with pytest.raises(CollectorConfigError, match=r"expected a factory that takes no arguments"):
        load_photo_decoder(f"{HERE}:needs_arguments")


def test_a_failing_decoder_leaves_the_raw_photo_and_logs_no_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="muster.collector"):
        photo = decode_photo(WLT, BrokenDecoder())
    assert photo.image is None
    assert caplog.messages == ["photo decoder failed; keeping the encoded photo"]


def test_a_decoder_returning_no_known_image_leaves_the_raw_photo() -> None:
    assert decode_photo(WLT, TextDecoder()).image is None


@pytest.mark.parametrize(
    ("image", "media_type"),
    [
        (b"BM....", "image/bmp"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", None),
    ],
)
def test_media_type_is_sniffed_from_magic_bytes(image: bytes, media_type: str | None) -> None:
    assert sniff_media_type(image) == media_type
