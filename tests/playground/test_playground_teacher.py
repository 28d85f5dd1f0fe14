"""Issue 36, the server and session side: backpropagation step by step (checked against
the engine and against the chain rule worked by hand), per-layer activations and
learning-rate schedules, URL states (every bad parameter reported), and the teacher's
routes (403 without the teacher's token, challenges, the read-only view)."""

import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlearn import autograd as ag
from nnlearn import layers
from nnlearn.playground import PlaygroundSession, SettingsError, validate
from nnlearn.playground.session import DEFAULTS, parse_query, settings_from_url, url_of

from test_playground import receive_until, running_server

uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")


# -- backpropagation, step by step -------------------------------------------------------------
def engine_gradients(session, index):
    """dL/dW and dL/db of the point's loss, from the model's own training loss
    (Model.compute_loss, as fit differentiates it) and the engine's grad."""
    x = session.x_train[index:index + 1]
    y = session.y_train[index:index + 1]
    loss, _ = session.model.compute_loss(x, y, training=False)
    dense = [d for d in session.model.layers if isinstance(d, layers.Dense)]
    grads = ag.grad(loss, [p for d in dense for p in (d.kernel, d.bias)])
    return float(loss.data), grads[0::2], grads[1::2]


def test_the_steps_of_a_2_2_1_network_are_the_engines_and_the_chain_rules():
    session = PlaygroundSession({"dataset": "xor", "hidden": [2], "activation": "tanh",
                                 "features": ["x1", "x2"]})
    session.train(5)
    index = 7
    message = session.backprop(index)
    json.dumps(message, allow_nan=False)
    steps = message["steps"]
    # the order backpropagation computes them in
    assert [s["kind"] for s in steps] == (
        ["forward"] * 3 + ["loss"]
        + ["delta"] + ["weight", "weight", "bias"]                      # the output unit
        + ["delta", "delta"] + ["weight", "weight", "bias"] * 2)        # the hidden layer
    assert [(s["layer"], s["neuron"]) for s in steps if s["kind"] == "delta"] == \
        [(1, 0), (0, 0), (0, 1)]
    # against the engine: the gradients fit would use for this point
    loss, dW, db = engine_gradients(session, index)
    assert steps[3]["value"] == pytest.approx(loss, rel=1e-6)
    for s in steps:
        if s["kind"] == "weight":
            assert s["grad"] == pytest.approx(float(dW[s["layer"]][s["row"], s["column"]]),
                                              rel=1e-5, abs=1e-7), s
        if s["kind"] == "bias":
            assert s["grad"] == pytest.approx(float(db[s["layer"]][s["neuron"]]),
                                              rel=1e-5, abs=1e-7), s
    # against the chain rule by hand (the lessons' worked example), in float64
    W1, b1, W2, b2 = (np.float64(w) for w in session.model.get_weights())
    x = np.float64(session.x_train[index])
    y = float(session.y_train[index])
    z1 = x @ W1 + b1
    a1 = np.tanh(z1)
    z2 = a1 @ W2 + b2
    p = 1 / (1 + np.exp(-z2[0]))
    L = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    d2 = p - y                                   # sigmoid + cross-entropy: dL/dz = p - y
    da1 = W2[:, 0] * d2
    d1 = da1 * (1 - a1 ** 2)                     # tanh' = 1 - tanh^2
    forward = [s for s in steps if s["kind"] == "forward"]
    np.testing.assert_allclose([s["z"] for s in forward], [*z1, z2[0]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([s["a"] for s in forward], [*a1, p], rtol=1e-5, atol=1e-6)
    assert steps[3]["value"] == pytest.approx(L, rel=1e-5)
    deltas = [s for s in steps if s["kind"] == "delta"]
    assert deltas[0]["dL_da"] is None and deltas[0]["dL_dz"] == pytest.approx(d2, rel=1e-5)
    np.testing.assert_allclose([d["dL_da"] for d in deltas[1:]], da1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose([d["dL_dz"] for d in deltas[1:]], d1, rtol=1e-5, atol=1e-7)
    weights = {(s["layer"], s["row"], s["column"]): s for s in steps if s["kind"] == "weight"}
    for (i, j), expected in np.ndenumerate(np.outer(x, d1)):
        assert weights[0, i, j]["grad"] == pytest.approx(expected, rel=1e-5, abs=1e-7)
        assert weights[0, i, j]["input"] == pytest.approx(x[i], rel=1e-6)
    for i in range(2):
        assert weights[1, i, 0]["grad"] == pytest.approx(a1[i] * d2, rel=1e-5, abs=1e-7)
    assert message["point"] == pytest.approx(list(session.X_train[index]), rel=1e-6)


@pytest.mark.parametrize("settings", [
    {"dataset": "plane", "hidden": [3, 2], "loss": "mae"},                 # linear output
    {"dataset": "circle", "hidden": [3], "loss": "mse"},                   # sigmoid + mse
    {"dataset": "blobs", "classes": 4, "hidden": [4]},                    # softmax (fused)
    {"dataset": "xor", "hidden": [3, 2], "layer_activations": ["relu", "sigmoid"],
     "features": ["x1", "x2", "x1*x2"]},
])
def test_the_steps_match_the_engine_for_other_outputs_and_losses(settings):
    session = PlaygroundSession(settings)
    session.train(3)
    message = session.backprop(2)
    loss, dW, db = engine_gradients(session, 2)
    steps = message["steps"]
    assert next(s for s in steps if s["kind"] == "loss")["value"] == pytest.approx(loss,
                                                                                   rel=1e-5)
    got = {(s["layer"], s["row"], s["column"]): s["grad"] for s in steps
           if s["kind"] == "weight"}
    assert len(got) == sum(w.size for w in dW)
    for (layer, row, column), grad in got.items():
        assert grad == pytest.approx(float(dW[layer][row, column]), rel=1e-4, abs=1e-7)
    outputs = [s["a"] for s in steps if s["kind"] == "forward" and
               s["layer"] == len(dW) - 1]
    np.testing.assert_allclose(outputs, session.model.predict(session.x_train[2:3])[0],
                               rtol=1e-5, atol=1e-6)


def test_backprop_refuses_a_point_that_is_not_there():
    session = PlaygroundSession()
    for bad, message in ((len(session.x_train), "index must be in"), (-1, "index must be in"),
                         ("3", "index must be a number"), (1.5, "whole number")):
        with pytest.raises(SettingsError, match=message):
            session.backprop(bad)


# -- per-layer activations and schedules -------------------------------------------------------
def test_each_hidden_layer_has_its_own_activation_and_the_export_rebuilds_it():
    session = PlaygroundSession({"hidden": [3, 2], "layer_activations": ["relu", "sigmoid"],
                                 "schedule": "step"})
    dense = [d for d in session.model.layers if isinstance(d, layers.Dense)]
    assert [d.activation.__name__ for d in dense] == ["relu", "sigmoid", "sigmoid"]
    session.train(2)
    namespace = {}
    exec(compile(session.python_code(), "exported.py", "exec"), namespace)
    for a, b in zip(namespace["model"].get_weights(), session.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the same network as mlp builds when every layer has the same activation
    same = PlaygroundSession({"hidden": [3, 2], "layer_activations": ["tanh", "tanh"]})
    plain = PlaygroundSession({"hidden": [3, 2]})
    for a, b in zip(same.model.get_weights(), plain.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for bad, message in (({"hidden": [3, 2], "layer_activations": ["relu"]},
                          r"one activation per hidden layer \(2\)"),
                         ({"hidden": [3], "layer_activations": ["softmax"]},
                          "layer_activations must be among"),
                         ({"layer_activations": "relu"}, "layer_activations must list"),
                         ({"schedule": "warm"}, "schedule must be one of")):
        with pytest.raises(SettingsError, match=message):
            validate(bad)


def test_an_optimizer_without_schedules_refuses_one_and_a_failed_change_changes_nothing(
        monkeypatch):
    with pytest.raises(SettingsError, match="levenberg_marquardt takes no learning-rate "
                                            "schedule"):
        validate({"dataset": "plane", "optimizer": "levenberg_marquardt",
                  "schedule": "step"})
    session = PlaygroundSession({"dataset": "xor"})
    session.train(2)
    before = (session.settings, session.X_train, session.model, session.epoch)

    def broken():
        raise RuntimeError("a bug while building the network")

    monkeypatch.setattr(session, "reset", broken)
    with pytest.raises(RuntimeError):
        session.configure({**session.settings, "dataset": "spiral"})
    assert (session.settings, session.X_train, session.model, session.epoch) == before
    monkeypatch.undo()
    session.train(1)
    assert session.epoch == 3 and session.settings["dataset"] == "xor"


@pytest.mark.parametrize("schedule", ["step", "exponential", "inverse_time", "cosine"])
def test_a_schedule_lowers_the_rate_and_its_export_runs(schedule):
    session = PlaygroundSession({"dataset": "xor", "schedule": schedule, "samples": 100,
                                 "batch_size": 50})
    session.train(150)   # 150 epochs of one update (50 points, batch 50)
    rate = session.model.optimizer.current_learning_rate
    assert 0 < rate < session.settings["learning_rate"]
    namespace = {}
    exec(compile(session.python_code().replace("epochs=150", "epochs=150"), "e.py", "exec"),
         namespace)
    assert namespace["model"].optimizer.current_learning_rate == pytest.approx(rate)


# -- URL states ---------------------------------------------------------------------------------
def test_every_bad_url_parameter_is_reported_and_the_good_ones_applied():
    session = PlaygroundSession()
    errors = session.apply_url("?token=abc&dataset=xor&noise=abc&colour=red&hidden=4,x"
                               "&learning_rate=-3&activation=relu&seed=7&discretize=1"
                               "&features=x1,x2,x3&layer_activations=relu")
    assert errors == ["noise must be a number; got 'abc'",
                      "unknown setting 'colour' (in the address)",
                      "hidden must list whole numbers separated by commas; got '4,x'",
                      "unknown feature(s) 'x3'; choose from x1, x2, x1^2, x2^2, x1*x2, "
                      "sin(x1), sin(x2)",
                      "layer_activations must list one activation per hidden layer (2), or "
                      "none; got ['relu']",
                      "learning_rate must be in (0, 10]; got -3"]
    assert session.settings["dataset"] == "xor" and session.settings["activation"] == "relu"
    assert session.settings["seed"] == 7 and session.settings["learning_rate"] == 0.03
    # the address the page then writes holds only the settings in force
    settings, again = settings_from_url(url_of(session.settings))
    assert again == [] and settings == session.settings
    assert session.apply_url("dataset=custom") == [
        "dataset custom cannot come from an address: upload the file or draw the points"]
    with pytest.raises(SettingsError, match="too long"):
        parse_query("a=" + "1" * 5000)
    assert parse_query("hidden=&features=") == ({"hidden": [], "features": []}, [])


def test_a_url_that_changes_the_data_set_resets_a_loss_that_no_longer_fits():
    session = PlaygroundSession({"dataset": "plane", "loss": "mae"})
    assert session.apply_url("dataset=blobs&classes=4") == []
    assert session.settings["loss"] == "auto" and session.n_classes == 4
    assert session.apply_url("loss=mse") == ["loss mse fits two classes; with more, choose "
                                             "crossentropy"]
    assert session.settings["dataset"] == "blobs"


def test_class_probabilities_are_sent_for_smooth_multiclass_maps():
    session = PlaygroundSession({"dataset": "spiral_arms", "classes": 5})
    session.train(2)
    frame = session.frame()
    probs = np.array([np.frombuffer(bytes.fromhex(m), np.uint8) for m in
                      frame["output_probs"]], dtype=float)
    assert probs.shape == (5, 2500)
    np.testing.assert_allclose(probs.sum(axis=0), 255, atol=5)   # each pixel's sum is 1
    classes = np.frombuffer(bytes.fromhex(frame["output_class"]), np.uint8)
    assert (probs.argmax(axis=0) == classes).mean() > 0.95   # ties rounded apart


# -- the teacher's routes ---------------------------------------------------------------------
def status_of(url, data=None):
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_teachers_routes_need_the_teachers_token():
    from websockets.exceptions import InvalidStatus

    with running_server(token="students", teacher_token="teacher-secret") as (address, _):
        base = f"http://{address}"
        challenge = json.dumps({"query": "dataset=xor"}).encode()
        for token in ("", "?token=students", "?token=wrong", "?token=teacher-secre"):
            assert status_of(f"{base}/teacher{token}")[0] == 403, token
            assert status_of(f"{base}/teacher/sessions{token}")[0] == 403, token
            assert status_of(f"{base}/teacher/challenge{token}", challenge)[0] == 403, token
        with websockets_sync.connect(f"ws://{address}/ws?token=students") as student:
            sid = receive_until(student, "session")["id"]
            for token in ("students", "wrong"):
                with pytest.raises(InvalidStatus, match="403"):
                    websockets_sync.connect(f"ws://{address}/ws/watch?sid={sid}&token={token}")
            status, body = status_of(f"{base}/teacher?token=teacher-secret")
            assert status == 200 and b"teacher.js" in body
            receive_until(student, "frame")
            status, body = status_of(f"{base}/teacher/sessions?token=teacher-secret")
            view = json.loads(body)
            assert status == 200 and [s["id"] for s in view["sessions"]] == [sid]
    with running_server() as (address, _):   # no teacher's view without a teacher's token
        assert status_of(f"http://{address}/teacher?token=anything")[0] == 404
    with pytest.raises(ValueError, match="teacher_token must be"):
        from nnlearn.playground.server import create_app
        create_app(token="same-token", teacher_token="same-token")


def test_the_teachers_refresh_sends_a_thumbnail_only_when_it_changed(monkeypatch):
    """A frame is summarized once, however often the view refreshes; a thumbnail the
    page already has (its id and version in ``known``) is not sent again."""
    from nnlearn.playground import server

    summarized = []
    real = server._summary
    monkeypatch.setattr(server, "_summary", lambda frame: summarized.append(
        frame["epoch"]) or real(frame))
    with running_server(token="s", teacher_token="teacher-secret") as (address, _):
        url = f"http://{address}/teacher/sessions?token=teacher-secret"

        def view(known=None):
            status, body = status_of(url + (f"&known={known}" if known is not None else ""))
            assert status == 200
            return {row["id"]: row for row in json.loads(body)["sessions"]}

        with websockets_sync.connect(f"ws://{address}/ws?token=s") as a, \
                websockets_sync.connect(f"ws://{address}/ws?token=s") as b:
            sid_a, sid_b = (receive_until(ws, "session")["id"] for ws in (a, b))
            for ws in (a, b):
                receive_until(ws, "frame")
            first = view()
            assert set(first) == {sid_a, sid_b}
            assert all(row["thumbnail"]["data"] for row in first.values())
            assert sorted(summarized) == [0, 0]
            known = ",".join(f"{sid}.{row['version']}" for sid, row in first.items())
            again = view(known)
            assert all(row["thumbnail"] is None for row in again.values())
            assert [again[sid]["epoch"] for sid in (sid_a, sid_b)] == [0, 0]
            assert len(summarized) == 2   # not summarized again
            a.send(json.dumps({"type": "step"}))
            assert receive_until(a, "frame")["epoch"] == 1
            changed = view(known)
            assert changed[sid_a]["version"] > first[sid_a]["version"]
            assert changed[sid_a]["epoch"] == 1 and changed[sid_a]["thumbnail"]["data"]
            assert changed[sid_b]["thumbnail"] is None
            assert sorted(summarized) == [0, 0, 1]
            # what the page already has is read defensively: a malformed or stale entry,
            # or a parameter too long to be one, only means the thumbnail is sent (longer
            # than the server reads, 40 characters a session, but shorter than the HTTP
            # parser's own bound on a request, h11's 16 KiB: beyond that whether h11
            # answers 400 depends on how the request's bytes arrive)
            too_long = "a" * (40 * server.MAX_SESSIONS + 1)   # the default cap
            assert len(url) + len(too_long) < 8_000
            for bad in (f"{sid_b}.x", f"{sid_b}", f".{first[sid_b]['version']}",
                        f"{sid_b}.{first[sid_b]['version'] + 1}",
                        known + "," * 2000, too_long):
                assert view(bad)[sid_b]["thumbnail"]["data"], bad[:60]
    assert server._known_versions("a.1,b.2,c.3", 2) == {"a": 1, "b": 2}
    assert server._known_versions(None, 20) == {}


def test_a_challenge_reaches_every_tab_and_bad_ones_list_every_error():
    with running_server(token="s", teacher_token="teacher-secret") as (address, app):
        url = f"http://{address}/teacher/challenge?token=teacher-secret"
        status, body = status_of(url, json.dumps({"query": "dataset=moons&noise=x&hidden=9"})
                                 .encode())
        assert status == 400 and json.loads(body)["errors"] == [
            "noise must be a number; got 'x'",
            "dataset must be one of circle, xor, gaussian, spiral, plane, gaussian_regression, "
            "spiral_arms, blobs, custom; got 'moons'",
            "each hidden layer has 1 to 8 neurons; got 9"]
        assert status_of(url, b"[1]")[0] == 400
        status, body = status_of(url, json.dumps({"query": "token=s&discretize=1"}).encode())
        assert status == 400 and "names no setting" in json.loads(body)["errors"][0]
        assert status_of(url, json.dumps({"query": "a" * 20_000}).encode())[0] == 413
        with websockets_sync.connect(f"ws://{address}/ws?token=s") as a, \
                websockets_sync.connect(f"ws://{address}/ws?token=s") as b:
            sid_a = receive_until(a, "session")["id"]
            receive_until(b, "frame")
            a.send(json.dumps({"type": "name", "name": "Ada\u0007 Lovelace" + "x" * 60}))
            assert receive_until(a, "name")["name"] == "Ada Lovelace" + "x" * 28
            status, body = status_of(url, json.dumps(
                {"query": "http://x/?token=s&dataset=spiral&noise=10&hidden=6,4"
                 .split("?", 1)[1]}).encode())
            assert status == 200 and json.loads(body)["sent"] == 2
            for ws in (a, b):
                challenge = receive_until(ws, "challenge")
                assert challenge["query"] == "dataset=spiral&noise=10&hidden=6,4"
                data = receive_until(ws, "data")
                assert data["settings"]["dataset"] == "spiral" and \
                    data["settings"]["hidden"] == [6, 4]
                assert receive_until(ws, "frame")["epoch"] == 0   # a new network
            for ws in (a, b):
                ws.send(json.dumps({"type": "step"}))
                assert receive_until(ws, "frame")["epoch"] == 1
            # a challenge of default settings still says what it is
            status, body = status_of(url, json.dumps({"query": "dataset=circle"}).encode())
            assert status == 200 and json.loads(body)["challenge"]["query"] == \
                "dataset=circle"
            status, body = status_of(url, json.dumps(
                {"query": "dataset=spiral&noise=10&hidden=6,4"}).encode())
            assert json.loads(body)["challenge"]["query"] == \
                "dataset=spiral&noise=10&hidden=6,4"
            for ws in (a, b):
                assert receive_until(ws, "challenge")["number"] == 2
                assert receive_until(ws, "challenge")["number"] == 3
                assert receive_until(ws, "frame")["epoch"] == 0
                ws.send(json.dumps({"type": "step"}))
                assert receive_until(ws, "frame")["epoch"] == 1
            # a later tab starts on the challenge too
            with websockets_sync.connect(f"ws://{address}/ws?token=s") as c:
                assert receive_until(c, "challenge")["number"] == 3
                assert receive_until(c, "data")["settings"]["noise"] == 10
            status, body = status_of(f"http://{address}/teacher/sessions?token=teacher-secret")
            view = json.loads(body)
            assert view["challenge"]["number"] == 3
            board = view["leaderboard"]
            assert len(board) == 2 and board[0]["test_loss"] <= board[1]["test_loss"]
            names = {s["id"]: s["name"] for s in view["sessions"]}
            assert names[sid_a] == "Ada Lovelace" + "x" * 28
            # the read-only view: the tab's data and frame, nothing it sends changes it
            with websockets_sync.connect(
                    f"ws://{address}/ws/watch?sid={sid_a}&token=teacher-secret") as watch:
                assert receive_until(watch, "session")["watch"] is True
                assert receive_until(watch, "data")["settings"]["dataset"] == "spiral"
                epoch = receive_until(watch, "frame")["epoch"]
                watch.send(json.dumps({"type": "reset"}))
                assert "read-only" in receive_until(watch, "error")["message"]
                a.send(json.dumps({"type": "step"}))
                assert receive_until(a, "frame")["epoch"] == epoch + 1
                assert receive_until(watch, "frame")["epoch"] == epoch + 1


def test_the_classroom_launch_prints_the_teachers_link_and_trusts_no_proxy(monkeypatch,
                                                                          capsys):
    from nnlearn.playground import server

    launched = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: launched.update(app=app, **kw))
    server.serve(classroom=True, port=9000)
    out = capsys.readouterr().out
    playground = launched["app"].state.playground
    assert playground.teacher_token and playground.teacher_token != playground.token
    assert f"http://127.0.0.1:9000/teacher?token={playground.teacher_token}" in out
    assert launched["proxy_headers"] is False and "forwarded_allow_ips" not in launched
    server.serve(classroom=True, port=9000, trusted_proxy="10.1.2.3")
    assert launched["proxy_headers"] is True and launched["forwarded_allow_ips"] == "10.1.2.3"
    capsys.readouterr()
    server.serve(port=9000)   # on the loopback address: no teacher's view
    assert launched["app"].state.playground.teacher_token is None
    assert "/teacher" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="trusted_proxy must be IP addresses"):
        server.serve(classroom=True, trusted_proxy="my-proxy")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.lists(st.tuples(
    st.sampled_from(sorted(DEFAULTS) + ["token", "x", ""]),
    st.text(max_size=12) | st.sampled_from(["1e400", "nan", "-0", "4,2", "relu", "9" * 40])),
    max_size=12).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)))
def test_any_url_state_gives_settings_or_one_line_errors(query):
    settings, errors = settings_from_url(query)
    assert validate(settings) == settings
    assert len(errors) <= 13
    for error in errors:
        assert "\n" not in error and len(error) < 400


def test_a_diverged_network_steps_with_nan_as_none():
    session = PlaygroundSession({"dataset": "plane", "learning_rate": 10, "hidden": [8, 8],
                                 "activation": "relu", "batch_size": 1})
    session.train(3)
    message = session.backprop(0)
    json.dumps(message, allow_nan=False)
    assert any(s.get("grad", 0) is None or s.get("value", 0) is None
               for s in message["steps"])
