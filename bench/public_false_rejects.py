"""What the rules reject in public tool-calling data this project did not write: Glaive samples from PyPI.

    python bench/public_false_rejects.py [--sdist PATH] [--show 20]

LLaMA-Factory's source distribution on PyPI (`llamafactory`, Apache-2.0) ships two 300-dialog
samples of Glaive's function-calling data (`data/glaive_toolcall_en_demo.json` and its Chinese
translation `glaive_toolcall_zh_demo.json`, ShareGPT-style with `function_call`/`observation`
turns). The script downloads that sdist with pip (a package registry, no hub) unless `--sdist`
names one, reads both files with callforge's `sharegpt` reader, runs the rules stage and prints the
kept share, the unsure share and every rejection with its code, so each can be audited as a true
finding or a false reject. Nothing is copied into the project.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

from callforge.formats import read_dialogs
from callforge.verify import RuleStage

VERSION = "0.9.5"
FILES = ("glaive_toolcall_en_demo.json", "glaive_toolcall_zh_demo.json")


def fetch(target: Path) -> Path:
    """Download llamafactory's sdist from the package index into `target` (pip, no dependencies)."""
    target.mkdir(parents=True, exist_ok=True)
    found = sorted(target.glob(f"llamafactory-{VERSION}.tar.gz"))
    if found:
        return found[0]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"llamafactory=={VERSION}", "--no-deps", "--no-binary", ":all:",
         "-d", str(target), "-q"],
        check=True,
    )  # fmt: skip
    return next(target.glob(f"llamafactory-{VERSION}.tar.gz"))


def extract(sdist: Path, into: Path) -> list[Path]:
    """The two Glaive samples out of the sdist."""
    paths = []
    with tarfile.open(sdist) as archive:
        for name in FILES:
            member = archive.getmember(f"llamafactory-{VERSION}/data/{name}")
            member.name = name
            archive.extract(member, into, filter="data")
            paths.append(into / name)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdist", type=Path, default=None, help="llamafactory sdist already downloaded")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "callforge" / "bench")
    parser.add_argument("--show", type=int, default=20, help="rejections to print per file")
    args = parser.parse_args()
    sdist = args.sdist or fetch(args.cache)
    rules = RuleStage()
    with tempfile.TemporaryDirectory() as tmp:
        for path in extract(sdist, Path(tmp)):
            dialogs = list(read_dialogs(path, "sharegpt"))
            judged = [(d, rules.judge(d)) for d in dialogs]
            rejected = [(d, [v for v in found if not v.ok]) for d, found in judged if any(not v.ok for v in found)]
            unsure = sum(1 for _, found in judged if found and all(v.ok for v in found))
            codes = Counter(failures[0].code for _, failures in rejected)
            n = len(dialogs)
            print(f"\n{path.name}: {n} dialogs, kept {n - len(rejected)} ({100 * (n - len(rejected)) / n:.1f}%), "
                  f"of them unsure {unsure}; rejected {len(rejected)}: "
                  + ", ".join(f"{code} {count}" for code, count in codes.most_common()))  # fmt: skip
            for dialog, failures in rejected[: args.show]:
                print(f"  {dialog.meta.id}: {failures[0].code}: {failures[0].message[:150]}")


if __name__ == "__main__":
    main()
