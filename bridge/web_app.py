"""The HTTP side of the bridge: its endpoints, and how an outage of the store is answered."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from sqlalchemy.exc import SQLAlchemyError

from bridge.app import Bridge
from bridge.errors import StoreUnavailable
from bridge.mail.http import mount_email
from bridge.metrics import CONTENT_TYPE_LATEST, Metrics
from bridge.slack.gate import SlackGate
from bridge.sms.http import VonageWebhooks
from bridge.sms.media_links import MediaEndpoint
from bridge.sms.voice import EVENT_PATH as VOICE_EVENT_PATH

log = logging.getLogger(__name__)

# Webhook bodies larger than this are refused with 413 (a long SMS is a few kB).
MAX_BODY_BYTES = 256 * 1024
STORE_AWAY_RETRY_AFTER_SECONDS = 5


def store_away_middleware(metrics: Metrics) -> Middleware:
    """A webhook the store could not keep is answered 503, so its sender tries it again
    later, with one line in the log instead of a traceback: an outage, not a bug.

    Vonage resends an inbound message not answered 200 or 204 "for the next 24 hours"
    (https://developer.vonage.com/messaging/sms/guides/inbound-sms); Mailgun retries any
    answer but 200 and 406, and Slack's Events API a failed delivery three times."""

    @web.middleware
    async def answer_store_away(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except StoreUnavailable as away:
            metrics.webhooks_deferred.inc()
            # The route, not the path: a media link's path is the token that opens it.
            route = request.match_info.route.resource
            shown = route.canonical if route is not None else "?"
            log.warning("answered 503 to %s %s: %s", request.method, shown, away)
            return web.json_response(
                {"error": "the bridge cannot store this now; try again later"},
                status=503,
                headers={"Retry-After": str(STORE_AWAY_RETRY_AFTER_SECONDS)},
            )

    return answer_store_away


def build_web_app(bridge: Bridge) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[store_away_middleware(bridge.metrics)]
    )
    webhooks = VonageWebhooks(
        intake=bridge.intake,
        metrics=bridge.metrics,
        signature_secret=bridge.settings.vonage_signature_secret,
        signature_method=bridge.settings.vonage_signature_method,
        seen=bridge.seen,
        clock=bridge.clock,
    )

    async def healthz(_request: web.Request) -> web.Response:
        health = {"store": "ok"}
        try:
            await bridge.db.ping()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("health check: store unreachable: %s", type(exc).__name__)
            health["store"] = "unreachable"
        if bridge.redis is not None:
            health["redis"] = "ok" if bridge.redis.up else "unreachable"
        ok = all(state == "ok" for state in health.values())
        return web.json_response({"ok": ok, **health}, status=200 if ok else 503)

    async def metrics(_request: web.Request) -> web.Response:
        try:
            bridge.metrics.outbox_depth.set(await bridge.outbox.depth())
            bridge.metrics.outbox_dead.set(await bridge.outbox.dead_count())
        except (SQLAlchemyError, OSError) as exc:
            # The counters still tell of the outage (webhooks deferred); the two gauges keep
            # what the store last said.
            log.warning("metrics: outbox figures unreadable: %s", type(exc).__name__)
        return web.Response(
            body=bridge.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    secret = bridge.settings.slack_signing_secret
    if not bridge.settings.socket_mode and secret is not None:
        gate = SlackGate(bridge.bolt, signing_secret=secret.get_secret_value(), seen=bridge.seen)
        app.router.add_post("/slack/events", gate.handle)
    app.router.add_route("*", "/vonage/inbound", webhooks.inbound)
    app.router.add_route("*", "/vonage/status", webhooks.status)
    mount_email(
        app,
        bridge.settings,
        intake=bridge.intake,
        metrics=bridge.metrics,
        seen=bridge.seen,
        clock=bridge.clock,
    )
    app.router.add_route("*", VOICE_EVENT_PATH, webhooks.voice_event)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/media/{token}", MediaEndpoint(bridge.links, bridge.store).serve)
    return app
