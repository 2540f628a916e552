"""The progress bar of long jobs: a count against a known total, with a rate and an ETA.

A video job knows its output frame count before the first frame is
interpolated (`frame_rate` plan), so its bar counts output frames written
against that total; tqdm then shows the rate and the time left. A resumed
job starts the bar at the frames its finished chunks already hold (the ETA
counts only the work left). On stderr, like the job's other lines.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class Bar:
    """`update(n)` adds n to the count; `step(item)` adds one and returns `item`."""

    def __init__(self, total: int, desc: str, initial: int = 0, enabled: bool = True):
        self.count = initial
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit="frame", dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None and n:
            self._bar.update(n)

    def step(self, item: T) -> T:
        self.update(1)
        return item

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
