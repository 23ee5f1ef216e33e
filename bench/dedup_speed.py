"""How dedup's cost grows with the number of dialogs on templated text, the case that used to go quadratic.

    python bench/dedup_speed.py [--sizes 5000,10000,20000,50000] [--ref HEAD]

Each dialog is one of a few long request templates ("Please book me a flight from {a} to {b} on
{date} ...") with varied fillers and the matching call, so any two dialogs of a template share most
of their words (user-text Jaccard about 0.5 to 0.7: below the 0.8 threshold, so each is accepted
and remembered) and fall into the same LSH buckets. Every dialog goes through
`Deduper.check_and_add`, as the cascade's last stage does; building the dialogs is not timed.

Printed per size: seconds, µs per dialog, dialogs accepted, and the exact-Jaccard comparisons made
(`Deduper.stats`, when the version has it). `--ref REV` also times the `dedup.py` of that git
revision (say the commit before a change), on the same dialogs in the same process.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from callforge.core import Dialog, Message, ToolCall, ToolSpec  # noqa: E402
from callforge.verify import dedup as current  # noqa: E402

TEMPLATES = (
    "Please book me a flight from {a} to {b} on {date} in economy class for two passengers and send the "
    "confirmation with the booking reference and the seat numbers to my usual email address as soon as possible",
    "I would like to reserve a table for four people at a quiet restaurant near {a} on {date} around seven in "
    "the evening and please make sure they can seat us by the window with a view of {b}",
    "Can you check the weather forecast for {a} on {date} and tell me whether I should pack an umbrella and a "
    "warm jacket for the trip and also what it will be like in {b} on the same day",
    "Send a message to my colleague in {a} saying that the quarterly report will be ready on {date} and that "
    "the review meeting has been moved to the office in {b} on the third floor",
)
TOOL = ToolSpec(
    name="do_task",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "date": {"type": "string"}},
    },
)


def dialogs(n: int, seed: int = 7) -> list[Dialog]:
    """`n` templated dialogs: a template, two place names and a date each, from a fixed seed."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mir", "ten", "vos", "rai", "dun", "pel", "sor", "qui", "bar", "nek"]
    places = sorted({"".join(rng.choices(syllables, k=3)) for _ in range(3000)})
    out = []
    for i in range(n):
        a, b = rng.sample(places, 2)
        date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        text = rng.choice(TEMPLATES).format(a=a, b=b, date=date)
        call = ToolCall(name="do_task", arguments={"a": a, "b": b, "date": date}, id="c1")
        out.append(
            Dialog(
                tools=(TOOL,),
                messages=(Message(role="user", content=text), Message(role="assistant", tool_calls=(call,))),
                meta={"id": f"d{i}"},
            )
        )
    return out


def load_ref(rev: str) -> ModuleType:
    """`verify/dedup.py` as it was at git revision `rev`, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/callforge/verify/dedup.py"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(f"dedup_{rev}", fh.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def run(module: Any, items: list[Dialog]) -> tuple[float, int, int | None]:
    """Seconds for every dialog through `check_and_add`, dialogs accepted, comparisons made."""
    deduper = module.Deduper()
    accepted = 0
    started = time.perf_counter()
    for dialog in items:
        if deduper.check_and_add(dialog, str(dialog.meta.id)) is None:
            accepted += 1
    elapsed = time.perf_counter() - started
    stats = getattr(deduper, "stats", None)
    return elapsed, accepted, (stats.compared if stats is not None else None)


def main() -> None:
    """Time each size with the current dedup (and the `--ref` one) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000,10000,20000,50000")
    parser.add_argument("--ref", default=None, help="a git revision whose dedup.py to time as well")
    parser.add_argument("--ref-max", type=int, default=None, help="skip the --ref version above this size")
    args = parser.parse_args()
    versions: list[tuple[str, Any]] = [("current", current)]
    if args.ref:
        versions.insert(0, (args.ref, load_ref(args.ref)))
    print(f"{'version':>10} {'dialogs':>8} {'seconds':>9} {'us/dialog':>10} {'accepted':>9} {'compared':>10}")
    for n in (int(s) for s in args.sizes.split(",")):
        items = dialogs(n)
        for name, module in versions:
            if module is not current and args.ref_max is not None and n > args.ref_max:
                continue
            seconds, accepted, compared = run(module, items)
            shown = "-" if compared is None else str(compared)
            print(f"{name:>10} {n:>8} {seconds:>9.2f} {seconds / n * 1e6:>10.0f} {accepted:>9} {shown:>10}", flush=True)


if __name__ == "__main__":
    main()
