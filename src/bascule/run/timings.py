"""Seconds per stage of a run (the report's ``timings``): read and write are timed in their own
threads, beside the build; a worker's timings are added to the parent's as ``workers_*``."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class Timings:
    """Seconds per stage. Each stage is timed by one thread only, so no lock."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        """``with timings("build"): ...`` adds the seconds spent inside to that stage."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.seconds[stage] += time.monotonic() - t0

    def merge(self, other: Mapping[str, float], prefix: str = "") -> None:
        for k, v in other.items():
            self.seconds[prefix + k] += v

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in sorted(self.seconds.items())}
