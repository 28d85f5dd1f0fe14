"""The playground: settings validation, the session's training and export, the server
over a real socket (malformed input, disconnects, idle sessions, other origins) and the
page end to end in headless Chromium."""

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlearn as nl
from nnlearn.playground import PlaygroundSession, SettingsError, validate

uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")


# -- settings and the session ----------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    ({"learning_rate": -0.1}, r"learning_rate must be in \(0"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"hidden": []}, "1 to 6 layer sizes"),
    ({"hidden": [2] * 7}, "1 to 6 layer sizes"),
    ({"hidden": [1000]}, "1 to 8 neurons"),
    ({"hidden": [2.5]}, "1 to 8 neurons"),
    ({"activation": "sigmod"}, "activation must be one of"),
    ({"optimizer": "adamax"}, "optimizer must be one of"),
    ({"features": []}, "non-empty list"),
    ({"features": ["x3"]}, "unknown feature"),
    ({"dataset": "moons"}, "dataset must be one of"),
    ({"noise": 80}, r"noise must be in \[0, 50\]"),
    ({"dropout": 1.0}, "dropout"),
    ({"batch_size": 0}, "batch_size"),
    ({"colour": "red"}, "unknown setting"),
])
def test_invalid_settings_are_refused_with_the_setting_named(bad, message):
    with pytest.raises(SettingsError, match=message):
        validate(bad)


def test_session_trains_and_its_export_reproduces_it(tmp_path):
    session = PlaygroundSession({"dataset": "xor", "hidden": [4], "activation": "tanh",
                                 "learning_rate": 0.03, "features": ["x1", "x2", "x1*x2"]})
    first = session.test_metrics["loss"]
    session.train(5)
    assert session.epoch == 5 and session.test_metrics["loss"] < first
    frame = session.frame()
    json.dumps(frame, allow_nan=False)
    assert len(bytes.fromhex(frame["output"]["data"])) == 50 * 50
    assert [len(layer) for layer in frame["neurons"]] == [4]
    assert np.asarray(frame["weights"][0]).shape == (3, 4)
    # the model file loads and scores like the session
    path = tmp_path / "m.nnlearn"
    path.write_bytes(session.model_bytes())
    model = nl.load_model(path)
    with np.load(__import__("io").BytesIO(session.data_bytes())) as data:
        scores = model.evaluate(data["x_test"], data["y_test"], return_dict=True)
    assert scores["accuracy"] == pytest.approx(session.test_metrics["accuracy"], abs=1e-7)
    assert model.metadata["playground"]["dataset"] == "xor"
    # the exported code rebuilds the data and retrains to the same weights
    namespace = {}
    exec(compile(session.python_code(), "exported.py", "exec"), namespace)
    rebuilt = namespace["model"]
    for a, b in zip(rebuilt.get_weights(), session.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("settings", [
    {"dataset": "plane", "hidden": [3], "regularization": "L1", "regularization_rate": 0.01},
    {"dataset": "gaussian_regression", "hidden": [8, 8, 8, 8, 8, 8], "dropout": 0.2,
     "optimizer": "adam", "features": list(nl.playground.session.FEATURES)},
    {"dataset": "spiral", "hidden": [2], "optimizer": "lbfgs", "learning_rate": 1.0},
])
def test_every_kind_of_network_trains_and_draws(settings):
    session = PlaygroundSession(settings)
    session.train(2)
    frame = session.frame()
    assert len(frame["neurons"]) == len(settings["hidden"])
    json.dumps(frame, allow_nan=False)


def test_a_diverging_network_reports_instead_of_crashing():
    session = PlaygroundSession({"dataset": "plane", "learning_rate": 10, "hidden": [8, 8],
                                 "activation": "relu", "batch_size": 1})
    first = session.test_metrics["loss"]
    session.train(3)
    frame = session.frame()
    json.dumps(frame, allow_nan=False)  # nan losses are sent as null
    assert np.isfinite(first) and frame["epoch"] == 3
    assert frame["train"]["loss"] is None and frame["test"]["loss"] is None
    assert frame["history"]["test_loss"] == [first, None]
    assert np.all(np.isfinite(np.asarray(frame["weights"][0])))


# -- the server over a real socket ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(uvicorn_options=None, **options):
    """A playground served on 127.0.0.1 as ``serve`` serves it (its uvicorn options:
    ``server.uvicorn_options(**uvicorn_options)``, no cap per address by default, as on
    the loopback address)."""
    from nnlearn.playground.server import create_app
    from nnlearn.playground.server import uvicorn_options as production

    port = free_port()
    app = create_app(**options)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning",
                                           **production(**{"max_connections_per_address": None,
                                                           **(uvicorn_options or {})})))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)


