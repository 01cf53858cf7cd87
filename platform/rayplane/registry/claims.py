"""Numbering by claims: how concurrent writers agree on the next free number without an atomic rename.

Used for version numbers (``v<N>/``) and alias events (``.aliases/<alias>/<N>.json``). A writer creates
``.claims/<N>.<token>`` beside the committed items and lists the claims for N: it owns N only if its claim is
the only one; writers that see each other both withdraw and retry after a random pause (with strongly
consistent listing, as S3, GCS, Azure and local disks give, two writers can never both see only their own).
A writer killed after claiming leaves a number that is never reused (a gap), never a duplicate.
"""

from __future__ import annotations

import random
import re
import time

from rayplane.errors import RegistryError
from rayplane.storage import Location, within

CLAIMS = ".claims"
CLAIM = re.compile(r"^(\d+)\.([0-9a-f]{32})$")
MAX_CLAIM_ATTEMPTS = 50


def scan(directory: Location, committed: re.Pattern[str]) -> tuple[list[int], dict[int, set[str]]]:
    """Committed numbers (files under ``directory`` whose relative path matches ``committed``, group 1) and the
    claims (number -> tokens), from one listing."""
    numbers, claims = [], {}
    for rel in within(directory.files, f"storage.root: cannot list {directory.display}"):
        marker = committed.match(rel)
        if marker:
            numbers.append(int(marker.group(1)))
        elif rel.startswith(CLAIMS + "/") and (claim := CLAIM.match(rel[len(CLAIMS) + 1:])):
            claims.setdefault(int(claim.group(1)), set()).add(claim.group(2))
    return sorted(numbers), claims


def claim_next(directory: Location, committed: re.Pattern[str], token: str) -> int:
    """Own the next number under ``directory``: above every committed number and every claim."""
    for attempt in range(MAX_CLAIM_ATTEMPTS):
        numbers, claims = scan(directory, committed)
        number = max([0, *numbers, *claims]) + 1
        mine = directory / CLAIMS / f"{number}.{token}"
        mine.write_bytes(b"")
        rivals = scan(directory, committed)[1].get(number, set()) - {token}
        if not rivals:
            return number
        mine.delete()
        time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
    raise RegistryError(f"{directory.display}: could not claim a number after {MAX_CLAIM_ATTEMPTS} attempts "
                        "(too many concurrent writers)")
