"""OAuth: Shopify's HMAC rule, the install round trip through the stand-in, scope checks."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from lumo.shopify import oauth
from lumo.shopify.client import ShopifyClient
from lumo.shopify.errors import InvalidShopDomainError, MissingScopesError, OAuthError
from tests.shopify.conftest import API_KEY, API_VERSION, SECRET

SCOPES = ["read_customers", "write_customers", "read_orders", "read_products"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {
                "code": "0907a61c0c8d55e99db179b68161bc00",
                "shop": "some-shop.myshopify.com",
                "state": "0.6784241404160823",
                "timestamp": "1337178173",
            },
            "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
        ),
        (
            {
                "code": "0907a61c0c8d55e99db179b68161bc00",
                "shop": "some-shop.myshopify.com",
                "timestamp": "1337178173",
            },
            "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20",
        ),
    ],
)
def test_reference_vectors(params, expected):
    assert oauth.sign_query(params, "hush") == expected
    assert oauth.verify_query_hmac({**params, "hmac": expected}, "hush")


def _authorize(sandbox, shop, state="nonce-1"):
    url = oauth.authorize_url(
        shop.domain,
        client_id=API_KEY,
        scopes=SCOPES,
        redirect_uri="http://127.0.0.1:5000/shopify/callback",
        state=state,
        url_template=sandbox.shop_url_template,
    )
    assert "grant_options%5B%5D=" in url
    response = httpx.get(url, follow_redirects=False, timeout=5)
    assert response.status_code == 302
    return urlsplit(response.headers["Location"]).query


def test_install_round_trip(sandbox, shop):
    query = _authorize(sandbox, shop)
    params = oauth.verify_callback(query, secret=SECRET, expected_state="nonce-1")
    token = oauth.exchange_code(
        params["shop"],
        params["code"],
        client_id=API_KEY,
        client_secret=SECRET,
        url_template=sandbox.shop_url_template,
    )
    oauth.check_scopes(SCOPES, token.scopes)
    with ShopifyClient(
        shop.domain,
        token.access_token,
        api_version=API_VERSION,
        url_template=sandbox.shop_url_template,
    ) as client:
        assert client.count_customers() == 40

    with pytest.raises(OAuthError, match="used already"):
        oauth.exchange_code(
            params["shop"],
            params["code"],
            client_id=API_KEY,
            client_secret=SECRET,
            url_template=sandbox.shop_url_template,
        )


def test_tampered_callback_is_refused(sandbox, shop):
    params = dict(parse_qsl(_authorize(sandbox, shop)))
    params["shop"] = "evil-shop.myshopify.com"
    with pytest.raises(OAuthError, match="signature"):
        oauth.verify_callback(urlencode(params), secret=SECRET, expected_state="nonce-1")
    with pytest.raises(OAuthError, match="signature"):
        oauth.verify_callback(
            _authorize(sandbox, shop), secret="other-secret", expected_state="nonce-1"
        )


def test_state_and_age_are_checked(sandbox, shop):
    query = _authorize(sandbox, shop)
    with pytest.raises(OAuthError, match="session"):
        oauth.verify_callback(query, secret=SECRET, expected_state="another-nonce")
    with pytest.raises(OAuthError, match="too old"):
        oauth.verify_callback(
            query, secret=SECRET, expected_state="nonce-1", now=time.time() + 600
        )


def test_narrower_grant_is_detected(sandbox, shop):
    shop.set_faults(narrow_scopes=["read_orders"])
    params = oauth.verify_callback(
        _authorize(sandbox, shop), secret=SECRET, expected_state="nonce-1"
    )
    token = oauth.exchange_code(
        params["shop"],
        params["code"],
        client_id=API_KEY,
        client_secret=SECRET,
        url_template=sandbox.shop_url_template,
    )
    with pytest.raises(MissingScopesError) as caught:
        oauth.check_scopes(SCOPES, token.scopes)
    assert caught.value.missing == {"read_orders"}


def test_write_scope_implies_read():
    assert oauth.missing_scopes(["read_customers", "write_customers"], "write_customers") == set()
    assert oauth.missing_scopes(["write_customers"], "read_customers") == {"write_customers"}


@pytest.mark.parametrize(
    "value",
    [
        "shop.example.com",
        "-bad.myshopify.com",
        "a.myshopify.com.evil.com",
        "",
        "shop.myshopify.io",
    ],
)
def test_bad_shop_domains(value):
    with pytest.raises(InvalidShopDomainError):
        oauth.normalize_shop_domain(value)


def test_shop_domain_forms():
    assert oauth.normalize_shop_domain("Demo-Shop.myshopify.com") == "demo-shop.myshopify.com"
    assert (
        oauth.normalize_shop_domain("https://admin.shopify.com/store/demo-shop")
        == "demo-shop.myshopify.com"
    )


def test_array_params_are_signed_as_json_lists():
    message = oauth.query_hmac_message("ids[]=1&ids[]=2&shop=a.myshopify.com&hmac=x")
    assert message == 'ids=["1", "2"]&shop=a.myshopify.com'