def receive_until(ws, kind, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


def wait_for_sessions(address, count, timeout=10):
    """Wait until the server reports ``count`` open sessions (AssertionError after
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while health(address)["sessions"] != count:
        assert time.monotonic() < deadline, health(address)
        time.sleep(0.05)


def health(address):
    with urllib.request.urlopen(f"http://{address}/health", timeout=5) as response:
        return json.loads(response.read())


def test_malformed_and_out_of_range_messages_get_errors_and_the_server_keeps_serving():
    with running_server() as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            assert receive_until(ws, "session")["choices"]["max_layers"] == 6
            receive_until(ws, "frame")
            cases = [
                ("this is not json", "not JSON"),
                ("[1, 2, 3]", "expected an object"),
                (json.dumps({"type": "fly"}), "unknown message type 'fly'"),
                (json.dumps({"type": "settings", "settings": {"learning_rate": -1}}),
                 "learning_rate"),
                (json.dumps({"type": "settings", "settings": {"hidden": []}}), "hidden"),
                (json.dumps({"type": "settings", "settings": {"hidden": [1000]}}), "neurons"),
                (json.dumps({"type": "settings", "settings": {"activation": "nope"}}),
                 "activation"),
                (json.dumps({"type": "settings", "settings": "all of them"}), "object"),
                (b"\x00\x01binary", "binary messages"),
                ("x" * 70_000, "too large"),
            ]
            for text, expected in cases:
                ws.send(text)
                error = receive_until(ws, "error")
                assert expected in error["message"], (text[:40], error)
            ws.send(json.dumps({"type": "step"}))
            assert receive_until(ws, "frame")["epoch"] == 1
            assert health(address) == {"sessions": 1}


def test_changes_apply_on_top_of_the_settings_in_force_and_replies_carry_the_number():
    with running_server() as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            receive_until(ws, "frame")
            ws.send(json.dumps({"type": "settings", "settings": {"dataset": "spiral",
                                                                 "hidden": [3]}}))
            assert receive_until(ws, "data")["settings"]["hidden"] == [3]
            # a drawn point makes the data set "custom"; a change sent after it keeps it
            ws.send(json.dumps({"type": "add_point", "x": 0.5, "y": 0.5, "label": 1}))
            assert receive_until(ws, "data")["settings"]["dataset"] == "custom"
            ws.send(json.dumps({"type": "settings", "changes": {"hidden": [3, 2]}, "seq": 7}))
            data = receive_until(ws, "data")
            assert data["seq"] == 7 and data["settings"]["dataset"] == "custom"
            assert data["settings"]["hidden"] == [3, 2]
            assert receive_until(ws, "frame")["seq"] == 7       # every reply carries it
            for changes, expected in (({"learning_rate": -1}, "learning_rate"),
                                      ({"colour": "red"}, "unknown setting"),
                                      ([1, 2], "changes must be an object")):
                ws.send(json.dumps({"type": "settings", "changes": changes, "seq": 8}))
                error = receive_until(ws, "error")
                assert expected in error["message"] and error["seq"] == 8, error
            for seq in (True, -1, 2**53, "8", 1.5):           # not a number it carries back
                ws.send(json.dumps({"type": "settings", "changes": {}, "seq": seq}))
                assert "seq" not in receive_until(ws, "data")
                assert "seq" not in receive_until(ws, "frame")
            ws.send(json.dumps({"type": "step"}))
            frame = receive_until(ws, "frame")
            assert frame["epoch"] == 1 and "seq" not in frame


def test_disconnecting_mid_stream_ends_the_session_and_other_tabs_go_on():
    with running_server() as (address, _), \
            websockets_sync.connect(f"ws://{address}/ws") as other:
        receive_until(other, "frame")
        with contextlib.suppress(Exception), websockets_sync.connect(f"ws://{address}/ws") as ws:
            receive_until(ws, "frame")
            ws.send(json.dumps({"type": "run"}))
            receive_until(ws, "frame")
            ws.socket.close()  # abrupt: no closing handshake
        deadline = time.monotonic() + 10
        while health(address)["sessions"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        other.send(json.dumps({"type": "step"}))
        assert receive_until(other, "frame")["epoch"] == 1


def test_idle_sessions_are_closed_and_other_origins_refused():
    with running_server(idle_timeout=1.0) as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            assert "idle" in receive_until(ws, "error", timeout=10)["message"]
        assert health(address) == {"sessions": 0}
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus, match="403"):  # refused at the handshake
            websockets_sync.connect(f"ws://{address}/ws", origin="http://elsewhere.example")


def test_export_downloads_need_a_live_session():
    with running_server() as (address, _):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://{address}/export/nobody/model.nnlearn")
        assert err.value.code == 404


# -- the page in headless Chromium ------------------------------------------------------------
from browser import CHROMIUM, needs_chromium, sync_api as playwright_sync_api  # noqa: E402


@needs_chromium
def test_page_end_to_end_in_chromium(tmp_path):
    sync_api = playwright_sync_api()
    with running_server() as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://{address}/")
        page.wait_for_selector("#datasets button[data-name=spiral]")
        page.evaluate("sendSettings({learning_rate: -1})")  # what a tampered page could send
        page.wait_for_selector("#error:not([hidden])")
        assert "learning_rate must be in (0, 10]" in page.inner_text("#error")
        assert page.is_disabled("#remove_layer") is False
        page.click("#datasets button[data-name=spiral]")
        page.wait_for_function("document.querySelector('#datasets .selected')?.dataset.name"
                               " === 'spiral'")
        for box in ("sin(x1)", "sin(x2)"):  # inputs that make the spiral easier
            page.check(f"[data-feature='{box}']")
            page.wait_for_timeout(150)
        page.locator("#batch_size").fill("30")
        page.wait_for_timeout(150)
        page.select_option("#activation", "tanh")
        page.select_option("#optimizer", "adam")
        page.wait_for_timeout(200)
        page.select_option("#learning_rate", "0.03")
        page.wait_for_timeout(200)
        while page.locator(".column").count() - 2 < 2:
            page.click("#add_layer")
            page.wait_for_timeout(200)
        while page.locator(".column").count() - 2 > 2:
            page.click("#remove_layer")
            page.wait_for_timeout(200)
        for layer in (0, 1):
            while int(page.locator(".column").nth(layer + 1).locator("canvas").count()) < 8:
                page.locator(".neuron-buttons").nth(layer).locator("button").first.click()
                page.wait_for_timeout(150)
        assert page.is_disabled(".neuron-buttons >> nth=0 >> button >> nth=0")  # 8 is the most
        assert page.is_hidden("#error")  # a valid change clears the message
        assert page.inner_text(".column >> nth=1 >> h3") == "Layer 1: 8"
        assert page.inner_text(".column >> nth=2 >> h3") == "Layer 2: 8"
        page.click("#run")
        deadline = time.monotonic() + 90
        loss = float("inf")
        while time.monotonic() < deadline and loss >= 0.1:
            page.wait_for_timeout(200)
            text = page.inner_text("#test_loss")
            loss = float(text) if text not in ("-", "NaN") else float("inf")
        page.click("#run")  # pause: the weights stop before the export
        page.wait_for_function("document.querySelector('#run').title === 'Run'")
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / "playground.png"))
        shown_accuracy = float(page.inner_text("#test_accuracy"))
        page.click("#export")
        page.wait_for_selector("#code_dialog[open]")
        code = page.inner_text("#code")
        assert "Dense(units=8, activation='tanh')" in code and "make_spiral" in code
        model_url = page.get_attribute("#download_model", "href")
        data_url = page.get_attribute("#download_data", "href")
        with urllib.request.urlopen(f"http://{address}{model_url}") as r:
            (tmp_path / "model.nnlearn").write_bytes(r.read())
        with urllib.request.urlopen(f"http://{address}{data_url}") as r:
            (tmp_path / "data.npz").write_bytes(r.read())
        # the ONNX file beside them, or what to install for it
        from nnlearn.playground.server import onnx_missing

        onnx_url = page.get_attribute("#download_onnx", "href")
        assert onnx_url.endswith("/model.onnx")
        if onnx_missing() is None:
            assert page.is_visible("#download_onnx") and page.is_hidden("#onnx_missing")
            with urllib.request.urlopen(f"http://{address}{onnx_url}") as r:
                (tmp_path / "model.onnx").write_bytes(r.read())
        else:
            assert page.is_hidden("#download_onnx")
            assert page.inner_text("#onnx_missing") == f"ONNX: {onnx_missing()}"
        browser.close()
    assert not errors, errors
    assert loss < 0.1, f"test loss still {loss} after 90 s"
    model = nl.load_model(tmp_path / "model.nnlearn")
    with np.load(tmp_path / "data.npz") as data:
        accuracy = model.evaluate(data["x_test"], data["y_test"], return_dict=True)["accuracy"]
        x_test = data["x_test"]
    assert accuracy == pytest.approx(shown_accuracy, abs=5e-4)  # the page shows 3 decimals
    if (tmp_path / "model.onnx").exists() and importlib.util.find_spec("onnxruntime"):
        import onnxruntime

        runner = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                              providers=["CPUExecutionProvider"])
        x = x_test.astype(model.dtype)
        (got,) = runner.run(None, {runner.get_inputs()[0].name: x})
        np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-6)
    assert (tmp_path / "playground.png").stat().st_size > 20_000
    if os.environ.get("NNLEARN_SCREENSHOT_DIR"):
        shutil.copy(tmp_path / "playground.png", os.environ["NNLEARN_SCREENSHOT_DIR"])


# -- who may connect: Host allowlist, token, session cap ---------------------------------------
def raw_request(address, path="/", host=None, headers=(), websocket=False):
    """(status code, body) of one request sent by hand, so that Host is what we say."""
    name, port = address.rsplit(":", 1)
    lines = [f"GET {path} HTTP/1.1", f"Host: {address if host is None else host}", *headers]
    if websocket:
        lines += ["Upgrade: websocket", "Connection: Upgrade",
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    else:
        lines.append("Connection: close")
    with socket.create_connection((name, int(port)), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if not websocket:
            while chunk := s.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def session_id(stack, address):
    """A connection (closed with ``stack``) and its session's id."""
    ws = stack.enter_context(websockets_sync.connect(f"ws://{address}/ws"))
    return ws, receive_until(ws, "session")["id"]


def test_dns_rebinding_is_refused_at_the_handshake_and_the_export():
    """A page on evil.example whose name is rebound to 127.0.0.1 sends Host and Origin
    evil.example:PORT; both match each other, but the Host is not this server's."""
    with running_server() as (address, _):
        port = address.rsplit(":", 1)[1]
        evil = f"evil.example:{port}"
        status, _ = raw_request(address, "/ws", host=evil, websocket=True,
                                headers=[f"Origin: http://{evil}"])
        assert status == 403
        status, _ = raw_request(address, "/ws", websocket=True,
                                headers=[f"Origin: http://{address}"])
        assert status == 101  # the same handshake with this server's own name
        with contextlib.ExitStack() as stack:
            ws, sid = session_id(stack, address)
            for path in (f"/export/{sid}/model.nnlearn", f"/export/{sid}/data.npz", "/",
                         "/health", "/static/app.js"):
                assert raw_request(address, path, host=evil)[0] == 403, path
                assert raw_request(address, path, host="evil.example")[0] == 403, path
            status, body = raw_request(address, f"/export/{sid}/model.nnlearn")
            assert status == 200 and body[:2] == b"PK"
            for allowed in (f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}",
                            "127.0.0.1"):
                assert raw_request(address, "/health", host=allowed)[0] == 200, allowed
            for refused in ("", "127.0.0.1.evil.example", "127.0.0.1:80:81", "[::1]x",
                            "localhost.", "0.0.0.0", "10.0.0.1"):
                assert raw_request(address, "/health", host=refused)[0] == 403, refused


