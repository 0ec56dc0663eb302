"""Start and stop the views of a running service: the status page (with ``/metrics``) and Home
Assistant over MQTT, as ``[web]`` and ``[mqtt]`` say.

``observed(deps)`` yields an ``ObservedService`` with the views attached. A view that cannot
start (port taken, token variable unset, broker settings wrong, a library missing) is logged
and left out: the service runs without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from optimizer.integrations.switch import OptimiserSwitch, install
from optimizer.service.observe import ObservedService
from optimizer.service.wiring import Deps

log = logging.getLogger(__name__)


def _start_web(service: ObservedService, listen: str, stack: ExitStack) -> str | None:
    """Serve the page on ``listen``; its URL, or ``None`` when it could not start."""
    try:
        from optimizer.integrations.web.server import StatusApp, StatusServer

        token = service.settings.web.token()
        app = StatusApp(
            lambda: service.latest, service.store, service.settings, service.clock.now, token
        )
        server = StatusServer(app, listen).start()
    except Exception as exc:
        log.error("status page on %s not started: %s (the service runs without it)", listen, exc)
        return None
    stack.callback(server.close)
    log.info("status page: %s/", server.url)
    return server.url


def _start_mqtt(service: ObservedService, stack: ExitStack) -> None:
    try:
        from optimizer.integrations.mqtt import HomeAssistantBridge

        settings = service.settings
        bridge = HomeAssistantBridge(settings.mqtt, service.switch, settings.planner.currency)
        bridge.start()
    except Exception as exc:
        log.error(
            "mqtt %s not started: %s (the service runs without it)", service.settings.mqtt.url, exc
        )
        return
    service.observers.append(bridge)
    stack.callback(bridge.close)


@contextmanager
def observed(deps: Deps, listen: str | None = None) -> Iterator[ObservedService]:
    """An ``ObservedService`` with the page (on ``listen``, default ``web.listen``; ``""``: none)
    and MQTT (``mqtt.url``) attached; both stopped on exit (MQTT says ``offline`` first)."""
    switch = OptimiserSwitch(deps.store)
    service = ObservedService(deps, switch=switch)
    install(switch)
    with ExitStack() as stack:
        stack.callback(install, None)
        stack.callback(service.close)
        where = deps.settings.web.listen if listen is None else listen
        if where:
            service.web_url = _start_web(service, where, stack)
        if deps.settings.mqtt.url:
            _start_mqtt(service, stack)
        yield service
