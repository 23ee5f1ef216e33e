"""Charts as inline SVG, drawn by matplotlib: the page needs no script, no network and no image files.

matplotlib (the `report` extra) is imported on first use only (~0.3-0.5 s), so `callforge` itself
starts as fast as before. Text stays text in the SVG (`svg.fonttype: none`: small, searchable,
readable by a test) and math parsing is off, so a `$` in a tool name is drawn as itself. Ids and
metadata are fixed (`svg.hashsalt`, no date), so the same run gives the same page byte for byte.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "callforge-report",
    "text.parse_math": False,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        from callforge.core import ConfigError

        raise ConfigError(
            "callforge report draws its charts with matplotlib: pip install 'callforge[report]'"
        ) from None
    matplotlib.use("svg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any, title: str) -> str:
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # An accessible name, and a class the page's stylesheet sizes.
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{_attr(title)}" class="chart" ', text, count=1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _height(rows: float) -> float:
    return max(1.6, 0.32 * rows + 0.9)


def hbars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    percent: bool = False,
    stacked: bool = False,
) -> str:
    """Horizontal bars, one group per label and one bar per series (or stacked), as an inline SVG string."""
    plt = _pyplot()
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7.0, _height(len(labels) * (1 if stacked else max(1, len(series)) * 0.7))))
        ys = list(range(len(labels)))
        count = len(series)
        width = 0.8 if stacked else 0.8 / max(1, count)
        left = [0.0] * len(labels)
        for n, (name, values) in enumerate(series):
            color = PALETTE[n % len(PALETTE)]
            if stacked:
                ax.barh(ys, values, height=width, left=left, label=name, color=color)
                left = [a + b for a, b in zip(left, values, strict=True)]
            else:
                offsets = [y - 0.4 + width * (n + 0.5) for y in ys]
                bars = ax.barh(offsets, values, height=width, label=name, color=color)
                ax.bar_label(bars, labels=[_value(v, percent) for v in values], padding=2, fontsize=7)
        if stacked:
            ax.bar_label(ax.containers[-1], labels=[_value(v, percent) for v in left], padding=2, fontsize=7)
        ax.set_yticks(ys, labels=list(labels))
        ax.invert_yaxis()
        if percent:
            ax.set_xlim(0, 1.12)
            ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
        else:
            from matplotlib.ticker import MaxNLocator

            ax.set_xlim(0, max([*left, *(v for _, vs in series for v in vs), 1]) * 1.15)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, loc="left", fontsize=10)
        if count > 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        return _svg(fig, title)


def _value(value: float, percent: bool) -> str:
    if percent:
        return f"{100 * value:.0f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
