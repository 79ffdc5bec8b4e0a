"""Feeding a model without making it wait: images are decoded and prepared in a thread pool, ahead.

Pillow decodes and resizes outside the GIL, so a few threads keep a batch ready while the model runs
the previous one. Unreadable images come back as errors next to their batch, never stopping the run.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from lorakit.data.images import ImageError

T = TypeVar("T")


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def prepared_batches(
    images: list[Path], batch_size: int, prepare: Callable[[Path], T], *, workers: int | None = None
) -> Iterator[tuple[list[Path], list[T], dict[Path, str]]]:
    """Yield (paths, prepared items, errors) batches in order, preparing the next ones meanwhile.

    ``prepare`` raises :class:`ImageError` for a bad image; the error's problem is reported for that path.
    """

    def work(path: Path) -> T | ImageError:
        try:
            return prepare(path)
        except ImageError as error:
            return error

    workers = workers or default_workers()
    ahead = max(2 * batch_size, 2 * workers)  # enough queued work that the model never waits
    with ThreadPoolExecutor(workers, thread_name_prefix="prepare") as pool:
        pending: deque[tuple[Path, Future]] = deque()
        source = iter(images)

        def refill() -> None:
            while len(pending) < ahead:
                path = next(source, None)
                if path is None:
                    return
                pending.append((path, pool.submit(work, path)))

        refill()
        while pending:
            paths: list[Path] = []
            items: list[T] = []
            errors: dict[Path, str] = {}
            while pending and len(paths) + len(errors) < batch_size:
                path, future = pending.popleft()
                refill()
                result = future.result()
                if isinstance(result, ImageError):
                    errors[path] = result.problem
                else:
                    paths.append(path)
                    items.append(result)
            yield paths, items, errors
