"""The chart of a SKU's daily sales and its forecast, as inline SVG.

Server-side, no script (the portal's CSP allows none from elsewhere): bars for the days
sold, a line for the forecast and a shaded band for its 80% range, a dashed line at
"today", dates on the x axis, pieces on the y axis. Every label is passed in already
translated, so the chart reads in Japanese or English like the page around it; the SVG
carries a <title> and <desc> for screen readers.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 46


def _nice_max(value: float) -> float:
    if value <= 0.25:
        return 0.25
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def render(
    *,
    history: list[tuple[date, int]],
    starts_on: date | None,
    daily: list[float],
    lower: list[float],
    upper: list[float],
    labels: dict[str, str],
) -> Markup:
    """``labels``: title, desc, sold, forecast, band, today, pieces (translated)."""
    days = len(history) + len(daily)
    if days == 0:
        return Markup("")
    first = history[0][0] if history else starts_on
    # Four gridlines at a round step (1, 2, 2.5, 5 × 10^n): 0, 2, 4, 6, 8 rather than 1.25s.
    top = 4 * _nice_max(max([q for _d, q in history] + list(upper) + [1]) / 4)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / days

    def x(i: float) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + plot_h - (v / top) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        ' width="100%" class="forecast-chart" data-testid="forecast-chart"'
        ' aria-labelledby="fc-title fc-desc">',
        f'<title id="fc-title">{escape(labels["title"])}</title>',
        f'<desc id="fc-desc">{escape(labels["desc"])}</desc>',
    ]
    for k in range(5):  # grid and y labels
        v = top * k / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"'
                     ' stroke="#ccc" stroke-width="0.5"/>')  # fmt: skip
        parts.append(f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end"'
                     f' fill="#555">{v:g}</text>')  # fmt: skip
    parts.append(f'<text x="4" y="{TOP - 4}" font-size="10" fill="#555">'
                 f'{escape(labels["pieces"])}</text>')  # fmt: skip
    for i, (_day, q) in enumerate(history):
        if q:
            parts.append(
                f'<rect x="{x(i) + step * 0.1:.1f}" y="{y(q):.1f}" width="{step * 0.8:.1f}"'
                f' height="{y(0) - y(q):.1f}" fill="#6c8ebf" data-testid="chart-sold"/>'
            )
    if daily:
        offset = len(history)
        band = [(x(offset + i + 0.5), y(u)) for i, u in enumerate(upper)]
        band += [(x(offset + i + 0.5), y(lo)) for i, lo in reversed(list(enumerate(lower)))]
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in band)
        parts.append(f'<polygon points="{points}" fill="#f0a04b" fill-opacity="0.25"'
                     ' data-testid="chart-band"/>')  # fmt: skip
        line = " ".join(f"{x(offset + i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(daily))
        parts.append(f'<polyline points="{line}" fill="none" stroke="#d9731a" stroke-width="2"'
                     ' data-testid="chart-forecast"/>')  # fmt: skip
        parts.append(f'<line x1="{x(offset):.1f}" x2="{x(offset):.1f}" y1="{TOP}"'
                     f' y2="{y(0):.1f}" stroke="#333" stroke-dasharray="4 3"/>')  # fmt: skip
        parts.append(f'<text x="{x(offset) + 3:.1f}" y="{TOP + 10}" font-size="10"'
                     f' fill="#333">{escape(labels["today"])}</text>')  # fmt: skip
    for i in range(0, days, 7):  # a date a week
        when = first + timedelta(days=i)
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10"'
                     f' fill="#555">{when:%m/%d}</text>')  # fmt: skip
    legend_y = HEIGHT - 10
    parts += [
        f'<rect x="{LEFT}" y="{legend_y - 9}" width="10" height="10" fill="#6c8ebf"/>',
        f'<text x="{LEFT + 14}" y="{legend_y}" font-size="11">{escape(labels["sold"])}</text>',
        f'<line x1="{LEFT + 150}" x2="{LEFT + 170}" y1="{legend_y - 4}" y2="{legend_y - 4}"'
        ' stroke="#d9731a" stroke-width="2"/>',
        f'<text x="{LEFT + 174}" y="{legend_y}" font-size="11">{escape(labels["forecast"])}</text>',
        f'<rect x="{LEFT + 320}" y="{legend_y - 9}" width="16" height="10" fill="#f0a04b"'
        ' fill-opacity="0.25"/>',
        f'<text x="{LEFT + 340}" y="{legend_y}" font-size="11">{escape(labels["band"])}</text>',
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
