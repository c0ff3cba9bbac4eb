"""Self-contained HTML reports: inline CSS and SVG charts, no script, nothing fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #dde;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#17703a}.fail{color:#b3261e;font-weight:600}.muted{color:#667}
code,pre{font:13px ui-monospace,monospace;background:#f4f5f8;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #dde;border-radius:6px;padding:.6rem 1rem}
.card b{display:block;font-size:1.5rem}
"""
COLOURS = {
    "compliant": "#2e7d32",
    "non_compliant": "#c62828",
    "inconclusive": "#8e6bbf",
    "out_of_scope": "#78909c",
    "invalid": "#f9a825",
}


def counted(count: int, noun: str) -> str:
    """`1 session`, `2 sessions`, `1,000 cases`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def number(value: object) -> str:
    """Counts with thousands separators (12,345); anything else as it is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def cards(figures: Mapping[str, object]) -> str:
    items = "".join(f"<div class='card'><b>{escape(number(v))}</b>{escape(k)}</div>" for k, v in figures.items())
    return f"<div class='cards'>{items}</div>"


def note(text: str) -> str:
    return f"<p class='muted'>{escape(text)}</p>"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], raw: bool = False) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    cell = (lambda c: c) if raw else escape
    body = "".join("<tr>" + "".join(f"<td>{cell(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar_chart(values: Mapping[str, int], title: str, width: int = 640) -> str:
    """Horizontal bars, one per key, labelled with its count."""
    if not values:
        return f"<p class='muted'>{escape(title)}: nothing to show.</p>"
    bar_height, label_width = 26, 170
    top = max(max(values.values()), 1)
    height = bar_height * len(values) + 10
    bars = []
    for row, (label, count) in enumerate(values.items()):
        y = 5 + row * bar_height
        length = (width - label_width - 60) * count / top
        colour = COLOURS.get(label, "#3f51b5")
        bars.append(
            f"<text x='0' y='{y + 17}' font-size='13'>{escape(label)}</text>"
            f"<rect x='{label_width}' y='{y + 3}' width='{length:.1f}' height='{bar_height - 8}' fill='{colour}'/>"
            f"<text x='{label_width + length + 6:.1f}' y='{y + 17}' font-size='13'>{count:,}</text>"
        )
    return (
        f"<figure><figcaption>{escape(title)}</figcaption><svg role='img' aria-label='{escape(title)}' "
        f"width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>{''.join(bars)}</svg></figure>"
    )


def stacked_columns(series: Mapping[str, Mapping[str, int]], keys: Sequence[str], title: str) -> str:
    """One column per period (days), stacked by key (verdicts)."""
    if not series:
        return f"<p class='muted'>{escape(title)}: nothing to show.</p>"
    width, height, left, bottom = 720, 240, 40, 40
    periods = list(series)
    top = max(max(sum(c.values()) for c in series.values()), 1)
    step = (width - left - 50) / len(periods)  # room on the right for the last rotated label
    shapes = [f"<text x='0' y='14' font-size='12'>{top:,}</text>"]
    for i, period in enumerate(periods):
        x, y = left + i * step, float(height - bottom)
        for key in keys:
            h = (height - bottom - 10) * series[period].get(key, 0) / top
            y -= h
            shapes.append(
                f"<rect x='{x + 1:.1f}' y='{y:.1f}' width='{max(step - 2, 1):.1f}' height='{h:.1f}' "
                f"fill='{COLOURS.get(key, '#3f51b5')}'><title>{escape(period)} {key}: "
                f"{series[period].get(key, 0):,}</title></rect>"
            )
        if len(periods) <= 31 or i % max(len(periods) // 15, 1) == 0:
            shapes.append(
                f"<text x='{x:.1f}' y='{height - bottom + 14}' font-size='10' "
                f"transform='rotate(45 {x:.1f} {height - bottom + 14})'>{escape(period)}</text>"
            )
    legend = " ".join(f"<span style='color:{COLOURS.get(k, '#3f51b5')}'>■</span> {escape(k)}" for k in keys)
    return (
        f"<figure><figcaption>{escape(title)} — {legend}</figcaption><svg role='img' aria-label='{escape(title)}' "
        f"width='{width}' height='{height + 20}' xmlns='http://www.w3.org/2000/svg'>{''.join(shapes)}</svg></figure>"
    )
