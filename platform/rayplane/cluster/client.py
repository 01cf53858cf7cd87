"""Talking to a cluster's head over HTTP: the dashboard's REST APIs and Ray's Jobs SDK, with the auth token.

The same client works for the local cluster and for a KubeRay head reached through
``kubectl port-forward svc/<cluster>-head-svc 8265:8265``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from rayplane.cluster.auth import auth_headers, client_token
from rayplane.cluster.state import StateDir
from rayplane.errors import ClusterError

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
ADDRESS_ENV = "RAY_API_SERVER_ADDRESS"  # the variable Ray's own job CLI reads


@dataclass(frozen=True)
class Connection:
    url: str
    token: str | None
    token_source: str
    local_python: str | None = None  # the interpreter of the local cluster, when it is the target


def normalize_address(address: str) -> str:
    address = address.strip().rstrip("/")
    if not re.match(r"^https?://", address):
        if "://" in address:
            raise ClusterError(f"--address {address!r}: expected the dashboard's http(s)://HOST:PORT (e.g. "
                               f"{DEFAULT_ADDRESS}), not a {address.split('://')[0]}:// address")
        address = f"http://{address}"
    return address


def resolve(address: str | None = None, token_file: str | Path | None = None,
            state_dir: str | Path | None = None) -> Connection:
    """Where to connect and with which token.

    The address is ``address``, else ``$RAY_API_SERVER_ADDRESS``, else the cluster ``rayplane cluster up``
    started, else Ray's default; the token is ``token_file``, else that local cluster's token when it is
    the target, else Ray's own (``$RAY_AUTH_TOKEN``, ``$RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``).
    """
    local = StateDir(state_dir)
    record = local.load()
    address = address or os.environ.get(ADDRESS_ENV) or (record.dashboard_url if record else DEFAULT_ADDRESS)
    url = normalize_address(address)
    is_local = record is not None and record.dashboard_url == url
    python = record.python if is_local else None
    if token_file is not None:
        return Connection(url, client_token(token_file), str(token_file), python)
    if is_local and local.token_file.exists():
        return Connection(url, client_token(local.token_file), str(local.token_file), python)
    return Connection(url, client_token(None),
                      "Ray's token lookup ($RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)", python)


class ClusterClient:
    """The head's HTTP APIs; every failure becomes a ``ClusterError`` that says what to do."""

    def __init__(self, connection: Connection, timeout_s: float = 30.0):
        self.connection = connection
        self.timeout_s = timeout_s
        self._jobs = None

    @property
    def url(self) -> str:
        return self.connection.url

    def get_json(self, path: str, **params: Any) -> Any:
        response = self._request("GET", path, params=params or None)
        try:
            return response.json()
        except ValueError:
            raise ClusterError(f"GET {self.url}{path}: expected JSON, got {response.text[:200]!r}") from None

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.request(method, f"{self.url}{path}", headers=auth_headers(self.connection.token),
                                        timeout=self.timeout_s, **kwargs)
        except requests.ConnectionError:
            raise ClusterError(f"no Ray dashboard answers at {self.url}: start one with `rayplane cluster up`, "
                               "or check the address (and the port-forward, for KubeRay)") from None
        except requests.Timeout:
            raise ClusterError(f"{method} {self.url}{path}: no answer within {self.timeout_s:g} s") from None
        self.raise_for_auth(response.status_code)
        if response.status_code >= 400:
            raise ClusterError(f"{method} {self.url}{path}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    def raise_for_auth(self, status: int) -> None:
        if status == 401:
            raise ClusterError(f"the cluster at {self.url} requires a Ray auth token and none was found: pass "
                               "--token-file or set RAY_AUTH_TOKEN")
        if status == 403:
            raise ClusterError(f"the cluster at {self.url} rejected the auth token from {self.connection.token_source}")

    @property
    def jobs(self):
        """Ray's ``JobSubmissionClient`` for this head (checked for reachability and auth first)."""
        if self._jobs is None:
            self.get_json("/api/version")
            from ray.job_submission import JobSubmissionClient

            try:
                self._jobs = JobSubmissionClient(self.url, headers=auth_headers(self.connection.token))
            except (ConnectionError, RuntimeError) as exc:
                raise ClusterError(f"cannot use the Jobs API at {self.url}: {exc}") from None
        return self._jobs