def test_served_on_all_interfaces_ip_addresses_pass_and_names_do_not():
    with running_server(host="0.0.0.0") as (address, _):
        port = address.rsplit(":", 1)[1]
        for host, status in ((f"192.168.1.7:{port}", 200), (f"[fe80::1]:{port}", 200),
                             (f"evil.example:{port}", 403), (f"localhost:{port}", 200)):
            assert raw_request(address, "/health", host=host)[0] == status, host


def test_the_token_is_required_for_the_websocket_and_the_exports():
    from websockets.exceptions import InvalidStatus

    with running_server(token="s3cret-token") as (address, _):
        with pytest.raises(InvalidStatus, match="403"):
            websockets_sync.connect(f"ws://{address}/ws")
        with pytest.raises(InvalidStatus, match="403"):
            websockets_sync.connect(f"ws://{address}/ws?token=wrong")
        with websockets_sync.connect(f"ws://{address}/ws?token=s3cret-token") as ws:
            sid = receive_until(ws, "session")["id"]
            ws.send(json.dumps({"type": "export"}))
            export = receive_until(ws, "export")
            assert export["model_url"] == f"/export/{sid}/model.nnlearn?token=s3cret-token"
            assert raw_request(address, f"/export/{sid}/model.nnlearn")[0] == 403
            assert raw_request(address, f"/export/{sid}/model.nnlearn?token=nope")[0] == 403
            assert raw_request(address, export["model_url"])[0] == 200
            assert raw_request(address, "/")[0] == 200  # the page itself holds no secret


