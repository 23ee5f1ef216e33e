"""Look at a run: an HTML report with charts, and a dataset browser that can mark dialogs bad.

`write_report([RUN, ...], out)` writes one self-contained page (no server, no network; charts are
matplotlib SVG inline) over generation/verification runs (funnel, yield per kind, rejection codes
with an example each, tokens and cost per role, timing) and evaluation folders (scores per
category in both modes, where bfcl and semantic disagree), side by side when several are given.
`read_summary` gives the same figures as frozen records. `browse_page` renders a run's dialogs as a
filterable page; `serve_browser` serves it on 127.0.0.1 with a "mark bad" action that appends to
the run's labels.jsonl (`callforge verify --labels` rejects those dialogs); `write_browser` writes a
static copy that downloads the labels file instead. See docs/report.md.
"""

from callforge.report.browse import (
    LABELS_API,
    BrowserServer,
    DialogEntry,
    browse_page,
    dialog_entries,
    serve_browser,
    write_browser,
)
from callforge.report.page import render_report, write_report
from callforge.report.summary import (
    CategoryRow,
    CodeRow,
    DialogRun,
    Disagreement,
    Evaluation,
    Failure,
    KindRow,
    ModeScores,
    Price,
    RoleRow,
    StageRow,
    Summary,
    Timing,
    read_summary,
)

__all__ = [
    "LABELS_API",
    "BrowserServer",
    "CategoryRow",
    "CodeRow",
    "DialogEntry",
    "DialogRun",
    "Disagreement",
    "Evaluation",
    "Failure",
    "KindRow",
    "ModeScores",
    "Price",
    "RoleRow",
    "StageRow",
    "Summary",
    "Timing",
    "browse_page",
    "dialog_entries",
    "read_summary",
    "render_report",
    "serve_browser",
    "write_browser",
    "write_report",
]
