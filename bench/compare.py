"""Two commits in one run: ``python -m bench`` (nnlearn's own rows, ``--no-peers``) on
each source tree in turn, alternating (old first in even rounds, new first in odd
ones), and each row's best time on both with the ratio
new / old.  A refactor should leave every ratio near 1 (the issue's bar: none above
1.05).  Run it on a quiet machine; both trees use this checkout's benchmark code.

    git worktree add /tmp/before <commit>
    python -m bench.compare /tmp/before/src src [--rounds 2] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile


def run(source: str, quick: bool) -> dict:
    """name -> (value, unit) of one ``python -m bench`` run with nnlearn from ``source``."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as file:
        path = file.name
    env = {**os.environ, "PYTHONPATH": os.path.abspath(source)}
    command = [sys.executable, "-m", "bench", "--no-peers", "--json", path]
    subprocess.run(command + (["--quick"] if quick else []), env=env, check=True,
                   stdout=subprocess.DEVNULL)
    with open(path) as file:
        rows = json.load(file)
    os.unlink(path)
    return {row["name"]: (row["ours"], row["unit"]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the old commit's src folder")
    parser.add_argument("new", help="the new commit's src folder")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="the full bench, not --quick")
    args = parser.parse_args()
    best: dict = {"old": {}, "new": {}}
    for round_ in range(args.rounds):
        # ABBA: the order alternates, so that a drift of the machine over a round (turbo,
        # a neighbour's load) does not always favour the tree that runs first
        for which in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
            for name, (value, unit) in run(getattr(args, which), not args.full).items():
                lower_is_better = unit in ("s", "ms", "us", "MB")
                kept = best[which].get(name)
                if kept is None or (value < kept[0] if lower_is_better else value > kept[0]):
                    best[which][name] = (value, unit)
    print(f"{'workload':<42s} {'unit':>4s} {'old':>10s} {'new':>10s} {'new/old':>8s}")
    for name, (new, unit) in best["new"].items():
        old = best["old"].get(name, (None, unit))[0]
        ratio = new / old if old else float("nan")
        flag = "  SLOWER" if unit in ("s", "ms", "us") and ratio > 1.05 else ""
        print(f"{name:<42s} {unit:>4s} {old if old is not None else float('nan'):>10.4g} "
              f"{new:>10.4g} {ratio:>8.3f}{flag}")


if __name__ == "__main__":
    main()
