"""Webhook signatures: the official vector, Japanese text, raw bytes vs re-serialised JSON."""

from __future__ import annotations

import json

from lumo.line import sign, verify_signature

SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
OFFICIAL_BODY = b'{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
OFFICIAL_SIGNATURE = "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="


def test_official_test_vector() -> None:
    assert sign(SECRET, OFFICIAL_BODY) == OFFICIAL_SIGNATURE
    assert verify_signature(SECRET, OFFICIAL_BODY, OFFICIAL_SIGNATURE)


def test_japanese_text_signed_over_utf8_bytes() -> None:
    body = '{"events":[{"message":{"type":"text","text":"こんにちは、佐藤です"}}]}'.encode()
    signature = sign(SECRET, body)

    assert verify_signature(SECRET, body, signature)
    assert not verify_signature(SECRET, body.decode().encode("utf-16"), signature)


def test_reserialised_json_does_not_verify() -> None:
    raw = b'{"destination":"U1","events":[{"text":"\\uD83E\\uDD28 \xe3\x81\x82"}]}'
    signature = sign(SECRET, raw)
    reserialised = json.dumps(json.loads(raw)).encode()

    assert json.loads(raw) == json.loads(reserialised)
    assert verify_signature(SECRET, raw, signature)
    assert not verify_signature(SECRET, reserialised, signature)


def test_missing_wrong_or_other_secret_rejected() -> None:
    assert not verify_signature(SECRET, OFFICIAL_BODY, None)
    assert not verify_signature(SECRET, OFFICIAL_BODY, "")
    assert not verify_signature(SECRET, OFFICIAL_BODY, OFFICIAL_SIGNATURE[:-2] + "A=")
    assert not verify_signature("another-channel-secret", OFFICIAL_BODY, OFFICIAL_SIGNATURE)
    assert not verify_signature(SECRET, OFFICIAL_BODY, "not base64 at all ✗")
