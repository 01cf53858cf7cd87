"""Deploying a registered version on the connected Ray cluster, and the endpoint that results.

``deploy`` returns only once the endpoint answers its health check over HTTP with the version it was asked
to serve; a deploy that fails or does not come up in time is removed again and raises ``ServeError`` with
Serve's own account of why (the replica's exception, or what it is waiting for).
"""

from __future__ import annotations

import errno
import json
import re
import shlex
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from rayplane.errors import ServeError
from rayplane.registry import ModelVersion
from rayplane.serve.config import LOGGING, application_config
from rayplane.spec.models import WorkloadSpec

if TYPE_CHECKING:
    from rayplane.serve.follow import AliasFollower

# Ray Serve is imported inside the functions that use it: importing this package (for
# rayplane.serve.config, say, when rendering Kubernetes manifests) must not pay for it.
POLL_S = 0.25
# "module.SomeError: message", the line of a traceback that says what was raised.
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b:")
# Hosts a server binds to that a client cannot dial.
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


@dataclass(frozen=True)
class Endpoint:
    url: str  # base: http://host:port<route_prefix>
    name: str
    version: int
    app: str  # the Serve application name (the workload's name)
    example: dict[str, Any] = field(repr=False)
    owns_serve: bool = field(default=False, repr=False)

    @property
    def predict_url(self) -> str:
        return f"{self.url}/predict"

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"

    @property
    def health_url(self) -> str:
        return f"{self.url}/healthz"

    @property
    def model_url(self) -> str:
        return f"{self.url}/model"

    def curl_example(self) -> str:
        body = json.dumps(self.example, separators=(",", ":"))
        return f"curl -s -X POST {self.predict_url} -H 'Content-Type: application/json' -d {shlex.quote(body)}"

    def undeploy(self) -> None:
        """Delete the application; stop Serve too when this deploy started it and nothing else is left."""
        from ray import serve

        serve.delete(self.app)
        if self.owns_serve and not serve.status().applications:
            serve.shutdown()


def deploy(spec: WorkloadSpec, version: ModelVersion, *, address_host: str | None = None,
           timeout_s: float = 300.0) -> Endpoint:
    """Serve ``version`` at ``spec.route_prefix`` on the connected Ray cluster and wait until it is healthy.

    ``address_host`` is the host clients dial (e.g. the head node's address); by default the host Serve
    listens on, or 127.0.0.1 when that is a wildcard.
    """
    from ray import serve

    from rayplane.data.preprocess import Preprocessor
    from rayplane.serve.app import build_app
    from rayplane.serve.schema import example_record, typical_values

    http = spec.serve
    owns_serve = _running_http_options() is None
    try:
        serve.start(http_options={"host": http.host, "port": http.port}, logging_config=LOGGING)
    except Exception as exc:  # the proxy's own error (a port in use, say) arrives wrapped in a RayTaskError
        if owns_serve:
            serve.shutdown()  # the controller outlives its failed proxy; it would pin the bad address
        why = _bind_problem(http.host, http.port) or _gist(str(exc))
        raise ServeError(f"cannot start Serve's HTTP proxy on {http.host}:{http.port}: {why} (serve.host, "
                         f"serve.port; --host, --port)") from exc
    running = _running_http_options()
    if (running.host, running.port) != (http.host, http.port):
        raise ServeError(
            f"Serve already runs on this Ray cluster at {running.host}:{running.port}, and its address is fixed "
            f"when it starts: deploy with --host {running.host} --port {running.port} (serve.host/serve.port), "
            f"not {http.host}:{http.port}"
        )
    config = application_config(spec, version.location.uri)
    app = build_app(config["args"])
    typical = typical_values(Preprocessor.loads(version.read("preprocessor.json"),
                                                (version.location / "preprocessor.json").display))
    host = address_host or ("127.0.0.1" if http.host in WILDCARD_HOSTS else http.host)
    endpoint = Endpoint(
        url=f"http://{_bracket(host)}:{http.port}{'' if spec.route_prefix == '/' else spec.route_prefix}",
        name=version.name,
        version=version.version,
        app=spec.name,
        example=example_record(version.metadata["input_schema"], typical),
        owns_serve=owns_serve,
    )
    # serve._run(_blocking=False) rather than serve.run: serve.run waits for RUNNING without a deadline, so a
    # replica that can never be placed (too few CPUs) would hang the caller forever.
    serve._run(app, _blocking=False, name=config["name"], route_prefix=config["route_prefix"],
               logging_config=config["logging_config"])
    try:
        _wait_healthy(endpoint, timeout_s)
    except BaseException:
        endpoint.undeploy()
        raise
    return endpoint


