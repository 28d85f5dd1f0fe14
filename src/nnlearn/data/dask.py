"""Dask arrays: inference block by block, mini-batch training streaming the chunks, and
full-batch training as a map-reduce over the chunks where they live.

* ``predict(dask_array)`` returns a Dask array: each block's outputs are the model's
  ``predict`` of that block, computed where the block is (a copy of the model, taken
  when ``predict`` is called, travels with the graph).  Rows do not interact, so the
  outputs equal those of the NumPy array (see the tests).
* Mini-batch ``fit`` (any first-order optimizer) reads one chunk at a time: the chunks in
  a random order drawn from the epoch's seed (``shuffle``), then the chunk's rows in a
  random order, cut into batches of ``batch_size`` (the last batch of a chunk may be
  smaller).  So with ``shuffle`` a batch holds samples of one chunk: give chunks of
  many batches, and rows in no particular order within the array.  The next chunk is
  computed on a reader thread while the current one trains (at most two chunks held).
* Full-batch ``fit`` (L-BFGS, conjugate gradient, Rprop and the other ``full_batch``
  optimizers): the loss and its gradient are sums over the samples, so each chunk's
  weighted sum ``N_c * L_c`` and gradient are computed where the chunk lives and only
  these sums (and the weights, sent out) travel: ``L = sum_c N_c L_c / N`` with ``N_c``
  and ``N`` the loss's normalizers (n, or the sum of the sample weights) of the chunk
  and of all samples; the layers' penalties are added once, here.  This is how
  dask-glm fits its generalized linear models (its ``lbfgs`` solver).  Layers that draw
  random numbers or use batch statistics (Dropout, BatchNormalization) do not shard
  exactly and are refused.  Levenberg-Marquardt's normal equations are sums too:
  ``J^T J = sum_c J_c^T J_c`` and ``J^T r = sum_c J_c^T r_c``, each chunk's computed
  where it lives (its Jacobian, ``n_c x outputs`` rows, bounded by the optimizer's
  ``max_jacobian_entries``: give chunks small enough), and only the P x P and P sums
  travel.  The metrics other than the loss are not computed by that step
  (``evaluate`` the Dask array for them).

With an active ``dask.distributed`` Client (``Client(LocalCluster(...))`` or any real
cluster) the arrays are persisted on the workers and every task runs there; without
one, Dask's local scheduler runs them.
"""

from __future__ import annotations

import copy
import uuid

import numpy as np

from ..autograd import as_tensor
from .adapters import DataAdapter, check_batch
from .prefetch import BatchError, ReadAhead

__all__ = ["predict", "adapter", "DaskAdapter", "FullBatchDaskAdapter"]


