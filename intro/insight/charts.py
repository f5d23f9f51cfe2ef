"""Chart geometry for server-rendered SVG: pure functions from figures to coordinates.
Templates draw what these return; every chart has a data table beside it, so the SVG
is a picture of the table, not the only way to read it."""

from __future__ import annotations

from dataclasses import dataclass

# The drawing area inside the SVG's viewBox, leaving room for the axes' labels. The
# labels are set in viewBox units, so they shrink with the chart: the room here fits
# them at the larger size the stylesheet uses on a phone (about 12 px on screen at 390 px).
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 60
TICK_GAP = 24  # from the x axis to the baseline of its labels


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Line:
    label: str
    path: str  # SVG path data
    css: str  # class naming the series' colour and dash


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    bars: list[Bar]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float


def _x(value: float, x_max: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (value / x_max if x_max else 0)


def _y(share: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - share)


def step_path(points: list[tuple[float, float]], x_max: float) -> str:
    """A survival curve as steps: flat until the next time, then straight down. The line
    ends at the last point (the last time anyone was observed), never drawn further."""
    if not points:
        return ""
    parts = [f"M{_x(points[0][0], x_max):.1f},{_y(points[0][1]):.1f}"]
    for (_x0, s0), (x1, s1) in zip(points, points[1:], strict=False):
        parts.append(f"H{_x(min(x1, x_max), x_max):.1f}")
        if s1 != s0:
            parts.append(f"V{_y(s1):.1f}")
    return "".join(parts)


SERIES_CSS = ("series-a", "series-b", "series-c")


def survival_chart(series: list[tuple[str, list[tuple[float, float]]]], x_max: float = 36) -> Chart:
    """Kaplan–Meier curves: months after the start on x, share still employed on y."""
    lines = [
        Line(label, step_path(points, x_max), SERIES_CSS[i % len(SERIES_CSS)])
        for i, (label, points) in enumerate(series)
        if points
    ]
    x_ticks = [Tick(_x(m, x_max), HEIGHT - BOTTOM + TICK_GAP, str(m)) for m in range(0, int(x_max) + 1, 6)]
    y_ticks = [Tick(LEFT - 8, _y(s / 100), f"{s} %") for s in range(0, 101, 25)]
    return Chart(WIDTH, HEIGHT, x_ticks, y_ticks, lines, [], LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM)


def bar_chart(values: list[tuple[str, int]], label_every: int = 4) -> Chart:
    """Counts as bars (e.g. intake per quarter), labelling every `label_every`th bar."""
    top = max([v for _l, v in values] or [0])
    scale = _nice_max(top)
    n = max(len(values), 1)
    slot = (WIDTH - LEFT - RIGHT) / n
    bars = []
    x_ticks = []
    for i, (label, value) in enumerate(values):
        height = (HEIGHT - TOP - BOTTOM) * (value / scale if scale else 0)
        x = LEFT + i * slot + slot * 0.15
        bars.append(Bar(x, HEIGHT - BOTTOM - height, slot * 0.7, height, label, value))
        if i % label_every == 0:
            x_ticks.append(Tick(LEFT + i * slot + slot / 2, HEIGHT - BOTTOM + TICK_GAP, label))
    y_ticks = [
        Tick(LEFT - 8, HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * k / 4, str(round(scale * k / 4)))
        for k in range(5)
    ]
    return Chart(WIDTH, HEIGHT, x_ticks, y_ticks, [], bars, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM)


def _nice_max(value: int) -> int:
    """The axis top: the value rounded up to a number divisible into four even steps."""
    if value <= 4:
        return 4
    step = 1
    while value > step * 4 * 10:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= step * factor * 4:
            return step * factor * 4
    return value
