"""The playground's ONNX export (issue 34): ``GET /export/{session}/model.onnx`` gives the
tab's network as an ONNX graph whose outputs, run by onnxruntime on the points' features,
equal the session model's predictions; without the ``onnx`` extra the route answers 501
saying what to install, and the page offers the file beside the code and the model file."""

import io
import json
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from test_playground import receive_until, running_server

pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def tab(address, token="t0ken-for-tests"):
    return websockets_sync.connect(f"ws://{address}/ws?token={token}")


def trained(ws, settings, epochs=5):
    """The tab ``ws`` with ``settings`` trained ``epochs`` epochs: its export message."""
    receive_until(ws, "frame")
    ws.send(json.dumps({"type": "settings", "settings": settings}))
    receive_until(ws, "frame")
    for _ in range(epochs):
        ws.send(json.dumps({"type": "step"}))
    while receive_until(ws, "frame")["epoch"] < epochs:
        pass
    ws.send(json.dumps({"type": "export"}))
    return receive_until(ws, "export")


SETTINGS = [
    {"dataset": "spiral", "hidden": [6, 4], "activation": "tanh",
     "features": ["x1", "x2", "sin(x1)", "x1*x2"], "dropout": 0.2, "optimizer": "adam"},
    {"dataset": "spiral_arms", "classes": 4, "hidden": [5], "activation": "relu",
     "optimizer": "adam"},
    {"dataset": "plane", "hidden": [3, 3], "activation": "sigmoid", "features": ["x1", "x2",
                                                                               "x1^2"]},
    {"dataset": "xor", "hidden": [4, 3], "layer_activations": ["relu", "tanh"],
     "regularization": "L2", "regularization_rate": 0.01},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s["dataset"])
def test_the_onnx_download_predicts_what_the_session_predicts(settings):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("nnlearn.interop.onnx")
    with running_server(token="t0ken-for-tests") as (address, app):
        with tab(address) as ws:
            export = trained(ws, settings)
            assert export["onnx_missing"] is None
            assert export["onnx_url"].endswith("/model.onnx?token=t0ken-for-tests")
            assert get(f"http://{address}{export['onnx_url'].split('?')[0]}")[0] == 403
            status, headers, body = get(f"http://{address}{export['onnx_url']}")
            assert status == 200, body[:300]
            assert 'filename="playground.onnx"' in headers["content-disposition"]
            proto = onnx.load_model_from_string(body)
            onnx.checker.check_model(proto)
            metadata = json.loads({p.key: p.value for p in proto.metadata_props}
                                  ["nnlearn.metadata"])
            assert metadata["features"] == app.state.playground.sessions[
                export["model_url"].split("/")[2]][0].settings["features"]
            session = app.state.playground.sessions[export["model_url"].split("/")[2]][0]
            assert session.epoch == 5
            runner = ort.InferenceSession(body, providers=["CPUExecutionProvider"])
            for x in (session.x_train, session.x_test, session.output_grid):
                x = np.ascontiguousarray(x, dtype=session.model.dtype)
                (got,) = runner.run(None, {runner.get_inputs()[0].name: x})
                expected = session.model.predict(x)
                assert got.shape == expected.shape
                tolerance = 1e-5 if expected.dtype == np.float32 else 1e-10
                np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
            # the model file of the same tab predicts the same (one network, two files),
            # saved under the name the exported code loads
            import nnlearn as nl
            status, headers, body = get(f"http://{address}{export['model_url']}")
            assert 'filename="playground.nnlearn"' in headers["content-disposition"]
            assert "nl.load_model('playground.nnlearn')" in export["code"]
            assert 'filename="playground-data.npz"' in get(
                f"http://{address}{export['data_url']}")[1]["content-disposition"]
            model = nl.load_model(io.BytesIO(body))
            np.testing.assert_allclose(model.predict(session.x_test),
                                       session.model.predict(session.x_test))


