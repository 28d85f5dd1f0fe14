"""``python -m nnlearn`` and the ``nnlearn`` command: see :mod:`nnlearn.cli`."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import run
    except ModuleNotFoundError as err:
        if err.name != "click":
            raise
        print("Error: the nnlearn command needs click: pip install click tqdm (nnlearn's cli "
              'extra: pip install ".[cli]" in nnlearn\'s folder)', file=sys.stderr)
        sys.exit(2)
    sys.exit(run())


if __name__ == "__main__":
    main()