def _client():
    """The active dask.distributed Client, or None."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _samples_whole(x):
    """x rechunked so that each block holds whole samples (chunks only along axis 0)."""
    if all(len(c) == 1 for c in x.chunks[1:]):
        return x
    return x.rechunk({axis: -1 for axis in range(1, x.ndim)})


def _check_x(model, x, where: str):
    if x.ndim < 2 or x.shape[0] == 0 or np.isnan(x.shape[0]):
        raise ValueError(f"{where}: x must be a Dask array of shape (n_samples, ...) with "
                         f"known chunk sizes; got shape {x.shape}")
    if np.dtype(x.dtype).kind not in "iubf":
        raise ValueError(f"{where}: x must be numeric; got dtype {x.dtype}")
    model.check_input(np.empty((0, *x.shape[1:]), model.dtype))


def _predict_block(block, model, batch_size):
    return model.predict(block, batch_size=batch_size)


def predict(model, x, batch_size: int):
    """The model's outputs for the Dask array ``x``, as a Dask array with ``x``'s
    chunks along the samples (see the module)."""
    from .._validation import check_positive_int

    check_positive_int(batch_size, "batch_size")
    _check_x(model, x, "predict")
    x = _samples_whole(x)
    frozen = copy.deepcopy(model)  # later training does not change these outputs
    frozen.optimizer = None
    out_shape = tuple(frozen._output_shape or frozen.layers[-1].output_shape)
    return x.map_blocks(_predict_block, frozen, batch_size, dtype=frozen.dtype,
                        chunks=(x.chunks[0], *((d,) for d in out_shape)),
                        drop_axis=list(range(1, x.ndim)),
                        new_axis=list(range(1, 1 + len(out_shape))),
                        name=f"nnlearn-predict-{uuid.uuid4().hex}")


def _aligned(values, x, name: str, where: str):
    """y or the sample weights as a Dask array chunked along the samples as x is."""
    import dask.array as da

    if values is None:
        return None
    values = values if hasattr(values, "rechunk") else da.from_array(np.asarray(values))
    if values.shape[0] != x.shape[0]:
        raise ValueError(f"{where}: x and {name} must have the same number of samples; got "
                         f"{x.shape[0]} and {values.shape[0]}")
    return values.rechunk((x.chunks[0], *((n,) for n in values.shape[1:])))


def adapter(model, x, y, sample_weight, batch_size, shuffle, where, class_weight,
            sequential, targets):
    """The adapter of a Dask array for fit, evaluate or predict (see the module)."""
    from .._validation import check_positive_int

    _check_x(model, x, where)
    if targets and y is None:
        raise ValueError(f"{where}: y is required with a Dask array x")
    if class_weight is not None and sample_weight is not None:
        raise ValueError(f"{where}: give sample_weight or class_weight, not both")
    if isinstance(class_weight, str):
        raise ValueError(f"{where}: class_weight='balanced' is not computed over a Dask "
                         "array; give a dict {class: weight}")
    x = _samples_whole(x)
    y = _aligned(y, x, "y", where) if targets else None
    w = _aligned(sample_weight, x, "sample_weight", where)
    full = where == "fit" and model.optimizer.full_batch
    if full:
        return FullBatchDaskAdapter(model, x, y, w, class_weight)
    batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
    return DaskAdapter(model, x, y, w, batch_size, shuffle and not sequential, targets,
                       class_weight)


class DaskAdapter(DataAdapter):
    """Mini-batches streamed from a Dask array's chunks (see the module)."""

    def __init__(self, model, x, y, w, batch_size, shuffle, targets=True, class_weight=None):
        self.model, self.x, self.y, self.w = model, x, y, w
        self.batch_size, self.shuffle, self.targets = batch_size, shuffle, targets
        self.class_weight = class_weight
        self.chunks = [int(c) for c in x.chunks[0]]
        self.count = sum(-(-c // batch_size) for c in self.chunks if c)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def first_x(self) -> np.ndarray:
        return np.empty((0, *self.x.shape[1:]), self.model.dtype)

    def draws_random_numbers(self) -> bool:
        return self.shuffle or bool(self.model._random_layers())

    def _blocks(self, order):
        import dask

        for i in order:
            parts = [a.blocks[i] for a in (self.x, self.y, self.w) if a is not None]
            yield i, dask.compute(*parts)

    def epoch(self, epoch_seed):
        rng = np.random.default_rng(epoch_seed)
        order = rng.permutation(len(self.chunks)) if self.shuffle else \
            np.arange(len(self.chunks))
        return self.count, self._batches(order, rng)

    def _batches(self, order, rng):
        reader = ReadAhead(self._blocks([int(i) for i in order if self.chunks[i]]), 1)
        k = 0
        try:
            while True:
                try:
                    item = reader.get()
                except Exception as err:  # noqa: BLE001  (computing the chunk failed)
                    raise BatchError(f"dask array: batch {k}: computing its chunk raised "
                                     f"{type(err).__name__}: {err}", k) from err
                if item is ReadAhead.END:
                    return
                i, parts = item
                x, rest = parts[0], list(parts[1:])
                y = rest.pop(0) if self.y is not None else None
                w = rest.pop(0) if self.w is not None else None
                rows = rng.permutation(len(x)) if self.shuffle else None
                for start in range(0, len(x), self.batch_size):
                    index = slice(start, start + self.batch_size) if rows is None else \
                        rows[start:start + self.batch_size]
                    batch = (x[index],) if not self.targets else \
                        (x[index], y[index], None if w is None else w[index])
                    yield check_batch(self.model, batch if self.targets else batch[0], k,
                                      f"dask array (chunk {i})", self.targets,
                                      self.class_weight)
                    k += 1
        finally:
            reader.close()


def _chunk_sums(model, weights, x, y, w, class_weight):
    """(N_c L_c, [N_c dL_c/dW for each parameter]) of one chunk, L_c the loss of the
    chunk (without the penalties) and N_c its normalizer."""
    model = copy.deepcopy(model)  # a worker's threads never share one model
    model.set_weights(weights)
    x, y, w = check_batch(model, (x, y, w), 0, "dask chunk", True, class_weight)
    fused, activation = model.output_head()
    if fused is not None:
        loss = fused(y, model.logits(as_tensor(x), True), w)
    else:
        loss = model.loss(y, model(x, True), w)
    params = model.params
    for p in params:
        p.grad = None
    loss.backward()
    n_c = model.loss.normalizer(len(x), w)
    return n_c * float(loss.data), [n_c * (p.grad if p.grad is not None else
                                           np.zeros_like(p.data)) for p in params]


def _chunk_normal_equations(model, weights, x, y, max_entries):
    """(J_c^T J_c, J_c^T r_c) of one chunk, r_c its residuals (outputs - targets) and
    J_c their Jacobian (:func:`nnlearn.optimizers.least_squares_residuals`): the
    normal equations of the whole data are the sums over the chunks."""
    from .. import optimizers

    model = copy.deepcopy(model)
    model.set_weights(weights)
    x, y, _ = check_batch(model, (x, y), 0, "dask chunk")
    r, J = optimizers.least_squares_residuals(model, x, y, max_entries)()
    return J.T @ J, J.T @ r


class FullBatchDaskAdapter(DataAdapter):
    """One step per epoch on every sample, its loss and gradient a map-reduce over the
    chunks (see the module): fit calls :meth:`train_step` in place of the model's."""

    count = 1

    def __init__(self, model, x, y, w, class_weight):
        import dask

        from .. import optimizers

        if model._random_layers() or any(type(layer).__name__ == "BatchNormalization"
                                         for layer in model.layers):
            raise ValueError("fit: a full-batch optimizer on a Dask array sums the chunks' "
                             "gradients, which layers drawing random numbers or batch "
                             "statistics (Dropout, BatchNormalization) do not allow")
        self.least_squares = bool(model.optimizer.needs_residuals)
        if self.least_squares and not isinstance(model.optimizer,
                                                 optimizers.LevenbergMarquardt):
            raise ValueError(f"fit: {type(model.optimizer).__name__} needs residuals, which "
                             "are summed over a Dask array's chunks only for "
                             "LevenbergMarquardt")
        if self.least_squares and (w is not None or class_weight is not None):
            raise ValueError(f"{type(model.optimizer).__name__} fits residuals: it cannot "
                             "weight samples (sample_weight, class_weight)")
        if self.least_squares:  # the loss must be the mean squared error: checked now
            optimizers.least_squares_residuals(model, np.zeros(0), np.zeros(0))
        self.model, self.class_weight = model, class_weight
        client = _client()
        arrays = [a for a in (x, y, w) if a is not None]
        arrays = client.persist(arrays) if client is not None else dask.persist(*arrays)
        self.x, self.y = arrays[0], arrays[1]
        self.w = arrays[2] if w is not None else None
        self.client, self.n = client, int(x.shape[0])
        self.blocks = [[a.blocks[i] for a in (self.x, self.y)] + [
            self.w.blocks[i] if self.w is not None else None]
            for i in range(len(x.chunks[0]))]
        self.weight_sum = None if w is None else float(self.w.sum(dtype=np.float64).compute())

    def __len__(self) -> int:
        return self.n

    def first_x(self) -> np.ndarray:
        return np.empty((0, *self.x.shape[1:]), self.model.dtype)

    def draws_random_numbers(self) -> bool:
        return False

    def epoch(self, epoch_seed):
        # one batch standing for every sample (range(n): its length is the count)
        return 1, (batch for batch in [(range(self.n), None, None)])

    def _sums(self, template, weights):
        import dask

        task = dask.delayed(_chunk_sums, pure=True)
        return dask.compute(*[task(template, weights, x, y, w, self.class_weight)
                              for x, y, w in self.blocks])

    def train_step(self, *_):
        """One update: the optimizer's closure sends the weights to the chunks and sums
        what comes back (only weights and sums travel)."""
        import dask

        model = self.model
        params = model.params
        template = copy.deepcopy(model)
        template.optimizer = None
        if self.client is not None:  # sent once per step, not once per chunk
            template = self.client.scatter(template, broadcast=True, hash=False)
        normalizer = model.loss.normalizer(self.n, None if self.weight_sum is None
                                           else [self.weight_sum])

        def closure() -> float:
            model.loss_evaluations += 1
            results = self._sums(template, model.get_weights())
            loss = sum(r[0] for r in results) / normalizer if normalizer else 0.0
            grads = [sum(r[1][j] for r in results) / normalizer if normalizer else
                     np.zeros_like(p.data) for j, p in enumerate(params)]
            penalty = model.penalty(normalizer)
            for p in params:
                p.grad = None
            if penalty is not None:
                penalty.backward()
                loss += float(penalty.data)
            for p, g in zip(params, grads):
                p.grad = g.astype(p.data.dtype) if p.grad is None else \
                    (p.grad + g).astype(p.data.dtype)
            return loss

        objective = closure
        if self.least_squares:
            from .. import optimizers

            def normal_equations():
                task = dask.delayed(_chunk_normal_equations, pure=True)
                limit = model.optimizer.max_jacobian_entries
                parts = dask.compute(*[task(template, model.get_weights(), x, y, limit)
                                       for x, y, _ in self.blocks])
                return sum(p[0] for p in parts), sum(p[1] for p in parts)
            objective = optimizers.Objective(params, closure, normal_equations=normal_equations)
        loss = model.optimizer.minimize(params, objective)
        model.loss_tracker.update_state(loss, self.n)
        return {"loss": loss}


