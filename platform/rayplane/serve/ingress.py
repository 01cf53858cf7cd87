"""How HTTP reaches the replicas: Serve's HAProxy ingress, switched on in the environment of the Ray processes.

With Serve's default Python proxy every request crosses a second Python process and Ray actor calls both ways
(the replica even pulls the body back from the proxy); on 2 cores that halves the req/s of a plain uvicorn
server. With HAProxy each replica runs its own HTTP server and HAProxy, a C process, only forwards to it
(docs/benchmarks.md, "serving"). Serve reads these flags once, in each of its processes, when they start, so
they belong to whoever starts the Ray processes: the embedded Ray, `rayplane cluster up`, the Helm chart.
(HAProxy's files are Ray's own business: it keeps them per node, under /tmp/haproxy-serve/<node id>.)
"""

from __future__ import annotations

from collections.abc import Mapping

HAPROXY_FLAG = "RAY_SERVE_ENABLE_HA_PROXY"
# A stopping replica stays up this long so HAProxy can take it out first; Ray's default (30 s) allows for
# proxies on other machines. On one machine HAProxy hears of it at once, and 30 s would hold up every undeploy.
DRAIN_FLAG = "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"


def local_ingress_env(env: Mapping[str, str]) -> dict[str, str]:
    """What a Ray started on this machine adds to ``env``: HAProxy on and a short drain, unless ``env`` sets
    them already (``RAY_SERVE_ENABLE_HA_PROXY=0`` brings back Serve's Python proxy)."""
    return {HAPROXY_FLAG: env.get(HAPROXY_FLAG, "1"), DRAIN_FLAG: env.get(DRAIN_FLAG, "1")}