def test_serve_prints_a_token_url_when_not_on_loopback(monkeypatch, capsys):
    from nnlearn.playground import server

    launched = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: launched.update(app=app, **kw))
    server.serve(host="0.0.0.0", port=9999)
    out = capsys.readouterr().out
    token = launched["app"].state.playground.token
    assert token and len(token) >= 24 and f"http://127.0.0.1:9999/?token={token}" in out
    server.serve(host="127.0.0.1", port=9999)
    assert launched["app"].state.playground.token is None
    assert "?token=" not in capsys.readouterr().out


def test_sessions_are_capped_with_a_clear_refusal_and_freed_on_close():
    import gc

    with running_server(max_sessions=2) as (address, app), contextlib.ExitStack() as stack:
        playground = app.state.playground
        first, _ = session_id(stack, address)
        second, _ = session_id(stack, address)
        with websockets_sync.connect(f"ws://{address}/ws") as third:
            assert "already has 2 sessions open" in receive_until(third, "error")["message"]
        first.close()
        wait_for_sessions(address, 1)
        with websockets_sync.connect(f"ws://{address}/ws") as again:  # a place is free again
            receive_until(again, "session")
        second.close()
        for _ in range(10):  # open and close more tabs: none stays in memory
            # (a closed tab's session is freed by the server a moment after the close)
            wait_for_sessions(address, 0)
            with websockets_sync.connect(f"ws://{address}/ws") as ws:
                ws.send(json.dumps({"type": "step"}))
                receive_until(ws, "frame")
        deadline = time.monotonic() + 10
        while True:  # the sessions closed and, after a collection, none left in memory
            gc.collect()
            if not health(address)["sessions"] and not len(playground.live):
                break
            assert time.monotonic() < deadline, (health(address), len(playground.live))
            time.sleep(0.05)
            time.sleep(0.05)


def test_a_session_that_is_training_is_not_closed_as_idle():
    with running_server(idle_timeout=1.0) as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            receive_until(ws, "frame")
            ws.send(json.dumps({"type": "run"}))
            epochs = []
            deadline = time.monotonic() + 2.5  # two idle timeouts, five janitor rounds
            while time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=5))
                assert message["type"] != "error", message
                if message["type"] == "frame":
                    epochs.append(message["epoch"])
            assert len(epochs) > 5 and epochs == sorted(epochs)
            ws.send(json.dumps({"type": "pause"}))
            assert "idle" in receive_until(ws, "error", timeout=10)["message"]


