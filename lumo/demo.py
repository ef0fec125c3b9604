"""`lumo demo`: the main job on one machine, from an empty database to an agent that answers.

Every step goes through the same paths production uses: the store is connected with the real
OAuth flow against the local Shopify stand-in, synced through bulk operations, LINE friends
arrive as signed webhooks from the LINE stand-in and link through the account-link flow, and
their LINE status is written back to Shopify as metafields.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
import httpx
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from lumo import jobs
from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.models import Account, CustomerFriendLink, LineFriend, SyncRun, Workspace, WriteBack
from lumo.web.auth import create_account
from lumo.workspaces import WorkspaceNotFound, create_workspace, resolve_workspace

logger = logging.getLogger(__name__)

DEMO_EMAIL = "demo@lumo.test"
DEMO_PASSWORD = "lumo-demo-2026"
DEMO_SHOP = "lumo-demo.myshopify.com"
#: Share of the store's customers who follow the LINE account, and of those who link.
FOLLOW_SHARE = 0.3
LINK_SHARE = 0.7
#: Demo-store sizes above this come from the generator instead of the real transactions.
REAL_DATA_LIMIT = 3000
DEMO_QUESTION = "friends who abandoned their cart"


class DemoError(RuntimeError):
    """A demo step failed; the message says which and what to try."""


@dataclass
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 5000
    customers: int = 300
    serve: bool = True
    use_worker: bool = True


@dataclass
class DemoState:
    """What the demo started, so it can report and stop it."""

    url: str = ""
    workspace_id: int = 0
    shopify: Any = None
    line: Any = None
    server: BaseWSGIServer | None = None
    worker: subprocess.Popen[bytes] | None = None
    customer_ids: list[int] = field(default_factory=list)
    linked: int = 0
    blocked: int = 0


def prepare_demo_workspace() -> int:
    """Create (once) the demo workspace, its LINE channel credentials and its sign-in."""
    upgrade()
    try:
        workspace = resolve_workspace()
    except WorkspaceNotFound:
        workspace = create_workspace(
            "Demo shop",
            timezone="Asia/Tokyo",
            currency="JPY",
            line_channel_secret=secrets.token_hex(16),
            line_channel_access_token=secrets.token_urlsafe(32),
        )
    if not workspace.line_channel_secret:
        workspace.line_channel_secret = secrets.token_hex(16)
        workspace.line_channel_access_token = secrets.token_urlsafe(32)
    if db.session.scalar(select(Account).where(Account.email == DEMO_EMAIL)) is None:
        create_account(workspace.id, DEMO_EMAIL, DEMO_PASSWORD)
    db.session.commit()
    return workspace.id


def run_demo(app: Flask, options: DemoOptions) -> int:
    """Run every step, print where to go, and serve until Ctrl-C; returns the exit code."""
    state = DemoState()
    log_file = _log_to_file(app)
    click.echo(f"Lumo demo (details are logged to {log_file})")
    with ExitStack() as stack:
        stack.callback(_stop_everything, state)
        try:
            _steps(app, options, state)
        except DemoError as error:
            click.secho(f"\nThe demo stopped: {error}", fg="red", err=True)
            return 1

        _print_welcome(state, serving=options.serve)
        if options.serve:
            _serve_until_interrupted(state)
    return 0


def _steps(app: Flask, options: DemoOptions, state: DemoState) -> None:
    step = _Stepper()

    with step("Preparing the database and the demo workspace"):
        state.workspace_id = prepare_demo_workspace()

    with step("Starting Lumo's web app"):
        _start_web(app, options, state)

    with step("Starting the Shopify and LINE stand-ins"):
        _start_stand_ins(app, options, state)

    with step("Starting the background worker"):
        _start_worker(app, options, state)

    with step(f"Connecting {DEMO_SHOP} through Shopify's OAuth flow"):
        session = _signed_in_session(state)
        _connect_store(session, state)

    click.echo("Initial sync (bulk operations):")
    _watch_initial_sync(app, state)

    with step("LINE: customers follow the account and link their store account"):
        _follow_and_link(state)

    with step("Writing LINE status back to Shopify customers"):
        written = _wait_for_write_backs(app, state)
    click.echo(f"    {written} Shopify customers now carry LINE status metafields")


def _log_to_file(app: Flask) -> str:
    """Keep the terminal for the demo's own lines; everything else goes to a log file."""
    path = os.path.join(app.config["LUMO_INSTANCE_PATH"], "demo.log")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for existing in root.handlers:
        existing.setLevel(logging.WARNING)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


