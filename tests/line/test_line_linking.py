"""Account-link helpers: nonces and the dialog URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from lumo.line import account_link_url, is_valid_nonce, make_nonce


def test_nonce_is_long_random_and_url_safe() -> None:
    nonces = {make_nonce() for _ in range(50)}

    assert len(nonces) == 50
    for nonce in nonces:
        assert is_valid_nonce(nonce)
        assert 10 <= len(nonce) <= 255
    with pytest.raises(ValueError):
        make_nonce(8)


def test_nonce_rules() -> None:
    assert not is_valid_nonce("short")
    assert not is_valid_nonce("a" * 256)
    assert not is_valid_nonce("has spaces in it")
    assert is_valid_nonce("a" * 10)


def test_account_link_url_default_and_sandbox_origin() -> None:
    nonce = make_nonce()
    url = account_link_url("tok+en/1", nonce)
    parts = urlsplit(url)

    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://access.line.me/dialog/bot/accountLink"
    )
    assert parse_qs(parts.query) == {"linkToken": ["tok+en/1"], "nonce": [nonce]}
    assert account_link_url("t", nonce, origin="http://127.0.0.1:9/").startswith(
        "http://127.0.0.1:9/dialog/bot/accountLink?linkToken=t&nonce="
    )
    with pytest.raises(ValueError):
        account_link_url("t", "bad nonce")
    with pytest.raises(ValueError):
        account_link_url("", nonce)
