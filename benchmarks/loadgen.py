"""A closed-loop HTTP/1.1 load generator for 127.0.0.1: N keep-alive connections, each sending the same POST
as soon as its last answer arrived, bounded by a duration and a request count.

    python -m benchmarks.loadgen URL BODY_FILE --connections 16 --seconds 10 --max-requests 50000

Prints one JSON object: requests, errors (non-200 answers), seconds, req_per_s and latency percentiles (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


async def _connection(host: str, port: int, request: bytes, deadline: float, budget: list[int],
                      latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            sent = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            if status_line.split(b" ", 2)[1:2] != [b"200"]:
                errors[0] += 1
    finally:
        writer.close()


async def load(url: str, body: bytes, connections: int, seconds: float, max_requests: int) -> dict:
    parts = urlsplit(url)
    if parts.hostname not in LOCAL_HOSTS:
        raise ValueError(f"load generation stays on this machine: {parts.hostname} is not 127.0.0.1")
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors, budget = [0], [max_requests]
    started = time.perf_counter()
    await asyncio.gather(*(_connection(parts.hostname, parts.port, request, started + seconds, budget, latencies,
                                       errors) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {"requests": len(latencies), "errors": errors[0], "seconds": elapsed,
            "req_per_s": len(latencies) / elapsed, "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "connections": connections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("body_file")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=50_000)
    args = parser.parse_args()
    with open(args.body_file, "rb") as f:
        body = f.read()
    print(json.dumps(asyncio.run(load(args.url, body, args.connections, args.seconds, args.max_requests))))


if __name__ == "__main__":
    main()