class _Stepper:
    """Prints one line per step with its duration, and turns failures into DemoError."""

    @contextmanager
    def __call__(self, title: str) -> Iterator[None]:
        click.echo(f"• {title} …", nl=False)
        started = time.monotonic()
        try:
            yield
        except DemoError:
            click.echo(" failed")
            raise
        except Exception as error:
            click.echo(" failed")
            logger.exception("demo step failed: %s", title)
            raise DemoError(f"{title}: {error}") from error
        click.echo(f" done ({time.monotonic() - started:.1f} s)")


def _start_stand_ins(app: Flask, options: DemoOptions, state: DemoState) -> None:
    from lumo.sandbox.line_server import start_line_sandbox
    from lumo.sandbox.shopify_server import start_shopify_sandbox

    config = app.config
    state.shopify = start_shopify_sandbox(
        api_key=config["SHOPIFY_API_KEY"], api_secret=config["SHOPIFY_API_SECRET"]
    )
    state.customer_ids = seed_demo_store(state.shopify, options.customers)

    workspace = db.session.get(Workspace, state.workspace_id)
    assert workspace is not None
    lumo_url = state.url.rstrip("/")
    state.line = start_line_sandbox(
        channel_secret=workspace.line_channel_secret or "",
        channel_access_token=workspace.line_channel_access_token or "",
        webhook_url=f"{lumo_url}/webhooks/line/{workspace.id}",
    )

    overrides = {
        "SHOPIFY_SHOP_URL_TEMPLATE": state.shopify.shop_url_template,
        "LINE_API_BASE_URL": state.line.url,
        "LINE_DATA_API_BASE_URL": state.line.url,
        "LINE_ACCESS_BASE_URL": state.line.url,
        "LUMO_PUBLIC_URL": lumo_url,
    }
    app.config.update(overrides)
    # The worker process reads its settings from the environment.
    os.environ.update(overrides)


def seed_demo_store(shopify: Any, customers: int) -> list[int]:
    """Fill the stand-in store; real retail data for small stores, the generator for big ones."""
    if customers > REAL_DATA_LIMIT:
        shop = shopify.add_generated_shop(DEMO_SHOP, customers=customers, currency="JPY")
        return list(range(1, min(customers, 2000) + 1))

    from lumo.sandbox.demo_data import load_demo_store

    store = load_demo_store(customers=customers, currency="JPY")
    shop = shopify.add_shop(DEMO_SHOP, currency="JPY", timezone="Asia/Tokyo")
    shop.store.load(
        products=store.products,
        customers=store.customers,
        orders=store.orders,
        checkouts=store.checkouts,
    )
    skipped = store.report.skipped_total
    logger.info("demo store: %d customers, %d rows of source data skipped", customers, skipped)
    return [int(customer["id"]) for customer in store.customers]


def _start_web(app: Flask, options: DemoOptions, state: DemoState) -> None:
    try:
        server = make_server(options.host, options.port, app, threaded=True)
    except OSError as error:
        raise DemoError(
            f"port {options.port} on {options.host} is taken ({error.strerror}); "
            "stop what runs there or pick another with --port"
        ) from error
    state.server = server
    state.url = f"http://{options.host}:{server.server_port}/"
    threading.Thread(target=server.serve_forever, name="lumo-web", daemon=True).start()