def serve_forever(endpoint: Endpoint, follower: AliasFollower | None = None) -> None:
    """Block until Ctrl-C (or SIGTERM), then undeploy; ``follower`` (a started ``AliasFollower``) is stopped first
    and its endpoint, the one serving by then, is undeployed."""
    stop = threading.Event()
    # Signal handlers can only be set from the main thread; elsewhere only Ctrl-C of the process applies.
    # SIGINT through the event too: a KeyboardInterrupt could land inside one of Ray's own calls.
    on_main = threading.current_thread() is threading.main_thread()
    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in stopping} if on_main else {}
    try:
        # A timed wait, so Ctrl-C is seen within a second wherever the wait itself is not interruptible.
        while not stop.wait(timeout=1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if follower is not None:
            endpoint = follower.stop()
        endpoint.undeploy()


def _wait_healthy(endpoint: Endpoint, timeout_s: float) -> None:
    from ray import serve

    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    with httpx.Client(timeout=5.0) as client:
        while True:
            status = serve.status().applications.get(endpoint.app)
            if status is not None and status.status == "DEPLOY_FAILED":
                raise ServeError(f"application {endpoint.app!r} ({endpoint.name}:v{endpoint.version}) failed to "
                                 f"deploy: {_failure(status)}")
            if status is not None and status.status == "RUNNING":
                last = _probe(client, endpoint)
                if last == "ok":
                    return
            if time.monotonic() > deadline:
                state = "not deployed" if status is None else f"{status.status}: {_failure(status)}"
                raise ServeError(
                    f"application {endpoint.app!r} ({endpoint.name}:v{endpoint.version}) was not healthy at "
                    f"{endpoint.health_url} within {timeout_s:g}s (application {state}; health check: {last})"
                )
            time.sleep(POLL_S)


def _probe(client: httpx.Client, endpoint: Endpoint) -> str:
    """'ok' when the endpoint answers as the expected version, else what it did instead."""
    try:
        response = client.get(endpoint.health_url)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    model = response.json().get("model", {})
    if (model.get("name"), model.get("version")) != (endpoint.name, endpoint.version):
        return f"still serving {model.get('name')}:v{model.get('version')}"
    return "ok"


def _failure(status: Any) -> str:
    """Serve's messages for an application and its deployments, each cut to its first and last lines."""
    messages = [status.message] + [d.message for d in status.deployments.values()]
    return "; ".join(_gist(m) for m in messages if m) or "no message from Serve"


def _gist(message: str) -> str:
    """The first line, and the exception a traceback ends in (help text often follows it)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    raised = [line for line in lines[1:] if EXCEPTION_LINE.match(line)]
    return f"{lines[0]} ... {raised[-1]}" if raised else lines[0]


def _running_http_options() -> Any:
    """The HTTP options of the Serve instance on this cluster, or None when Serve is not running."""
    # Private, but the only in-process view of where a running Serve listens (serve.status() omits it).
    from ray.serve.context import _get_global_client

    client = _get_global_client(raise_if_no_controller_running=False)
    return None if client is None else client.http_config


def _bind_problem(host: str, port: int) -> str | None:
    """Why nothing can listen on host:port, if that is the trouble (HAProxy's own account of it is a page of
    log lines)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            return "the port is already in use" if exc.errno == errno.EADDRINUSE else f"cannot bind it: {exc.strerror}"
    return None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
