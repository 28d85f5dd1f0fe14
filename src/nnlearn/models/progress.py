"""The progress bar of fit: tqdm when installed, else one line of text per epoch (which a
saved notebook keeps).
"""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Keras-style progress: ``469/469 [=====] - 2s - loss: 0.2524 - accuracy: 0.9273``.

    verbose=1 draws a live bar with tqdm when it is installed and the output is a
    terminal or a notebook; otherwise (and with verbose=2) one line per epoch is printed.
    ``epoch`` is None for evaluate and predict.  ``steps`` is None when the number of
    batches is not known (a generator without steps_per_epoch): the steps taken are shown.

    The live bar is only for the epoch in progress (tqdm cuts it at the terminal's
    width); when the epoch ends it is removed (``leave=False``) and the epoch's final
    line is printed as plain text, with every metric: a narrow terminal wraps it, as
    Keras's does, and a saved notebook keeps it (the widget's state is not saved)."""

    WIDTH = 30  # characters of the bar

    def __init__(self, steps: int | None, epoch, epochs, verbose: int):
        self.steps, self.verbose, self.start = steps, verbose, time.perf_counter()
        self.bar, self.done = None, 0  # done: the steps taken (a count when steps is None)
        if verbose and epoch is not None:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        if verbose == 1:
            try:
                from tqdm.auto import tqdm  # a live widget in Jupyter, text elsewhere
            except ImportError:
                return
            self.bar = tqdm(total=steps, file=sys.stdout, ascii=".>=", dynamic_ncols=True,
                            bar_format="{n_fmt}/{total_fmt} [{bar:30}] - {elapsed_s:.0f}s - "
                                       "{desc}", disable=None, leave=False)

    @property
    def active(self) -> bool:
        """Whether a live bar is drawn (the loops skip computing its logs otherwise)."""
        return self.bar is not None and not self.bar.disable

    @staticmethod
    def _format(logs: dict) -> str:
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())

    def update(self, step: int, logs: dict) -> None:
        if self.active:
            self.bar.set_description_str(self._format(logs), refresh=False)
            self.bar.update(1)

    def close(self, logs: dict) -> None:
        """Remove the live bar and print the final line, every metric in it."""
        if not self.verbose:
            return
        seconds = time.perf_counter() - self.start
        line = f"{self.done}" if self.steps is None else f"{self.steps}/{self.steps}"
        if self.active:
            self.bar.close()
            line += f" [{'=' * self.WIDTH}]"
        line += f" - {seconds:.0f}s"
        print(f"{line} - {self._format(logs)}" if logs else line, flush=True)