def test_without_onnx_the_route_says_what_to_install(monkeypatch):
    import importlib.util

    if importlib.util.find_spec("nnlearn.interop") is None:
        pytest.skip("this nnlearn has no nnlearn.interop.onnx (the ONNX export)")
    for name in [m for m in sys.modules if m == "onnx" or m.startswith("onnx.")
                 or m == "nnlearn.interop.onnx"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)   # import onnx: ModuleNotFoundError
    from nnlearn.playground import server

    assert "pip install \"nnlearn[onnx]\"" in server.onnx_missing()
    with running_server(token="t0ken-for-tests") as (address, _):
        with tab(address) as ws:
            export = trained(ws, {"dataset": "xor"}, epochs=1)
            assert "pip install \"nnlearn[onnx]\"" in export["onnx_missing"]
            status, _, body = get(f"http://{address}{export['onnx_url']}")
            assert status == 501
            text = body.decode()
            assert "needs the onnx package" in text and "nnlearn[onnx]" in text, text
            # the other downloads do not need it
            assert get(f"http://{address}{export['model_url']}")[0] == 200


def test_a_network_onnx_cannot_express_gets_a_clear_refusal(monkeypatch):
    from nnlearn.playground.session import PlaygroundSession

    def refuse(self):
        raise NotImplementedError("activation 'made_up' has no ONNX form")

    monkeypatch.setattr(PlaygroundSession, "onnx_bytes", refuse)
    with running_server(token="t0ken-for-tests") as (address, _):
        with tab(address) as ws:
            export = trained(ws, {"dataset": "xor"}, epochs=1)
            status, _, body = get(f"http://{address}{export['onnx_url']}")
            assert status == 422 and b"cannot be written as ONNX" in body and \
                b"made_up" in body
            ws.send(json.dumps({"type": "step"}))   # the session goes on
            assert receive_until(ws, "frame")["epoch"] == 2


def every_hidden_activation():
    from nnlearn.playground.session import HIDDEN_ACTIVATIONS

    return HIDDEN_ACTIVATIONS


@pytest.mark.parametrize("activation", every_hidden_activation())
def test_every_activation_of_the_page_exports_to_the_same_predictions(activation):
    """Each activation the page offers, on a two-class, a five-class and a regression
    set: onnxruntime's outputs on the whole output map equal the session's predictions."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("nnlearn.interop.onnx")
    from nnlearn.playground import PlaygroundSession

    for dataset in ("xor", "blobs", "plane"):
        session = PlaygroundSession({"dataset": dataset, "classes": 5, "samples": 100,
                                     "activation": activation, "hidden": [3, 2],
                                     "learning_rate": 0.001,
                                     "features": ["x1", "x2", "sin(x2)"]})
        if activation != "exponential":  # exp of exp overflows within an epoch or two
            session.train(2)
        runner = ort.InferenceSession(session.onnx_bytes(),
                                      providers=["CPUExecutionProvider"])
        x = np.ascontiguousarray(session.output_grid, dtype=session.model.dtype)
        (got,) = runner.run(None, {runner.get_inputs()[0].name: x})
        with np.errstate(all="ignore"):   # exp overflowing at the map's corners
            expected = session.model.predict(x)
        assert got.shape == expected.shape == (len(x), 5 if dataset == "blobs" else 1)
        # compared where nnlearn's output is finite (exp overflows at the map's corners,
        # where the two give NaN in different places): nearly everywhere
        finite = np.isfinite(expected).all(axis=1)
        assert finite.mean() > 0.5, (activation, dataset)
        # exp of exp magnifies the two libraries' last-bit differences of exp and of the
        # products: an output of -0.01 on the plane set differed by 1.1e-6 (onnxruntime
        # against OpenBLAS's Haswell kernels on an AMD EPYC)
        atol = 1e-5 if activation == "exponential" else 1e-6
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-5, atol=atol,
                                   err_msg=f"{activation} on {dataset}")
