"""Local stand-ins for Shopify and LINE that speak the real wire formats, on loopback only.

Start the Shopify one with `lumo.sandbox.shopify_server.start_shopify_sandbox()`; run any WSGI
app in a thread with `lumo.sandbox.serving.serve_wsgi()`.
"""
