"""Fig. 4 of the reference trial: VAS and ODI by timepoint, one box per arm, as inline SVG.

The boxes are drawn from the report's own quartiles (SPSS HAVERAGE), not matplotlib's default
linear percentiles, so the figure and the tables agree; whiskers reach the furthest value within
1.5 IQR of the box (Tukey), points beyond are drawn as outliers.
"""
from __future__ import annotations

import io
import re

import numpy as np

from reports import statistics as st

WHISKER_IQR = 1.5
ARM_COLOURS = ("#0b5cad", "#c05600")  # blue and orange: distinguishable with any colour vision


def _box(values: list[float]) -> dict | None:
    values = np.asarray(values, dtype=float)
    summary = st.describe(values)
    if not summary["n"]:
        return None
    q1, q3 = summary["q1"], summary["q3"]
    low, high = q1 - WHISKER_IQR * (q3 - q1), q3 + WHISKER_IQR * (q3 - q1)
    inside = values[(low <= values) & (values <= high)]
    return {"med": summary["median"], "q1": q1, "q3": q3, "whislo": float(inside.min()), "whishi": float(inside.max()),
            "fliers": values[(values < low) | (values > high)].tolist()}


def boxplot_svg(title: str, ylabel: str, series: list[tuple[str, list[list[float]]]], arm_labels: list[str]) -> str:
    """``series``: (timepoint label, [values of arm A, values of arm B]) in order."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "report", "font.size": 9}):
        figure, axes = plt.subplots(figsize=(6.3, 3.2))
        width = 0.35
        for index, (arm_label, colour) in enumerate(zip(arm_labels, ARM_COLOURS)):
            stats, positions = [], []
            for position, (_, per_arm) in enumerate(series):
                box = _box(per_arm[index])
                if box:
                    stats.append(box)
                    positions.append(position + (index - 0.5) * width)
            if stats:
                drawn = axes.bxp(stats, positions=positions, widths=width * 0.9, patch_artist=True,
                                 manage_ticks=False)
                for patch in drawn["boxes"]:
                    patch.set(facecolor=colour, alpha=0.35, edgecolor=colour)
                for median in drawn["medians"]:
                    median.set(color=colour, linewidth=2)
            axes.plot([], [], color=colour, linewidth=6, alpha=0.5, label=arm_label)
        axes.set_xticks(range(len(series)), [label for label, _ in series])
        axes.set_xlim(-0.6, len(series) - 0.4)
        axes.set_ylabel(ylabel)
        # The title on the left and the arms' key on the right, both above the plot: a key inside
        # it would need matplotlib's "best" placement, which tests every spot against every point
        # drawn (most of the figure's time at 20,000 participants), and may still cover outliers.
        axes.set_title(title, loc="left")
        axes.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), ncol=len(arm_labels),
                    borderaxespad=0.2)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
        plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and doctype: this goes inside HTML
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
