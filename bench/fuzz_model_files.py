"""A longer fuzz of the model-file reader (and of the tabular loader) than the test suite
runs: random mutations of valid model files and of the hostile set (tests/hostile), at
the byte level and in their structure (manifest values, .npy headers, zip entries).

Only ValueError (or a model that loads) may come out of ``load_model``, and of
``predict`` on 10 rows of a model that loads; anything else is a failure, saved under
``--keep`` to reproduce.  Some inputs nest layers hundreds deep or make each sample
huge (zero padding, "same" pooling), and with ``--tables`` some CSVs are too wide to save
a model of or hold one line longer than ``load_table`` reads (``nnlearn train``'s checks
must refuse them before training).  Reported: the inputs tried, what came
out, the slowest input, and the most memory one load took: the peak RSS during the load
above the RSS before it (Linux: the peak is reset before each load through
/proc/self/clear_refs, so the fuzzer's own copies of its inputs do not count; elsewhere
the process's peak above the baseline, an upper bound).

    python -m bench.fuzz_model_files [--seconds 60] [--seed 0] [--tables] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import struct
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

import nnlearn as nl
from nnlearn.datasets.tabular import load_table
from nnlearn.layers import BatchNormalization, Dense, Dropout, Flatten, Input, PReLU

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import hostile  # noqa: E402


def rss(key: str) -> int:
    """VmRSS or VmHWM in bytes (Linux); the peak from getrusage elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024)


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def seeds() -> list:
    """Valid files of several architectures and optimizers, and the hostile set."""
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = np.arange(16) % 3
    files = []
    for stack, optimizer in [
        ([Input(4), Dense(5, activation="relu"), Dense(3, activation="softmax")], "adam"),
        ([BatchNormalization(), Dense(3, activation="softmax")], "sgd"),
        ([PReLU(), Dropout(0.2), Dense(3, activation="softmax")], "lbfgs"),
        ([Flatten(), Dense(3, activation="softmax")], "rmsprop"),
    ]:
        model = nl.Sequential(stack, seed=0)
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=1, verbose=0)
        model.metadata = {"features": ["a", "b", "c", "d"], "note": "fuzz seed"}
        for write in (model.save, model.save_weights):
            buffer = io.BytesIO()
            write(buffer)
            files.append(buffer.getvalue())
    files += [data for data, _ in hostile.cases(bomb_bytes=2**24).values()]
    return files


HUGE = [0, -1, 1, 2**31, 2**63, 10**12, 10**30, 10**4000, 1e308, -1e308, 0.5, "", "x" * 1000,
        None, True, [], {}, [[[]]], {"class_name": "os.system"}, "../../etc/passwd",
        "weight_0", "float64", "|O", "<f4"]


