"""An endpoint that follows an alias: when the champion moves (a promotion, a rollback), the running endpoint
is redeployed with the new version under the same Serve application name, which Serve rolls over replica by
replica, so no request is dropped.

Serve's rolling update stops an old replica before it starts the replacement; with one replica that leaves a
moment with none (HAProxy then answers 404). So a rollover runs with at least ``MIN_ROLLOVER_REPLICAS``: Serve
then starts the first new replica while the old ones still serve, and replaces the rest one at a time. The
endpoint keeps that many afterwards, so the next rollover starts from them.

The follower is a thread in the process that deployed the endpoint (``rayplane serve``), polling the alias's
newest event every ``poll_s``: one listing of a small directory, on a local disk or an object store alike.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable

from rayplane.errors import RayplaneError
from rayplane.registry import CHAMPION, ModelRegistry
from rayplane.serve.endpoint import Endpoint, deploy
from rayplane.spec import override
from rayplane.spec.models import WorkloadSpec

POLL_S = 2.0
MIN_ROLLOVER_REPLICAS = 2


def rollover_spec(spec: WorkloadSpec) -> WorkloadSpec:
    scaling = spec.serve.autoscaling
    if scaling.min_replicas >= MIN_ROLLOVER_REPLICAS:
        return spec
    return override(spec, {"serve.autoscaling.min_replicas": MIN_ROLLOVER_REPLICAS,
                           "serve.autoscaling.max_replicas": max(scaling.max_replicas, MIN_ROLLOVER_REPLICAS)})


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class AliasFollower:
    def __init__(self, spec: WorkloadSpec, endpoint: Endpoint, *, alias: str = CHAMPION, poll_s: float = POLL_S,
                 deploy_timeout_s: float = 300.0, say: Callable[[str], None] = _say) -> None:
        self.spec = rollover_spec(spec)
        self.endpoint = endpoint
        self.alias = alias
        self.poll_s = poll_s
        self.deploy_timeout_s = deploy_timeout_s
        self.say = say
        self.registry = ModelRegistry.for_spec(spec)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rayplane-follow-{alias}", daemon=True)

    def start(self) -> AliasFollower:
        self._thread.start()
        return self

    def stop(self) -> Endpoint:
        """Stop following (after a rollover in progress finishes); the endpoint as it is now."""
        self._stop.set()
        self._thread.join()
        return self.endpoint

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.follow()
            except RayplaneError as exc:  # a storage hiccup or a failed rollover: keep serving, try again
                self.say(f"following {self.alias!r}: {exc}")

    def follow(self) -> bool:
        """Roll the endpoint over to the alias's target if it moved; whether it did."""
        event = self.registry.alias_log(self.spec.name, self.alias).current()
        if event is None or event.version == self.endpoint.version:
            return False
        version = self.registry.get(self.spec.name, event.version)
        self.say(f"{self.alias!r} moved to {version.uri} ({event.describe()}): rolling the replicas over")
        previous = self.registry.get(self.spec.name, self.endpoint.version)
        try:
            rolled = deploy(self.spec, version, timeout_s=self.deploy_timeout_s)
        except RayplaneError:
            # deploy removes an application that did not come up: put the last good version back.
            self.endpoint = self._keep(deploy(self.spec, previous, timeout_s=self.deploy_timeout_s))
            raise
        self.endpoint = self._keep(rolled)
        self.say(f"now serving {version.uri} at {rolled.url}")
        return True

    def _keep(self, endpoint: Endpoint) -> Endpoint:
        # Whether Serve is stopped with the endpoint is decided by the first deploy, not by a rollover.
        return dataclasses.replace(endpoint, owns_serve=self.endpoint.owns_serve)
