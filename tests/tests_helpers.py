"""Small helpers shared by tests: wait on real readiness with a deadline, never a bare sleep."""

from __future__ import annotations

import contextlib
import copy
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


DELETE = object()


def with_changes(base: dict, changes: dict) -> dict:
    """A deep copy of ``base`` with dotted-path ``changes`` applied (the value DELETE removes the key)."""
    result = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return result


def checkpointed_epochs(run_dir: Path) -> int:
    """Epochs covered by the newest complete checkpoint on disk of a Train run (0 when none)."""
    # Imported here: most tests that use these helpers never load torch.
    import torch

    from rayplane.training.loop import STATE_FILE

    epochs = [0]
    for directory in run_dir.glob("checkpoint_*"):
        try:
            epochs.append(torch.load(directory / STATE_FILE, weights_only=True)["epoch"] + 1)
        except (OSError, RuntimeError, EOFError):  # still being written
            pass
    return max(epochs)


def alive_actor_pids(class_name_part: str) -> list[int]:
    """Pids of the live actors of the connected Ray whose class name contains ``class_name_part``.

    Read straight from the GCS actor table rather than through the dashboard's State API
    (``ray.util.state.list_actors``), one process fewer between the test and the answer.
    """
    from ray._private.state import actors

    return [a["Pid"] for a in actors().values()
            if a["State"] == "ALIVE" and class_name_part in a["ActorClassName"] and a["Pid"]]


@contextlib.contextmanager
def interrupted_cli(*args: str, stderr_path: Path, timeout: float = 120) -> Iterator[tuple[queue.Queue, dict]]:
    """Run ``rayplane ARGS`` that serves until Ctrl-C; yield its stdout lines (a queue) and, after the block,
    the exit code of the one SIGINT the block's end sends it (``ended["code"]``)."""
    ended: dict = {}
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rayplane.cli.main", *args], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=err, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        try:
            yield lines, ended
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                ended["code"] = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