def mutate_json(value, rng: random.Random):
    """A copy of ``value`` with one node replaced, removed or nested deeper."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        copy = dict(value)
        roll = rng.random()
        if roll < 0.15:
            del copy[key]
        elif roll < 0.25:
            copy[rng.choice(["__class__", "arrays", "extra", key + "x"])] = rng.choice(HUGE)
        else:
            copy[key] = mutate_json(value[key], rng)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.8:
        copy = list(value)
        i = rng.randrange(len(copy))
        copy[i] = mutate_json(copy[i], rng)
        if rng.random() < 0.1:
            copy.append(rng.choice(copy))
        return copy
    return rng.choice(HUGE + [[value], {"v": value}])


def rezip(parts: list, rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as z:
        warnings.simplefilter("ignore")
        for name, content in parts:
            method = zipfile.ZIP_DEFLATED if rng.random() < 0.2 else zipfile.ZIP_STORED
            z.writestr(zipfile.ZipInfo(name), content, compress_type=method)
    return buffer.getvalue()


def grow(data: bytes, rng: random.Random) -> bytes:
    """A valid seed whose layers nest (TimeDistributed in TimeDistributed, up to 400 deep)
    or grow each sample (zero padding, "same" pooling with a huge pool): issue 32's
    items 8 and 9."""
    try:
        if rng.random() < 0.5:
            return hostile._nested(data, rng.choice([1, 2, 8, 9, 50, 400]))
        if rng.random() < 0.5:
            layer = {"class_name": "ZeroPadding2D",
                     "config": {"padding": rng.choice([1, 100, 1400, 2900, 6000, 10**6])}}
        else:
            layer = {"class_name": rng.choice(["MaxPooling2D", "AveragePooling2D"]),
                     "config": {"pool_size": rng.choice([2, 1000, 4096, 5000, 10**6]),
                                "padding": "same"}}
        return hostile._expanding(data, layer)
    except Exception:  # noqa: BLE001 - a seed that is not a 2-input Dense model
        return data


def wide_csv(rng: random.Random) -> bytes:
    """A CSV too wide to save a model of (issue 32 item 15) or with one line longer than
    load_table reads (item 17)."""
    from nnlearn.datasets.tabular import MAX_LINE_CHARS

    if rng.random() < 0.5:
        return hostile.wide_csv(rng.choice([10, 10_000, 250_000])).replace(
            "label", "ring").encode()
    return hostile.long_line_csv(MAX_LINE_CHARS + rng.randint(-8, 8)).replace(
        "label", "ring").encode()


def mutate(data: bytes, rng: random.Random, pool: list) -> bytes:
    if rng.random() < 0.05:
        return grow(data, rng)
    roll = rng.random()
    try:
        members = hostile.members(data)
    except Exception:  # noqa: BLE001 - a hostile seed need not be a zip
        members = None
    if members and roll < 0.35 and "manifest.npy" in members:
        try:
            manifest = json.loads(np.load(io.BytesIO(members["manifest.npy"])).tobytes())
        except Exception:  # noqa: BLE001
            manifest = None
        if manifest is not None:
            text = json.dumps(mutate_json(manifest, rng)).encode()
            members["manifest.npy"] = hostile.npy(np.frombuffer(text, np.uint8))
            return rezip(list(members.items()), rng)
    if members and roll < 0.55:
        names = list(members)
        name = rng.choice(names)
        kind = rng.random()
        if kind < 0.4:  # forge the header's shape
            shape = tuple(rng.choice([0, 1, 3, 2**20, 2**40, 10**12]) for _ in
                          range(rng.randint(0, 3)))
            body = members[name][128:] if rng.random() < 0.5 else b""
            members[name] = hostile.npy_header(shape, rng.choice(["<f4", "<f8", "|u1", "|O",
                                                                  "<U3", ">f4"])) + body
        elif kind < 0.6:
            members[rng.choice(["../x.npy", "weight_99.npy", name, "dir/", "/abs.npy"])] = \
                members[name]
        elif kind < 0.8:
            del members[name]
        else:
            members[name] = members[name][: rng.randrange(len(members[name]) + 1)]
        return rezip(list(members.items()), rng)
    raw = bytearray(data if rng.random() < 0.9 else rng.choice(pool))
    for _ in range(rng.randint(1, 8)):
        if not raw:
            break
        at = rng.randrange(len(raw))
        op = rng.random()
        if op < 0.4:
            raw[at] ^= 1 << rng.randrange(8)
        elif op < 0.55:
            raw[at:at + 4] = struct.pack("<I", rng.choice([0, 0xFFFFFFFF, 2**31, 1, 2**20]))
        elif op < 0.7:
            del raw[at:]
        elif op < 0.85:
            raw[at:at] = rng.randbytes(rng.randint(1, 32))
        else:
            other = rng.choice(pool)
            start = rng.randrange(len(other)) if other else 0
            raw[at:at] = other[start:start + rng.randint(1, 256)]
    return bytes(raw)


def fuzz(seconds: float, seed: int, tables: bool, keep: Path | None) -> int:
    rng = random.Random(seed)
    pool = seeds()
    for data in pool[:4]:  # warm up every module a load needs
        try:
            nl.load_model(io.BytesIO(data))
        except ValueError:
            pass
    baseline = rss("VmRSS")
    outcomes: dict = {}
    failures = []
    slowest, largest = (0.0, ""), (0, "")
    tried = 0
    deadline = time.monotonic() + seconds
    directory = Path(tempfile.mkdtemp(prefix="nnlearn-fuzz-"))
    while time.monotonic() < deadline:
        data = mutate(rng.choice(pool), rng, pool)
        before = rss("VmRSS") if reset_peak() else baseline
        start = time.perf_counter()
        kind = "table" if tables and rng.random() < 0.3 else "model"
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                if kind == "model":
                    model = nl.load_model(io.BytesIO(data))
                    if model.built and model.input_shape:  # and its predict (item 9)
                        model.predict(np.zeros((10, *model.input_shape), model.dtype))
                elif rng.random() < 0.05:
                    path = directory / "wide.csv"
                    path.write_bytes(wide_csv(rng))
                    from nnlearn.cli import train_model  # needs click (the cli extra)

                    train_model(load_table(path, target="ring"), hidden=[1], epochs=1)
                else:
                    path = directory / rng.choice(["t.npz", "t.csv"])
                    path.write_bytes(data if path.suffix == ".npz" else
                                     data[:2000].replace(b"PK", b"x1,ring\n1,a\n"))
                    load_table(path, target="ring" if path.suffix == ".csv" else None)
            outcome = f"{kind}: loaded"
        except ValueError:
            outcome = f"{kind}: ValueError"
        except Exception as err:  # noqa: BLE001 - what the fuzz looks for
            outcome = f"{kind}: {type(err).__name__}"
            failures.append((outcome, str(err)[:200]))
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                (keep / f"failure-{len(failures)}.bin").write_bytes(data)
        spent = time.perf_counter() - start
        largest = max(largest, (rss("VmHWM") - before, outcome))
        slowest = max(slowest, (spent, outcome))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        tried += 1
    print(f"inputs tried: {tried:,} in {seconds:g} s (seed {seed})")
    for outcome, count in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {outcome:<28} {count:>8,}")
    print(f"slowest input: {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    print(f"most memory one load took: {largest[0] / 2**10:,.0f} KB above the RSS before it "
          f"({largest[1]}; baseline RSS {baseline / 2**20:.1f} MB)")
    for outcome, message in failures[:20]:
        print(f"FAILURE {outcome}: {message}")
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", action="store_true", help="also fuzz load_table")
    parser.add_argument("--keep", type=Path, help="save failing inputs here")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return fuzz(args.seconds, args.seed, args.tables, args.keep)


if __name__ == "__main__":
    sys.exit(main())
