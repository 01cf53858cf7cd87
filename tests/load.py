"""A bounded load on an endpoint from 127.0.0.1: a few HTTP clients, each sending the same prediction back to back,
until stopped or ``bound_s``; every answer is kept with its status and the version that answered, so failures
are counted, not sampled."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from tests_helpers import wait_for


@dataclass(frozen=True)
class Answer:
    sent: float
    status: int | str  # the HTTP status, or the client error's name
    version: int | None


def send_load(url: str, body: dict, answers: list[Answer], stop: threading.Event, clients: int,
              bound_s: float) -> None:
    """``clients`` clients posting ``body`` until ``stop`` (or ``bound_s``); every answer lands in ``answers``."""
    deadline = time.monotonic() + bound_s

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                sent = time.monotonic()
                try:
                    response = http.post(url, json=body)
                except httpx.HTTPError as exc:
                    answers.append(Answer(sent, type(exc).__name__, None))
                    continue
                ok = response.status_code == 200
                answers.append(Answer(sent, response.status_code, response.json()["model"]["version"] if ok else None))

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()


class Loaded:
    """A load running beside the test body; ``finish`` waits for ``after`` more answers (``min_answers`` in all)."""

    def __init__(self, url: str, body: dict, *, clients: int = 4, bound_s: float = 300, after: int = 200,
                 min_answers: int = 1000) -> None:
        self.answers: list[Answer] = []
        self.after, self.min_answers = after, min_answers
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(1)
        self.future = self.pool.submit(send_load, url, body, self.answers, self.stop, clients, bound_s)

    def __enter__(self) -> Loaded:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()  # also when the test failed mid-load
        self.pool.shutdown()

    def wait_for_answers(self, count: int) -> None:
        wait_for(lambda: len(self.answers) >= count or self.future.done(), timeout=180,
                 what=f"{count} answers under load")

    def finish(self) -> list[Answer]:
        self.wait_for_answers(max(len(self.answers) + self.after, self.min_answers))
        self.stop.set()
        self.future.result(timeout=60)
        return list(self.answers)
