"""Lumo's HTTP surface: pages, JSON endpoints under /api/, webhooks and the health check."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from lumo.extensions import login_manager
    from lumo.web import account_link, api_agent, api_friends, app_proxy, line_webhooks
    from lumo.web.auth import bp as auth_bp
    from lumo.web.auth import load_account
    from lumo.web.health import bp as health_bp
    from lumo.web.pages import bp as pages_bp

    login_manager.user_loader(load_account)
    login_manager.login_view = "auth.sign_in"
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(api_agent.bp)
    app.register_blueprint(line_webhooks.bp)
    app.register_blueprint(account_link.bp)
    app.register_blueprint(app_proxy.bp)
    app.register_blueprint(api_friends.bp)
    register_sync_web(app)


def register_sync_web(app: Flask) -> None:
    """The sync engine's endpoints: Shopify webhooks, OAuth connect and `/api/sync`."""
    from lumo.web import api_sync, shopify_connect, shopify_webhooks

    app.register_blueprint(shopify_webhooks.bp)
    app.register_blueprint(shopify_connect.bp)
    app.register_blueprint(api_sync.bp)
