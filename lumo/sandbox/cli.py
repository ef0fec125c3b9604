"""`lumo sandbox`: run the Shopify and LINE stand-ins alone, with the demo store, until Ctrl-C."""

from __future__ import annotations

import secrets
import threading

import click


@click.command("sandbox")
@click.option("--shopify-port", default=8701, show_default=True)
@click.option("--line-port", default=8702, show_default=True)
@click.option("--customers", default=300, show_default=True, help="Size of the demo store.")
@click.option("--line-webhook-url", default=None, help="Where the LINE stand-in sends events.")
@click.option("--line-channel-secret", default=None, help="Signs LINE webhooks (default: new).")
@click.option("--line-access-token", default=None, help="Bearer token the LINE API accepts.")
def sandbox_command(
    shopify_port: int,
    line_port: int,
    customers: int,
    line_webhook_url: str | None,
    line_channel_secret: str | None,
    line_access_token: str | None,
) -> None:
    """Serve the stand-ins on 127.0.0.1 for a Lumo started elsewhere (or for other tools)."""
    from flask import current_app

    from lumo.demo import DEMO_SHOP, seed_demo_store
    from lumo.sandbox.line_server import start_line_sandbox
    from lumo.sandbox.shopify_server import start_shopify_sandbox

    config = current_app.config
    shopify = start_shopify_sandbox(
        port=shopify_port,
        api_key=config["SHOPIFY_API_KEY"],
        api_secret=config["SHOPIFY_API_SECRET"],
    )
    seed_demo_store(shopify, customers)
    secret = line_channel_secret or secrets.token_hex(16)
    token = line_access_token or secrets.token_urlsafe(32)
    line = start_line_sandbox(
        port=line_port,
        channel_secret=secret,
        channel_access_token=token,
        webhook_url=line_webhook_url,
    )

    click.echo(f"Shopify stand-in: {shopify.url} (store {DEMO_SHOP}, {customers} customers)")
    click.echo(f"    SHOPIFY_SHOP_URL_TEMPLATE={shopify.shop_url_template}")
    click.echo(f"LINE stand-in:    {line.url}")
    click.echo(f"    LINE_API_BASE_URL={line.url}  channel secret {secret}  token {token}")
    click.echo("Press Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("\nStopping the stand-ins.")
    finally:
        line.stop()
        shopify.stop()
