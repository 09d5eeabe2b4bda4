"""Progress bars for long work (Brian2 runs, emulators, sweeps), on stderr through tqdm.

A *bar factory* is a callable ``bars(total, description, unit)`` returning a context
manager with ``update(n)``. :func:`bar_factory` gives tqdm bars only when they help a
person watching: not under ``--json`` and not when stderr is not a terminal (pipes, log
files, tests); otherwise :func:`no_bars`, whose bars do nothing. Library functions take a
factory argument that defaults to :func:`no_bars`, so nothing prints unless asked.
"""
from __future__ import annotations

import sys
from typing import Callable, Protocol, TextIO


class Bar(Protocol):
    """What the code under a bar uses: advance it, and use it as a context manager."""

    def update(self, n: int = 1) -> object: ...

    def __enter__(self) -> "Bar": ...

    def __exit__(self, *exc) -> object: ...


BarFactory = Callable[..., Bar]


class _SilentBar:
    """A bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def __enter__(self) -> "_SilentBar":
        return self

    def __exit__(self, *exc) -> None:
        return None


def no_bars(total: int, description: str = "", unit: str = "it") -> Bar:
    """A bar that shows nothing (the default everywhere)."""
    return _SilentBar()


def tqdm_bars(total: int, description: str = "", unit: str = "it", stream: TextIO | None = None) -> Bar:
    """A tqdm bar on stderr that disappears when done."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=unit, file=stream or sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.5, unit_scale=True)


def bar_factory(json_output: bool = False, stream: TextIO | None = None) -> BarFactory:
    """tqdm bars when ``stream`` (default stderr) is a terminal and the output is not JSON."""
    stream = stream or sys.stderr
    interactive = hasattr(stream, "isatty") and stream.isatty()
    return tqdm_bars if interactive and not json_output else no_bars


def step_counter(bar: Bar, total: int, updates: int = 200) -> Callable[[int], None]:
    """A callback ``done(k)`` for a loop over ``total`` steps that advances ``bar`` about
    ``updates`` times in all (cheap enough to call every step). The bar never goes back: a loop
    started again from step 0 (the fused network loop's fallback to stepping) advances it only
    once it passes the step shown."""
    stride = max(1, total // updates)
    shown = [0]

    def done(k: int) -> None:
        if ((k + 1) % stride == 0 or k + 1 == total) and k + 1 > shown[0]:
            bar.update(k + 1 - shown[0])
            shown[0] = k + 1

    return done


def brian2_reporter(bar, n_steps: int):
    """Brian2 ``report`` callback advancing ``bar`` to the completed fraction of ``n_steps``."""
    shown = [0]

    def report(elapsed, completed, start, duration):
        steps = int(round(float(completed) * n_steps))
        bar.update(steps - shown[0])
        shown[0] = steps

    return report