def test_hostile_messages_get_one_line_errors_and_the_socket_stays_open():
    with running_server() as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            receive_until(ws, "frame")
            cases = [
                ('{"type": "settings", "settings": {"seed": ' + "9" * 5000 + "}}",
                 "malformed message"),
                (json.dumps({"type": "settings", "settings": {"seed": 10**40}}),
                 "seed must be in [0, 2147483647]; got an integer of 41 digits"),
                (json.dumps({"type": "settings", "settings": {"samples": 10**400}}),
                 "samples must be in"),
                (json.dumps({"type": "settings", "settings": {"hidden": [10**100]}}),
                 "1 to 8 neurons"),
                ('{"type": "settings", "settings": {"noise": Infinity}}', "must be a number"),
                ('{"type": "settings", "settings": {"dataset": ["circle"]}}',
                 "dataset must be one of"),
                ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
                (json.dumps({"type": "settings", "settings": {"x" * 5000: 1}}),
                 "unknown setting"),
            ]
            for text, expected in cases:
                ws.send(text)
                error = receive_until(ws, "error")
                assert expected in error["message"], (text[:40], error)
                assert "\n" not in error["message"] and len(error["message"]) < 300
            ws.send(json.dumps({"type": "step"}))
            assert receive_until(ws, "frame")["epoch"] == 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["circle", "relu", "L1", "x1", "sgd"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(sorted(nl.playground.session.DEFAULTS)) | st.text(max_size=4),
                      children, max_size=4),
    max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_any_json_settings_are_valid_or_a_settings_error(value):
    try:
        validate(value)
    except SettingsError as err:
        assert "\n" not in str(err) and len(str(err)) < 400


def test_levenberg_marquardt_only_on_regression_data():
    with pytest.raises(SettingsError, match="regression data set"):
        validate({"optimizer": "levenberg_marquardt", "dataset": "circle"})
    s = PlaygroundSession({"optimizer": "levenberg_marquardt", "dataset": "plane",
                                   "learning_rate": 1.0})
    before = s.train_metrics["loss"]
    s.train(3)
    assert s.train_metrics["loss"] < before


# -- issue 22: multiclass, losses, uploads, drawn points, edited weights -----------------------
@pytest.mark.parametrize("dataset", ["spiral_arms", "blobs"])
@pytest.mark.parametrize("classes", [3, 5])
def test_multiclass_data_trains_a_softmax_and_its_export_rebuilds_it(dataset, classes):
    session = PlaygroundSession({"dataset": dataset, "classes": classes, "hidden": [8, 8],
                                 "optimizer": "adam", "learning_rate": 0.03,
                                 "features": ["x1", "x2", "sin(x1)", "sin(x2)"]})
    assert session.model.layers[-1].units == classes
    assert session.loss_name == "sparse_categorical_crossentropy"
    assert set(np.unique(session.y_train)) == set(range(classes))
    first = session.test_metrics["loss"]
    session.train(5)
    assert session.test_metrics["loss"] < first
    frame = session.frame()
    json.dumps(frame, allow_nan=False)
    pixels = bytes.fromhex(frame["output_class"])
    assert len(pixels) == 50 * 50 and set(pixels) <= set(range(classes))
    assert np.asarray(frame["weights"][-1]).shape == (8, classes)
    message = session.data_message()
    assert message["classes"] == classes and len(message["class_names"]) == classes
    namespace = {}
    exec(compile(session.python_code(), "exported.py", "exec"), namespace)
    assert "from nnlearn.playground.data import make_" in session.python_code()
    for a, b in zip(namespace["model"].get_weights(), session.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_blobs_reach_high_accuracy():
    session = PlaygroundSession({"dataset": "blobs", "classes": 4, "optimizer": "adam",
                                 "learning_rate": 0.03})
    session.train(20)
    assert session.test_metrics["accuracy"] >= 0.9


@pytest.mark.parametrize("bad, message", [
    ({"classes": 6}, r"classes must be in \[2, 5\]"),
    ({"classes": 1}, "classes"),
    ({"loss": "hinge"}, "loss must be one of"),
    ({"loss": "mae"}, "loss mae does not fit classification"),
    ({"dataset": "plane", "loss": "crossentropy"}, "does not fit regression"),
    ({"dataset": "custom"}, "dataset custom needs points"),
])
def test_new_settings_are_checked(bad, message):
    with pytest.raises(SettingsError, match=message):
        validate(bad)


@pytest.mark.parametrize("settings, loss", [
    ({"dataset": "circle", "loss": "mse"}, "mse"),
    ({"dataset": "circle"}, "binary_crossentropy"),
    ({"dataset": "plane", "loss": "mae"}, "mae"),
    ({"dataset": "plane", "loss": "log_cosh"}, "log_cosh"),
])
def test_the_loss_is_chosen(settings, loss):
    session = PlaygroundSession(settings)
    assert session.loss_name == loss
    session.train(1)
    assert session.train_metrics["loss"] is not None


def test_squared_error_is_refused_for_more_than_two_classes():
    session = PlaygroundSession()
    with pytest.raises(SettingsError, match="loss mse fits two classes"):
        session.configure({"dataset": "blobs", "loss": "mse"})
    assert session.settings["dataset"] == "circle"  # unchanged


def three_class_csv(n=150, seed=0):
    from nnlearn.playground.data import make_blobs

    X, y = make_blobs(n, classes=3, noise=0.05, random_state=seed)
    rows = ["height,weight,note,species"]
    rows += [f"{a * 10 + 100:.3f},{b:.3f},x,{['ant', 'bee', 'cat'][int(c)]}"
             for (a, b), c in zip(X, y)]
    return "\n".join(rows) + "\n"


def test_an_uploaded_csv_becomes_the_data_and_the_export_reads_it(tmp_path):
    session = PlaygroundSession({"hidden": [8], "optimizer": "adam", "learning_rate": 0.03})
    session.upload(three_class_csv(), "height", "weight", "species")
    assert session.settings["dataset"] == "custom" and session.n_classes == 3
    assert session.data_message()["class_names"] == ["ant", "bee", "cat"]
    X = np.concatenate([session.X_train, session.X_test])
    assert X.min() >= -5 - 1e-9 and X.max() <= 5 + 1e-9   # scaled into the plane
    session.train(20)
    assert session.test_metrics["accuracy"] >= 0.9
    (tmp_path / "playground-data.npz").write_bytes(session.data_bytes())
    namespace = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(session.python_code().replace("epochs=20", "epochs=1"), "e.py", "exec"),
             namespace)
    finally:
        os.chdir(cwd)
    assert namespace["model"].layers[-1].units == 3
    # a numeric target with many values is a regression
    rows = ["a,b,t"] + [f"{i},{i % 7},{i * 0.37:.2f}" for i in range(40)]
    session.upload("\n".join(rows), "a", "b", "t")
    assert session.task == "regression" and session.loss_name == "mse"
    session.train(1)


