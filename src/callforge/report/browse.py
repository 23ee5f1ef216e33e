"""`callforge browse`: a run's dialogs as one page to filter, read and mark bad, served locally or written static.

The page carries the dialogs as JSON in a `<script type="application/json">` block (with `<`, `>`
and `&` escaped, so no text can close the block) and builds every element with `textContent`,
never `innerHTML`: a dialog that says `<script>` shows those characters and runs nothing.
Served (`serve_browser`, stdlib http.server on 127.0.0.1), "mark bad" POSTs the label and the
server appends it to RUN/labels.jsonl (`callforge.verify.append_label`); static
(`write_browser`), the page keeps the labels and offers them as a labels.jsonl download.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2

from callforge.core import DataError
from callforge.report.page import CSS
from callforge.report.summary import read_records
from callforge.run import RunFolder
from callforge.verify import LABELS, Checked, Label, append_label, read_labels

LABELS_API = "/api/labels"
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class DialogEntry:
    """One dialog as the browser lists and shows it: where it ended, its kind, codes, tools and every verdict."""

    id: str
    ok: bool
    kind: str
    codes: tuple[str, ...]
    tools: tuple[str, ...]
    checked: Checked

    def to_json(self) -> dict[str, Any]:
        """The page's JSON for this dialog (plain values only; the page escapes nothing itself)."""
        dialog = self.checked.dialog
        return {
            "id": self.id,
            "ok": self.ok,
            "kind": self.kind,
            "codes": list(self.codes),
            "tools": list(self.tools),
            "messages": [_message(m) for m in dialog.messages],
            "stages": [
                {
                    "stage": s.stage,
                    "ok": s.ok,
                    "skipped": s.skipped,
                    "verdicts": [
                        {"ok": v.ok, "unsure": v.unsure, "code": v.code, "message": v.message, "evidence": v.evidence}
                        for v in s.verdicts
                    ],
                }
                for s in self.checked.stages
            ],
        }


def dialog_entries(run: str | os.PathLike[str]) -> Iterator[DialogEntry]:
    """The dialogs of a run folder (accepted first, then rejected), read through the run store."""
    for record in read_records(Path(run)):
        dialog = record.dialog
        called = [c.name for m in dialog.messages for c in m.tool_calls]
        yield DialogEntry(
            id=record.id,
            ok=record.ok,
            kind=str(dialog.meta.scenario or dialog.meta.category or "unknown"),
            codes=tuple(dict.fromkeys(v.code for v in record.failures)),
            tools=tuple(dict.fromkeys([*called, *(t.name for t in dialog.tools)])),
            checked=record,
        )


def browse_page(
    run: str | os.PathLike[str], *, served: bool = False, labels: str | os.PathLike[str] | None = None
) -> str:
    """The browser page for a run: served pages post labels to the server, static ones download them."""
    where = Path(run)
    RunFolder.of(where)  # a clear error for a folder that is not a run
    labels_path = Path(labels) if labels is not None else where / LABELS
    known = read_labels(labels_path) if labels_path.is_file() else {}
    data = {
        "run": str(where),
        "served": served,
        "api": LABELS_API,
        "labelsFile": str(labels_path),
        "labels": [label.model_dump() for label in known.values()],
        "dialogs": [entry.to_json() for entry in dialog_entries(where)],
    }
    return _template().render(title=f"callforge browse · {where.name}", css=CSS, data=_script_json(data))


def write_browser(
    run: str | os.PathLike[str], out: str | os.PathLike[str], *, labels: str | os.PathLike[str] | None = None
) -> Path:
    """Write the static browser page (labels are downloaded, not saved) to `out`; returns its path."""
    page = browse_page(run, served=False, labels=labels)
    where = Path(out)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(page, encoding="utf-8")
    return where


class BrowserServer:
    """The local browser: `url` to open, `close` to stop; labels go to `labels_path`. Serves 127.0.0.1 only."""

    def __init__(self, run: str | os.PathLike[str], *, port: int = 0, labels: str | os.PathLike[str] | None = None) -> None:
        """Serve `run` on 127.0.0.1:`port` (0: a free port) from a background thread."""
        self.run = Path(run)
        self.labels_path = Path(labels) if labels is not None else self.run / LABELS
        self.ids = {entry.id for entry in dialog_entries(self.run)}
        handler = _handler(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="callforge-browse", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where the page is."""
        return f"http://127.0.0.1:{self.port}/"

    def page(self) -> str:
        """The page as of now (labels saved so far included)."""
        return browse_page(self.run, served=True, labels=self.labels_path)

    def label(self, body: dict[str, Any]) -> Label:
        """Check a posted label (a known dialog id, a known label) and append it to the labels file."""
        try:
            label = Label.model_validate({k: body.get(k) for k in ("id", "label", "note") if body.get(k) is not None})
        except ValueError as exc:
            raise DataError(f"not a label: {exc}") from None
        if label.id not in self.ids:
            raise DataError(f"no dialog {label.id!r} in {self.run}")
        return append_label(self.labels_path, label)

    def close(self) -> None:
        """Stop serving and wait for the server thread."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BrowserServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_browser(
    run: str | os.PathLike[str], *, port: int = 0, labels: str | os.PathLike[str] | None = None
) -> BrowserServer:
    """Start the local browser for a run (a free port unless `port` is given); close it when done."""
    return BrowserServer(run, port=port, labels=labels)


def _handler(server: BrowserServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the terminal shows the URL, not every request

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _local(self) -> bool:
            # Refuse pages of other sites (DNS rebinding): the Host must be this server's own address.
            return self.headers.get("Host", "") in (f"127.0.0.1:{server.port}", f"localhost:{server.port}")

        def do_GET(self) -> None:
            if not self._local():
                self._send(403, b"forbidden", "text/plain")
                return
            if self.path in ("/", "/index.html"):
                self._send(200, server.page().encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            # A JSON content type cannot be sent cross-site without a preflight, which this server never answers.
            if (
                not self._local()
                or self.path != LABELS_API
                or self.headers.get("Content-Type", "").split(";")[0] != "application/json"
            ):
                self._send(403, b"forbidden", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b"too large", "text/plain")
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                label = server.label(body if isinstance(body, dict) else {})
            except (ValueError, DataError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            self._send(200, json.dumps({"ok": True, "label": label.model_dump()}).encode(), "application/json")

    return Handler


def _message(message: Any) -> dict[str, Any]:
    return {
        "role": message.role,
        "content": message.content or "",
        "name": message.name or "",
        "tool_call_id": message.tool_call_id or "",
        "calls": [{"id": c.id or "", "name": c.name, "arguments": c.arguments} for c in message.tool_calls],
    }


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> block: no `<`, `>` or `&` can end it or start a comment."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("callforge.report", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.get_template("browse.html.jinja")

