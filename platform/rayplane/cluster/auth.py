"""Ray token authentication: the token a cluster is started with, and the token a client sends.

Ray >= 2.52 checks ``Authorization: Bearer <token>`` on the dashboard (Jobs API included) and on its gRPC
services when ``RAY_AUTH_MODE=token``. Ray reads the token from ``RAY_AUTH_TOKEN``, else the file named by
``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``; rayplane keeps its clusters' tokens in their state
directory so that they never overwrite the user's own.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rayplane.errors import ClusterError

DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")


def ensure_token(path: Path) -> str:
    """The token in ``path``, created (256 random bits, readable only by the owner) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return read_token(path)


def read_token(path: Path) -> str:
    try:
        token = path.expanduser().read_text().strip()
    except OSError as exc:
        raise ClusterError(f"cannot read the Ray auth token from {path}: {exc.strerror}") from None
    if not token:
        raise ClusterError(f"the Ray auth token file {path} is empty")
    return token


def server_env(token_file: Path) -> dict[str, str]:
    """Environment for ``ray start`` that turns token auth on with the token in ``token_file``."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}


def client_token(token_file: str | Path | None) -> str | None:
    """The token a client sends: ``token_file`` if given, else Ray's own lookup order; None when there is none."""
    if token_file is not None:
        return read_token(Path(token_file))
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or DEFAULT_TOKEN_FILE).expanduser()
    return read_token(path) if path.is_file() else None


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