@pytest.mark.parametrize("text, message", [
    ("\x00\x01PK\x03binary", "not a text CSV"),
    ("a,b,c\n" + "1,2,3\n" * 20_000, "too large"),
    ("a,b,c\n1,2,3\n1,2\n" + "1,2,3\n" * 10, "2 values for 3 columns"),
    ("a,b,c\n" + "1,2,0\n" * 20, "holds one class"),
    ("a,b,c\n" + "1,x,0\n" * 10 + "1,2,1\n" * 10, "feature column 'b' is not numeric"),
    ("a,b,c\n" + "1,2,0\n" * 3 + "2,1,1\n" * 3, "at least 10"),
    ("a,b,c\n" + "".join(f"{i},{i},{i % 7 if i % 2 else 'k' + str(i % 9)}\n"
                         for i in range(40)), "classes; at most 5"),
])
def test_malformed_uploads_are_refused_and_the_session_keeps_working(text, message):
    session = PlaygroundSession({"dataset": "xor"})
    with pytest.raises(SettingsError, match=message):
        session.upload(text, "a", "b", "c")
    assert session.settings["dataset"] == "xor" and session.custom is None
    with pytest.raises(SettingsError, match="no feature column 'zz'"):
        session.upload("a,b,c\n" + "1,2,0\n2,1,1\n" * 10, "zz", "b", "c")
    session.train(1)
    assert session.epoch == 1


def test_points_drawn_in_the_page_are_added_to_the_training_data():
    session = PlaygroundSession({"dataset": "blobs", "classes": 3})
    before = len(session.X_train) + len(session.X_test)
    session.add_point(1.5, -2.0, 2)
    assert session.settings["dataset"] == "custom" and session.n_classes == 3
    X = np.concatenate([session.X_train, session.X_test])
    y = np.concatenate([session.y_train, session.y_test])
    assert len(X) == before + 1 and ([1.5, -2.0] == X).all(axis=1).any()
    assert y[([1.5, -2.0] == X).all(axis=1)][0] == 2
    session.add_point(0, 0, 0)
    assert len(session.X_train) + len(session.X_test) == before + 2
    for bad, message in (((7, 0, 0), r"x must be in \[-6"), ((0, 0, 3), r"label must be in"),
                         ((0, None, 0), "y must be a number"), ((0, 0, 0.5), "whole number")):
        with pytest.raises(SettingsError, match=message):
            session.add_point(*bad)
    session.train(1)
    # back to a generated data set and the drawn points are kept for "custom"
    session.configure({**session.settings, "dataset": "circle"})
    session.configure({**session.settings, "dataset": "custom"})
    assert len(session.X_train) + len(session.X_test) == before + 2


def test_editing_a_weight_changes_the_output_and_training_goes_on():
    session = PlaygroundSession({"hidden": [3]})
    session.train(2)
    before = session.frame()["output"]
    session.set_weight(1, 0, 0, 7.5)
    frame = session.frame()
    assert frame["weights"][1][0][0] == 7.5 and frame["output"] != before
    assert len(frame["history"]["test_loss"]) == 2  # the epoch's loss is replaced
    for bad, message in (((2, 0, 0, 1.0), r"layer must be in \[0, 1\]"),
                         ((0, 2, 0, 1.0), r"row must be in \[0, 1\]"),
                         ((0, 0, 3, 1.0), r"column must be in \[0, 2\]"),
                         ((0, 0, 0, 1e9), "value must be in"),
                         ((0, 0, 0, "big"), "value must be a number")):
        with pytest.raises(SettingsError, match=message):
            session.set_weight(*bad)
    session.train(1)
    assert session.epoch == 3


