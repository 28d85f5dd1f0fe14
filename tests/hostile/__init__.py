"""Hostile model files, made from a valid one: pickle payloads, forged .npy headers and
manifests, zip bombs, traversal names, malformed manifests.  ``load_model`` must refuse
each with a ValueError (the fragment listed here must be in its message), read nothing
large and leave no trace.  ``tests/models/test_files.py`` loads them all and measures the
memory; ``bench/fuzz_model_files.py`` mutates them further.

Each case is ``name -> (bytes of the file, fragment of the expected message)``; the
pickle payloads would create the file ``PWNED`` in the working directory if anything
unpickled them.
"""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile
import zlib

import numpy as np

import nnlearn as nl

MARKER = "PWNED"


class _Payload:
    """Unpickling this runs ``open(MARKER, "w")``: proof that something unpickled."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


def valid_model_bytes(units: int = 3) -> bytes:
    model = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(units, activation="softmax")],
                          seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.zeros((4, 2), np.float32), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    model.metadata = {"features": ["a", "b"]}
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def valid_functional_bytes() -> bytes:
    """A functional model file: two inputs, a shared Dense layer, a residual Add."""
    a, b = nl.Input(2, name="a"), nl.Input(2, name="b")
    shared = nl.layers.Dense(2, activation="tanh", name="shared")
    added = nl.layers.Add(name="add")([a, shared(a), shared(b)])
    out = nl.layers.Dense(3, activation="softmax", name="out")(added)
    model = nl.Model([a, b], out, seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit([np.zeros((4, 2), np.float32)] * 2, np.array([0, 1, 2, 0]), epochs=1,
              verbose=0)
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def functional_cases() -> dict:
    """Hostile graphs of a functional model file (nodes ``[layer, [inbound]]``): a
    cycle, a dangling reference, a node that reads itself, 10^6 nodes (refused by count,
    before any node is read), and their kin."""
    good = valid_functional_bytes()
    nodes = manifest_of(good)["model"]["graph"]["nodes"]
    input_b = next(i for i, spec in enumerate(manifest_of(good)["model"]["layers"])
                   if spec["config"].get("name") == "b")
    add = next(i for i, (layer, inbound) in enumerate(nodes) if len(inbound) == 3)
    shared = nodes[add][1][1]
    cycle = json.loads(json.dumps(nodes))
    cycle[shared][1] = [add]  # shared reads add, which reads shared
    return {
        "graph_cycle": (edited(good, _set(["model", "graph", "nodes"], cycle)),
                        "the graph has a cycle"),
        "graph_dangling_inbound": (edited(good, _set(["model", "graph", "nodes", add, 1],
                                                     [0, 99])), "refers to 99, which does "
                                                                "not exist"),
        "graph_dangling_layer": (edited(good, _set(["model", "graph", "nodes", add, 0], 7)),
                                 "refers to 7, which does not exist"),
        "graph_dangling_output": (edited(good, _set(["model", "graph", "outputs"], [12])),
                                  "outputs[0] refers to 12"),
        "graph_self_input": (edited(good, _set(["model", "graph", "nodes", add, 1],
                                               [0, add])), "lists itself as its own input"),
        "graph_1e6_nodes": (edited(good, _set(["model", "graph", "nodes"], [0] * 10**6)),
                            "1,000,000 nodes; at most 10,000"),
        "graph_node_malformed": (edited(good, _set(["model", "graph", "nodes", add], "x")),
                                 "must be [layer index, [inbound node indices]]"),
        "graph_input_reads": (edited(good, _set(["model", "graph", "inputs"], [add])),
                              "an input node reads nothing"),
        "graph_keys": (edited(good, _set(["model", "graph", "extra"], 1)),
                       "keys nodes, inputs and outputs"),
        "graph_shapes_clash": (edited(good, _set(["model", "layers", input_b, "config", "shape"],
                                                 [5])), "called on samples of shape"),
    }


def members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def zip_of(entries, compression=zipfile.ZIP_STORED) -> bytes:
    """A zip of (name, bytes) pairs (a list: names may repeat)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression) as z:
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        for name, content in entries:
            z.writestr(name, content)
    return buffer.getvalue()