def _start_worker(app: Flask, options: DemoOptions, state: DemoState) -> None:
    runner = jobs.runner()
    if not runner.uses_redis or not options.use_worker:
        click.echo(" (no Redis: jobs run inside this process)", nl=False)
        return
    env = dict(os.environ)
    env["DATABASE_URL"] = app.config["DATABASE_URL"]
    env["LUMO_INSTANCE_PATH"] = app.config["LUMO_INSTANCE_PATH"]
    state.worker = subprocess.Popen(
        [sys.executable, "-m", "lumo", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _signed_in_session(state: DemoState) -> httpx.Client:
    session = httpx.Client(base_url=state.url, timeout=30, follow_redirects=False)
    page = session.get("/sign-in")
    response = session.post(
        "/sign-in",
        data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrf_token": _csrf(page.text)},
    )
    if response.status_code != 302:
        raise DemoError(f"signing in to Lumo answered HTTP {response.status_code}")
    return session


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    return match.group(1) if match else ""


def _connect_store(session: httpx.Client, state: DemoState) -> None:
    """Walk the merchant's OAuth round trip: Lumo → Shopify's grant screen → Lumo's callback."""
    response = session.get(
        "/integrations/shopify/install", params={"shop": DEMO_SHOP}, follow_redirects=True
    )
    if response.status_code >= 400:
        raise DemoError(f"connecting the store ended with HTTP {response.status_code}")


def _watch_initial_sync(app: Flask, state: DemoState) -> None:
    """Draw a progress bar per category until the initial sync ends."""
    totals = _shopify_totals(state)
    order = [category.key for category in plugin_manager(app).categories()]
    interactive = sys.stdout.isatty()
    drawn = 0
    deadline = time.monotonic() + 6 * 3600
    while time.monotonic() < deadline:
        db.session.expire_all()
        run = db.session.scalar(
            select(SyncRun)
            .where(SyncRun.workspace_id == state.workspace_id, SyncRun.kind == "initial")
            .order_by(SyncRun.id.desc())
        )
        progress = dict(run.progress or {}) if run else {}
        lines = [
            _bar(name, progress[name], totals.get(name)) for name in order if name in progress
        ]
        finished = run is not None and run.status != "running"
        if interactive or finished:
            if drawn:
                click.echo(f"\x1b[{drawn}F", nl=False)
            click.echo("\n".join(lines) or "    waiting for the sync job to start")
            drawn = max(len(lines), 1) if interactive else 0
        if run is not None and finished:
            if run.status != "complete":
                raise DemoError(f"the initial sync failed: {run.error}")
            return
        time.sleep(0.5)
    raise DemoError("the initial sync did not finish within 6 hours")


def _shopify_totals(state: DemoState) -> dict[str, int]:
    """Shopify's own counts, where it has them, for the progress bars' right ends."""
    from lumo.sync.connection import shopify_client

    try:
        client = shopify_client(state.workspace_id)
        return {
            "customers": client.count_customers(),
            "orders": client.count_orders(),
            "products": client.count_products(),
        }
    except Exception:  # the bars fall back to plain counts
        logger.debug("demo: Shopify counts unavailable", exc_info=True)
        return {}


def _bar(name: str, done: int, total: int | None, width: int = 30) -> str:
    if not total:
        return f"    {name:20} {done:>10,} rows"
    filled = min(width, int(width * done / total))
    return f"    {name:20} [{'#' * filled}{'.' * (width - filled)}] {done:>10,} / {total:,}"


def _follow_and_link(state: DemoState) -> None:
    """A share of customers follow on LINE; most of those link, a few then block."""
    from lumo.friends.linking import send_account_link_invitation

    followers = state.customer_ids[:: max(1, round(1 / FOLLOW_SHARE))]
    for index, _customer_id in enumerate(followers):
        state.line.follow(f"U{index + 1:032x}")
    _wait_for(
        lambda: _count(LineFriend, state.workspace_id) >= len(followers),
        "LINE follow events to be applied",
        120,
    )

    friends = db.session.scalars(
        select(LineFriend)
        .where(LineFriend.workspace_id == state.workspace_id)
        .order_by(LineFriend.id)
    ).all()
    to_link = list(zip(friends, followers, strict=False))[: int(len(friends) * LINK_SHARE)]
    invitations = []
    for friend, customer_id in to_link:
        invitations.append(
            (send_account_link_invitation(state.workspace_id, friend.id), customer_id)
        )
        db.session.commit()
    # Friends open their links at the same time, as they would.
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="demo-friend") as pool:
        list(pool.map(lambda pair: _link_through_pages(*pair), invitations))
    _wait_for(
        lambda: _count(CustomerFriendLink, state.workspace_id) >= len(to_link),
        "accountLink events to land",
        120,
    )
    state.linked = len(to_link)

    # A few linked friends block the account: their status is written back as blocked.
    for friend, _customer in to_link[:: max(1, len(to_link) // 3 or 1)][:3]:
        state.line.unfollow(friend.line_user_id)
        state.blocked += 1


def _link_through_pages(link_page: str, customer_id: int) -> None:
    """What the friend does: open the link, sign in as the customer, agree on LINE."""
    page = httpx.get(link_page, timeout=30)
    path = link_page.split("://", 1)[-1].split("/", 1)[-1]
    form = dict(httpx.URL(link_page).params)
    form.update({"customer_id": str(customer_id), "csrf_token": _csrf(page.text)})
    response = httpx.post(link_page.split("?")[0], data=form, cookies=page.cookies, timeout=30)
    if response.status_code != 302:
        raise DemoError(f"the link page /{path} answered HTTP {response.status_code}")
    dialog = httpx.get(response.headers["Location"], timeout=30)
    if dialog.status_code >= 400:
        raise DemoError(f"LINE's account-link dialog answered HTTP {dialog.status_code}")


def _wait_for_write_backs(app: Flask, state: DemoState) -> int:
    from lumo.friends.write_back import enqueue_write_back_all

    enqueue_write_back_all(state.workspace_id)
    db.session.commit()

    def settled() -> bool:
        pending = db.session.scalar(
            select(func.count())
            .select_from(WriteBack)
            .where(
                WriteBack.workspace_id == state.workspace_id,
                WriteBack.status.in_(("pending", "running")),
            )
        )
        return not pending

    _wait_for(settled, "write-backs to finish", 300)
    shop = state.shopify.shop(DEMO_SHOP)
    return sum(1 for fields_ in shop.store.metafields.values() if fields_)


def _count(model: Any, workspace_id: int) -> int:
    statement = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
    return int(db.session.scalar(statement) or 0)


def _wait_for(condition: Any, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        if condition():
            return
        time.sleep(0.2)
    raise DemoError(f"gave up waiting for {what} after {seconds:.0f} s")


def _print_welcome(state: DemoState, *, serving: bool) -> None:
    from agent.conversation import ask

    answer = ask(state.workspace_id, DEMO_QUESTION)
    db.session.commit()
    segment = answer.get("segment") or {}

    click.echo("")
    where = "Lumo is running at" if serving else "`./run demo` serves Lumo at"
    click.secho(f"{where} {state.url}", bold=True)
    click.echo(f"Sign in with {DEMO_EMAIL} / {DEMO_PASSWORD}")
    click.echo(
        f"LINE: {state.linked} friends linked to Shopify customers; "
        f"{state.blocked} of them blocked the account since."
    )
    click.echo("")
    click.echo(f'Marketing Agent, asked "{DEMO_QUESTION}":')
    click.echo(f"    {answer.get('text', '').strip()}")
    if segment:
        click.echo(f"    Segment: {segment.get('text')}")
    click.echo("")
    click.echo('Ask more from another terminal:  ./run agent ask "VIPs who stopped buying"')
    if serving:
        click.echo("Press Ctrl-C to stop everything the demo started.")
    else:
        click.echo("Set up and stopped (--no-serve); `./run demo` serves the same data again.")


def _serve_until_interrupted(state: DemoState) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # A shell starting the demo in the background makes it ignore Ctrl-C; take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    click.echo("\nStopping Lumo, the worker and the stand-ins.")


def _stop_everything(state: DemoState) -> None:
    if state.worker is not None and state.worker.poll() is None:
        # RQ finishes the job in hand on SIGTERM; a sync cut short resumes on the next run.
        os.killpg(state.worker.pid, signal.SIGTERM)
        try:
            state.worker.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(state.worker.pid, signal.SIGKILL)
    if state.server is not None:
        state.server.shutdown()
        state.server.server_close()
    for stand_in in (state.line, state.shopify):
        if stand_in is not None:
            stand_in.stop()
    jobs.runner().wait_idle()