def test_new_messages_over_the_socket():
    with running_server() as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            choices = receive_until(ws, "session")["choices"]
            assert "spiral_arms" in choices["datasets"] and choices["max_classes"] == 5
            receive_until(ws, "frame")
            ws.send(json.dumps({"type": "upload", "csv": three_class_csv(), "x1": "height",
                                "x2": "weight", "target": "species"}))
            data = receive_until(ws, "data")
            assert data["classes"] == 3 and data["settings"]["dataset"] == "custom"
            assert "output_class" in receive_until(ws, "frame")
            for message, expected in (
                    ({"type": "upload", "csv": "a,b\n1,2\n", "x1": "a", "x2": "b",
                      "target": "c"}, "no column 'c'"),
                    ({"type": "upload", "csv": 5}, "csv must be"),
                    ({"type": "add_point", "x": "left"}, "x must be a number"),
                    ({"type": "set_weight", "layer": 99, "row": 0, "column": 0,
                      "value": 1}, "layer must be in"),
            ):
                ws.send(json.dumps(message))
                error = receive_until(ws, "error")["message"]
                assert expected in error and "\n" not in error, (message, error)
            # a CSV of nearly 60 KB with many short lines (longer once JSON-escaped)
            rows = "a,b,c\n" + "".join(f"{i % 97},{i % 89},{i % 3}\n" for i in range(5900))
            ws.send(json.dumps({"type": "upload", "csv": rows[:60_000].rsplit("\n", 1)[0],
                                "x1": "a", "x2": "b", "target": "c"},
                               separators=(",", ":")))
            error = receive_until(ws, "error")["message"]
            assert "at most 2,000" in error, error  # read, and refused for its rows
            ws.send("x" * 70_000)
            assert "too large" in receive_until(ws, "error")["message"]
            ws.send(json.dumps({"type": "add_point", "x": 1, "y": 1, "label": 1}))
            drawn = receive_until(ws, "data")
            assert [1, 1, 1] in drawn["train"] + drawn["test"]
            receive_until(ws, "frame")
            ws.send(json.dumps({"type": "set_weight", "layer": 0, "row": 0, "column": 0,
                                "value": -2.5}))
            assert receive_until(ws, "frame")["weights"][0][0][0] == -2.5
            ws.send(json.dumps({"type": "step"}))
            assert receive_until(ws, "frame")["epoch"] == 1


def canvas_colours(page, selector="#output_map"):
    """The distinct colours of a canvas (sampled on a 30 x 30 grid)."""
    return page.evaluate("""(selector) => {
        const c = document.querySelector(selector), ctx = c.getContext('2d'), seen = new Set();
        for (let i = 0; i < 30; i++) for (let j = 0; j < 30; j++) {
            const [r, g, b] = ctx.getImageData(5 + j * (c.width - 10) / 29,
                                               5 + i * (c.height - 10) / 29, 1, 1).data;
            seen.add(`${r},${g},${b}`);
        }
        return [...seen];
    }""", selector)


@needs_chromium
def test_page_upload_url_discretize_and_weight_edit_in_chromium(tmp_path):
    sync_api = playwright_sync_api()
    shots = os.environ.get("NNLEARN_SCREENSHOT_DIR")
    with running_server() as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # a malformed upload: a clear message, and the session keeps working
        (tmp_path / "ragged.csv").write_text("a,b,c\n1,2,3\n1,2\n" + "1,2,3\n" * 10)
        (tmp_path / "big.csv").write_text("a,b,c\n" + "1,2,3\n" * 20_000)
        (tmp_path / "three.csv").write_text(three_class_csv(300))
        page.goto(f"http://{address}/")
        page.wait_for_selector("#datasets button[data-name=spiral]")
        page.click("#your_data summary")
        page.set_input_files("#csv_file", str(tmp_path / "big.csv"))
        page.wait_for_selector("#error:not([hidden])")
        assert "too large" in page.inner_text("#error")
        page.set_input_files("#csv_file", str(tmp_path / "ragged.csv"))
        page.wait_for_selector("#csv_columns:not([hidden])")
        page.click("#csv_use")
        page.wait_for_function("document.querySelector('#error').textContent"
                               ".includes('2 values for 3 columns')")
        # a three-class CSV: train to >= 0.9 test accuracy, three colours on the map
        page.set_input_files("#csv_file", str(tmp_path / "three.csv"))
        page.wait_for_function("document.querySelector('#csv_target').value === 'species'")
        page.select_option("#csv_x1", "height")
        page.select_option("#csv_x2", "weight")
        page.click("#csv_use")
        page.wait_for_function("document.querySelectorAll('.class-node').length === 3")
        assert page.is_hidden("#error")
        assert page.inner_text("#legend").split() == ["ant", "bee", "cat"]
        page.select_option("#optimizer", "adam")
        page.wait_for_timeout(200)
        page.click("#run")
        page.wait_for_function("Number(document.querySelector('#test_accuracy').textContent)"
                               " >= 0.9", timeout=30_000)
        page.click("#run")
        page.wait_for_function("document.querySelector('#run').title === 'Run'")
        page.wait_for_timeout(300)
        page.uncheck("#show_train")
        page.check("#discretize")
        page.wait_for_timeout(100)
        colours = canvas_colours(page)
        assert len(colours) == 3, colours  # discretized: exactly the three class colours
        if shots:
            page.screenshot(path=os.path.join(shots, "upload_900.png"), full_page=True)
        # every panel visible at 900 px: nothing wider than the window
        assert page.evaluate("document.documentElement.scrollWidth") <= 900
        for selector in ("section.data", "section.network", "section.output", "#output_map"):
            box = page.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 900, selector
        # the URL holds the settings: a new page with it trains to the same loss
        page.click("#datasets button[data-name=blobs]")
        page.wait_for_function("document.querySelector('#datasets .selected')?.dataset.name"
                               " === 'blobs'")
        page.select_option("#classes", "4")
        page.wait_for_function("location.search.includes('classes=4')")
        url = page.url
        assert "dataset=blobs" in url and "discretize=1" in url

        def loss_after_100_epochs(tab):
            tab.evaluate("for (let i = 0; i < 100; i++) send('step')")
            tab.wait_for_function("document.querySelector('#epoch').textContent === '000100'",
                                  timeout=60_000)
            tab.wait_for_timeout(200)
            return tab.inner_text("#test_loss")

        first = loss_after_100_epochs(page)
        other = browser.new_page(viewport={"width": 1280, "height": 800})
        other.on("pageerror", lambda e: errors.append(str(e)))
        other.goto(url)
        other.wait_for_function("document.querySelectorAll('.class-node').length === 4")
        assert other.is_checked("#discretize") and other.input_value("#classes") == "4"
        assert loss_after_100_epochs(other) == first
        # hover a weight for its value, click it to edit: the output map changes
        other.uncheck("#discretize")
        before = other.evaluate("document.querySelector('#output_map').toDataURL()")
        weight = other.locator("#links path.weight").first
        weight.hover(force=True)
        assert other.inner_text("#weight_tip").startswith("weight ")
        weight.click(force=True)   # an inline field opens where the weight was clicked
        other.fill("#weight_value", "-40")
        other.press("#weight_value", "Enter")
        other.wait_for_function("state.frame.weights[0][0][0] === -40")
        other.wait_for_timeout(200)
        assert other.evaluate("document.querySelector('#output_map').toDataURL()") != before
        # hovering a neuron draws its map over the output
        other.locator(".column >> nth=1 >> canvas >> nth=0").hover()
        hovered = other.evaluate("document.querySelector('#output_map').toDataURL()")
        other.mouse.move(5, 5)
        other.wait_for_timeout(100)
        assert hovered != other.evaluate("document.querySelector('#output_map').toDataURL()")
        # draw a point: it joins the data
        count = other.evaluate("state.data.train.length + state.data.test.length")
        other.click("#your_data summary")
        other.check("#draw_mode")
        other.locator("#output_map").click(position={"x": 150, "y": 150})
        other.wait_for_function(f"state.data.train.length + state.data.test.length === "
                                f"{count + 1}")
        browser.close()
    assert not errors, errors