def npy(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_header(shape, descr="<f4", version=(1, 0), fortran=False, pad_to=None) -> bytes:
    """A .npy header announcing ``shape`` (no data)."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    total = pad_to or (len(text) + 12 + 63) // 64 * 64
    body = text.ljust(total - (10 if version == (1, 0) else 12) - 1) + "\n"
    magic = b"\x93NUMPY" + bytes(version)
    if version == (1, 0):
        return magic + struct.pack("<H", len(body)) + body.encode("latin1")
    return magic + struct.pack("<I", len(body)) + body.encode("latin1")


def manifest_of(data: bytes) -> dict:
    return json.loads(np.load(io.BytesIO(members(data)["manifest.npy"])).tobytes())


def with_manifest(data: bytes, manifest, raw: bytes | None = None) -> bytes:
    """The file with another manifest (a JSON value, or raw bytes)."""
    text = raw if raw is not None else json.dumps(manifest).encode()
    parts = members(data)
    parts["manifest.npy"] = npy(np.frombuffer(text, np.uint8))
    return zip_of(parts.items())


def with_member(data: bytes, name: str, content: bytes, declare=None) -> bytes:
    """The file with one member replaced or added (and ``declare`` as its manifest entry)."""
    parts = members(data)
    parts[name] = content
    if declare is not None:
        manifest = manifest_of(data)
        manifest["arrays"][name[:-4]] = declare
        parts["manifest.npy"] = npy(np.frombuffer(json.dumps(manifest).encode(), np.uint8))
    return zip_of(parts.items())


def edited(data: bytes, edit) -> bytes:
    manifest = manifest_of(data)
    edit(manifest)
    return with_manifest(data, manifest)


def _set(path, value):
    def edit(manifest):
        node = manifest
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _nested(data: bytes, depth: int) -> bytes:
    """The file with its Dense layer wrapped in ``depth`` TimeDistributed layers (issue 32:
    300 levels in 24 KB made the reader recurse until RecursionError)."""
    manifest = manifest_of(data)
    inner = manifest["model"]["layers"][1]
    for _ in range(depth):
        inner = {"class_name": "TimeDistributed", "config": {"layer": inner, "name": None}}
    manifest["model"]["layers"][1] = inner
    return with_manifest(data, manifest)


def _expanding(data: bytes, layer: dict) -> bytes:
    """The file with ``layer`` (a weightless layer that makes each sample larger) between
    its input, reshaped to a 1 x 1 image of 2 channels, and its Dense layer (issue 32: a
    1.9 KB file whose predict on 10 rows took 1.45 GB)."""
    manifest = manifest_of(data)
    layers = manifest["model"]["layers"]
    manifest["model"]["layers"] = [
        layers[0], {"class_name": "Reshape", "config": {"target_shape": [1, 1, 2]}}, layer,
        {"class_name": "GlobalAveragePooling2D", "config": {}}, layers[1]]
    return with_manifest(data, manifest)


def wide_csv(columns: int, rows: int = 4) -> str:
    """A CSV of ``columns`` features named feature_0, feature_1, ... and a target
    ``label``: at 200,000 columns a model of it cannot be saved (its manifest would be
    over the 4 MB cap; issue 32 item 15), so ``nnlearn train`` must refuse it first."""
    header = ",".join(f"feature_{i}" for i in range(columns)) + ",label\n"
    return header + "".join(",".join(["1"] * columns) + f",{'ab'[i % 2]}\n"
                            for i in range(rows))


def long_line_csv(characters: int) -> str:
    """A CSV whose second line holds ``characters`` characters (issue 32 item 17: a
    500 MB line ended in a MemoryError at 2.2 GB)."""
    return "a,label\n" + "1," * (characters // 2) + "x\n"


def _deep(depth: int) -> bytes:
    return b'{"format": "nnlearn-model", "metadata": ' + b"[" * depth + b"]" * depth + b"}"


def _bomb(size: int, declared: int | None = None) -> bytes:
    """A deflated weight_0.npy expanding to ``size`` bytes of zeros after its header (the
    zip directory declaring ``declared`` bytes, the truth by default)."""
    header = npy_header((size // 4,))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream, crc, zeros = [compressor.compress(header)], zlib.crc32(header), bytes(2**20)
    for _ in range(size // len(zeros)):
        stream.append(compressor.compress(zeros))
        crc = zlib.crc32(zeros, crc)
    stream = b"".join(stream) + compressor.flush()
    length = len(header) + size // len(zeros) * len(zeros)
    info = zipfile.ZipInfo("weight_0.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("manifest.npy", members(valid_model_bytes())["manifest.npy"])
    entries = buffer.getvalue()
    # append the bomb by hand: local header, data, and a new directory
    body_end = entries.index(b"PK\x01\x02")
    head, directory = entries[:body_end], entries[body_end:entries.index(b"PK\x05\x06")]
    real = declared if declared is not None else length
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(stream), real,
                        len(info.filename), 0) + info.filename.encode()
    offset = len(head)
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(stream),
                          real, len(info.filename), 0, 0, 0, 0, 0, offset) + \
        info.filename.encode()
    new_directory = directory + central
    start = offset + len(local) + len(stream)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2, 2, len(new_directory), start, 0)
    return head + local + stream + new_directory + end


def _overlapping(count: int) -> bytes:
    """``count`` entries whose directory records all point at the same stored array."""
    data = valid_model_bytes()
    block = npy(np.zeros(2**18, np.float32))  # 1 MiB
    base = zip_of([("manifest.npy", members(data)["manifest.npy"]), ("weight_0.npy", block)])
    directory_start = base.index(b"PK\x01\x02")
    end = base.index(b"PK\x05\x06")
    records = base[directory_start:end]
    second = records.index(b"PK\x01\x02", 4)
    manifest_record, weight_record = records[:second], records[second:]
    extra = b""
    for i in range(1, count):
        name = f"weight_{i}.npy".encode()
        fixed = bytearray(weight_record[:46])
        fixed[28:30] = struct.pack("<H", len(name))
        extra += bytes(fixed) + name + weight_record[46 + len(b"weight_0.npy"):]
    directory = manifest_record + weight_record + extra
    tail = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count + 1, count + 1, len(directory),
                       directory_start, 0)
    return base[:directory_start] + directory + tail


def _many_entries(count: int) -> bytes:
    return zip_of([("manifest.npy", b"")] + [(f"weight_{i}.npy", b"") for i in range(count)])


def _flag(data: bytes, name: str, flag: int = 0, method: int | None = None) -> bytes:
    """Set bits of the general-purpose flag (and the method) of ``name`` in both headers."""
    out = bytearray(data)
    for signature, flag_at, method_at, name_at in ((b"PK\x03\x04", 6, 8, 30),
                                                   (b"PK\x01\x02", 8, 10, 46)):
        position = 0
        while (position := out.find(signature, position)) >= 0:
            if out[position + name_at:position + name_at + len(name)] == name.encode():
                old = struct.unpack("<H", out[position + flag_at:position + flag_at + 2])[0]
                out[position + flag_at:position + flag_at + 2] = struct.pack("<H", old | flag)
                if method is not None:
                    out[position + method_at:position + method_at + 2] = struct.pack("<H",
                                                                                   method)
            position += 4
    return bytes(out)


def cases(bomb_bytes: int = 2**28) -> dict:
    """name -> (file bytes, fragment of the ValueError's message); the deflate bomb
    expands to ``bomb_bytes``."""
    good = valid_model_bytes()
    parts = members(good)
    manifest = manifest_of(good)
    weight_0 = dict(manifest["arrays"]["weight_0"])
    pickled = npy(np.array([_Payload()], dtype=object), allow_pickle=True)
    wide = json.loads(json.dumps(manifest))
    wide["model"]["input_shape"] = [10**6]
    wide["model"]["layers"] = [{"class_name": "Input", "config": {"shape": [10**6],
                                                                  "name": None}},
                               {"class_name": "Dense", "config": {"units": 300}}]
    truncated_data = npy_header((1000,)) + bytes(40)
    return {
        # pickles
        "pickle_file": (pickle_bytes(), "not a zip archive"),
        "pickled_weight": (with_member(good, "weight_0.npy", pickled), "holds dtype '|O'"),
        "pickled_manifest": (with_member(good, "manifest.npy", pickled), "holds dtype '|O'"),
        "pickled_extra_entry": (with_member(good, "optimizer_99.npy", pickled),
                                "not listed in the manifest"),
        "pickled_declared_entry": (with_member(good, "optimizer_9.npy", pickled, declare={
            "shape": [1], "dtype": "|O", "sha256": "0" * 64}), "dtype must be"),
        # forged .npy headers
        "npy_shape_1e12": (with_member(good, "weight_0.npy", npy_header((10**12,)) + bytes(64)),
                           "declares an array of shape (1000000000000,)"),
        "npy_shape_overflowing": (with_member(good, "weight_0.npy",
                                              npy_header((2**62, 2**62)) + bytes(8)),
                                  "declares an array of shape"),
        "npy_short_data": (with_member(good, "weight_0.npy", truncated_data),
                           "but holds 40 bytes"),
        "npy_negative_shape": (with_member(good, "weight_0.npy", npy_header((-1,))),
                               "invalid shape"),
        "npy_huge_header": (with_member(good, "weight_0.npy",
                                        npy_header((2, 3), version=(2, 0), pad_to=200_000)),
                            "no valid .npy header"),
        "npy_bad_magic": (with_member(good, "weight_0.npy", b"\x93NUMPX\x01\x00" + bytes(50)),
                          "no valid .npy header"),
        "npy_version_3": (with_member(good, "weight_0.npy",
                                      npy_header((2, 3), version=(3, 0)) + bytes(24)),
                          "not supported"),
        "npy_code_in_header": (with_member(good, "weight_0.npy", b"\x93NUMPY\x01\x00"
                                           + struct.pack("<H", 54)
                                           + b"__import__('os').system('touch PWNED')".ljust(
                                               53) + b"\n"), "no valid .npy header"),
        "npy_structured_dtype": (with_member(good, "weight_0.npy",
                                             npy(np.zeros(2, [("a", "<f4"), ("b", "<i4")]))),
                                 "holds dtype"),
        "npy_string_dtype": (with_member(good, "weight_0.npy", npy(np.array(["abc"]))),
                             "holds dtype"),
        "manifest_header_lies": (with_member(good, "weight_0.npy",
                                             npy(np.zeros((3, 2), np.float32))),
                                 "the manifest declares shape (2, 3)"),
        # the architecture against the weights
        "wide_input_1e6": (with_manifest(good, wide), "the architecture needs shape"),
        "huge_units": (edited(good, _set(["model", "layers", 1, "config", "units"], 10**9)),
                       "the architecture needs shape"),
        # layers that nest or grow without limit (issue 32, items 8 and 9)
        "layers_nested_300": (_nested(good, 300), "layers nest more than 8 levels deep"),
        "zero_padding_6000": (_expanding(good, {"class_name": "ZeroPadding2D",
                                                "config": {"padding": 6000}}),
                              "288,048,002 values per sample"),
        "same_pooling_5000": (_expanding(good, {"class_name": "MaxPooling2D", "config": {
            "pool_size": 5000, "padding": "same"}}), "values per sample"),
        "huge_batchnorm": (edited(good, _set(["model", "layers"], [
            {"class_name": "Input", "config": {"shape": [10**5, 10**5]}},
            {"class_name": "BatchNormalization", "config": {}}])),
            "the architecture has 4 weight arrays"),
        "entries_swapped": (with_member(good, "weight_1.npy", parts["weight_0.npy"]),
                            "the manifest declares shape (3,)"),
        "declared_entry_missing": (zip_of([(k, v) for k, v in parts.items()
                                           if k != "weight_1.npy"]),
                                   "the file has no weight_1.npy"),
        # zip bombs and forged zip directories
        "deflate_bomb": (_bomb(bomb_bytes), "a zip bomb?"),
        "deflate_bomb_lying_size": (_bomb(2**26, declared=4096),
                                    "no valid .npy header"),
        "overlapping_entries": (_overlapping(200), "overlap"),
        "directory_of_30k_entries": (_many_entries(30_000), "zip directory declares"),
        "encrypted_entry": (_flag(good, "weight_0.npy", flag=1), "encrypted"),
        "bzip2_entry": (_flag(good, "weight_0.npy", method=12), "unsupported compression"),
        "duplicate_entry": (zip_of(list(parts.items()) + [("weight_0.npy",
                                                            parts["weight_0.npy"])]),
                            "appears twice"),
        "truncated": (good[: len(good) // 2], "not a readable nnlearn model file"),
        "empty_file": (b"", "not a zip archive"),
        "checksum_mismatch": (with_member(good, "weight_0.npy",
                                          npy(np.ones((2, 3), np.float32))), "checksum"),
        # traversal and unexpected names
        "traversal_name": (with_member(good, "../../evil.npy", parts["weight_0.npy"]),
                           "unexpected entry '../../evil.npy'"),
        "absolute_name": (with_member(good, "/tmp/evil.npy", parts["weight_0.npy"]),
                          "unexpected entry"),
        "directory_entry": (with_member(good, "weight_0.npy/", b""), "unexpected entry"),
        "backslash_name": (with_member(good, "..\\..\\evil.npy", b""), "unexpected entry"),
        # malformed manifests
        "manifest_json_list": (with_manifest(good, [1, 2, 3]), "must be a JSON object"),
        "manifest_not_json": (with_manifest(good, None, raw=b"{not json"), "not JSON"),
        "manifest_not_utf8": (with_manifest(good, None, raw=b'{"a": "\xff\xfe"}'), "not JSON"),
        "manifest_nested_100k": (with_manifest(good, None, raw=_deep(100_000)),
                                 "nests too deeply"),
        "manifest_huge_int": (with_manifest(good, None, raw=b'{"version": 1' + b"0" * 5000
                                            + b"}"), "not JSON"),
        "manifest_nan": (with_manifest(good, None, raw=b'{"version": NaN}'), "not JSON"),
        "manifest_duplicate_key": (with_manifest(good, None, raw=json.dumps(manifest)[:-1]
                                                 .encode() + b', "format": "x"}'),
                                   "duplicate key 'format'"),
        "manifest_over_cap": (with_manifest(good, None, raw=b" " * (5 * 2**20) + b"{}"),
                              "the manifest declares"),
        "manifest_2d": (with_member(good, "manifest.npy", npy(np.zeros((2, 2), np.uint8))),
                        "manifest must be at most"),
        "manifest_float": (with_member(good, "manifest.npy", npy(np.zeros(4))),
                           "holds dtype '<f8'"),
        "manifest_missing": (zip_of([(k, v) for k, v in parts.items() if k != "manifest.npy"]),
                             "no manifest.npy"),
        "missing_model": (edited(good, lambda m: m.pop("model")), "misses the key 'model'"),
        "missing_arrays": (edited(good, lambda m: m.pop("arrays")), "misses the key 'arrays'"),
        "wrong_format": (edited(good, _set(["format"], "keras")), "format is 'keras'"),
        "future_version": (edited(good, _set(["version"], 99)), "format version 99"),
        "version_string": (edited(good, _set(["version"], "1")), "version must be an integer"),
        "unknown_top_key": (edited(good, _set(["__class__"], "os.system")), "unexpected key"),
        "metadata_list": (edited(good, _set(["metadata"], [1, 2])),
                          "metadata must be an object"),
        "layers_object": (edited(good, _set(["model", "layers"], {"0": {}})),
                          "model.layers must be a list"),
        "layer_class_os_system": (edited(good, _set(["model", "layers", 1, "class_name"],
                                                    "os.system")),
                                  "model.layers[1].class_name must be"),
        "layer_config_unknown_key": (edited(good, _set(["model", "layers", 1, "config",
                                                        "__init__"], "x")),
                                     "model.layers[1].config has an unexpected key"),
        "layer_units_string": (edited(good, _set(["model", "layers", 1, "config", "units"],
                                                 "3")),
                               "model.layers[1].config.units must be a positive integer"),
        "layer_missing_required": (edited(good, lambda m: m["model"]["layers"][1]["config"]
                                          .pop("units")), "misses the key 'units'"),
        "layer_bad_activation": (edited(good, _set(["model", "layers", 1, "config",
                                                    "activation"], "os.system")),
                                 "unknown activation"),
        "layer_bad_initializer_config": (edited(good, _set(
            ["model", "layers", 1, "config", "kernel_initializer"],
            {"class_name": "random_normal", "config": {"__globals__": 1}})), "model"),
        "input_shape_negative": (edited(good, _set(["model", "input_shape"], [-2])),
                                 "model.input_shape[0] must be a positive integer"),
        "dtype_object": (edited(good, _set(["model", "dtype"], "object")),
                         "model.dtype must be"),
        "array_dtype_object": (edited(good, _set(["arrays", "weight_0", "dtype"], "|O")),
                               "arrays.weight_0.dtype must be"),
        "array_key_traversal": (edited(good, _set(["arrays", "../weight_0"], weight_0)),
                                "unexpected key '../weight_0'"),
        "array_numbering_gap": (edited(good, _set(["arrays", "weight_7"], weight_0)),
                                "numbered 0 to"),
        "sha_not_hex": (edited(good, _set(["arrays", "weight_0", "sha256"], "x" * 64)),
                        "64 hexadecimal digits"),
        "compile_unknown_optimizer_key": (edited(good, _set(["compile", "optimizer", "config",
                                                             "__class__"], 1)), "compile"),
        "compile_optimizer_os": (edited(good, _set(["compile", "optimizer", "class_name"],
                                                   "os.system")), "unknown optimizer"),
        "compile_loss_wrong_type": (edited(good, _set(["compile", "loss"], "mse")),
                                    "compile.loss must be an object"),
        "compile_negative_iterations": (edited(good, _set(["compile", "iterations"], -1)),
                                        "compile.iterations must be a non-negative integer"),
        "optimizer_state_short": (_drop_optimizer_array(good), "optimizer state"),
        **functional_cases(),
    }


def _drop_optimizer_array(data: bytes) -> bytes:
    """The last optimizer array removed (file and manifest): the state no longer fits."""
    parts = members(data)
    manifest = manifest_of(data)
    last = max((k for k in manifest["arrays"] if k.startswith("optimizer_")),
               key=lambda k: int(k.split("_")[1]))
    del manifest["arrays"][last]
    del parts[f"{last}.npy"]
    parts["manifest.npy"] = npy(np.frombuffer(json.dumps(manifest).encode(), np.uint8))
    return zip_of(parts.items())


def pickle_bytes() -> bytes:
    import pickle

    return pickle.dumps(_Payload())