def test_a_classroom_caps_the_tabs_of_each_computer():
    with running_server(max_per_client=2) as (address, app), contextlib.ExitStack() as stack:
        first, _ = session_id(stack, address)
        session_id(stack, address)
        with websockets_sync.connect(f"ws://{address}/ws") as third:
            message = receive_until(third, "error")["message"]
            assert "this computer already has 2 playground tabs open" in message
        first.close()
        deadline = time.monotonic() + 10
        while health(address)["sessions"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with websockets_sync.connect(f"ws://{address}/ws") as again:  # its place is free
            receive_until(again, "session")


def test_the_classroom_launch_prints_the_link_and_the_address_to_project(monkeypatch, capsys):
    import uvicorn as real_uvicorn

    from nnlearn.playground import server

    launched = {}
    monkeypatch.setattr(real_uvicorn, "run", lambda app, **kw: launched.update(app=app, **kw))
    server.serve(classroom=True, max_per_client=3)
    out = capsys.readouterr().out
    assert launched["host"] == "0.0.0.0"
    playground = launched["app"].state.playground
    assert playground.max_per_client == 3 and playground.token and len(playground.token) == 8
    assert f"?token={playground.token}" in out and "Project this for the students" in out
    assert "At most 3 tabs per computer" in out


def test_the_address_to_project_is_the_routed_interface_not_the_loopback(monkeypatch):
    """Debian's /etc/hosts maps the machine's name to 127.0.1.1: the routing table's
    interface comes first, then the resolved name, then the bare name."""
    import socket

    from nnlearn.playground import server

    monkeypatch.setattr(socket, "gethostname", lambda: "classroom-pc")
    cases = [("10.0.0.5", "127.0.1.1", "10.0.0.5"), (None, "192.168.1.20", "192.168.1.20"),
             (None, "127.0.1.1", "classroom-pc"), (None, None, "classroom-pc")]
    for routed, resolved, expected in cases:
        monkeypatch.setattr(server, "_routed_address", lambda routed=routed: routed)
        monkeypatch.setattr(server, "_resolved_name", lambda resolved=resolved: resolved)
        assert server.classroom_address("0.0.0.0") == expected, (routed, resolved)
    assert server.classroom_address("192.168.7.7") == "192.168.7.7"   # a named interface
    monkeypatch.undo()
    routed = server._routed_address()   # the real probe: an IPv4 address or no route
    assert routed is None or socket.inet_aton(routed)


def test_frames_name_the_points_of_the_last_mini_batch():
    s = PlaygroundSession({"batch_size": 7, "samples": 100, "train_ratio": 50})
    assert s.frame()["batch"] == []
    s.train(1)
    batch = s.frame()["batch"]
    # 50 training points in batches of 7: the last batch holds 50 - 7 * 7 = 1 point
    assert len(batch) == 1 and 0 <= batch[0] < len(s.x_train)
    s.configure({**s.settings, "batch_size": 10})
    s.train(2)
    batch = s.frame()["batch"]
    assert len(batch) == 10 and len(set(batch)) == 10 and max(batch) < len(s.x_train)
