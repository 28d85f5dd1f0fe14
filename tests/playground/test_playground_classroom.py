"""The classroom server under hostile clients (issue 32, items 5-7): half-sent requests
time out, one address holds a bounded number of connections, a flood of slow requests
does not keep a new student out, X-Forwarded-For counts only from a trusted proxy, and
two uploads that used to end the session get an error reply."""

import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from test_playground import free_port, receive_until, running_server

uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")


def half_request(address, source="127.0.0.1", text=None, timeout=10):
    """A connection from ``source`` that sends the start of a request and no more."""
    name, port = address.rsplit(":", 1)
    s = socket.create_connection((name, int(port)), timeout=timeout,
                                 source_address=(source, 0))
    s.sendall((text or f"GET / HTTP/1.1\r\nHost: {address}\r\nX-Slow: ").encode())
    return s


def closed_by_server(s, timeout) -> bytes | None:
    """What the server sent before closing ``s`` (None: still open after ``timeout``)."""
    s.settimeout(timeout)
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return data


def test_a_half_sent_request_is_closed_after_the_request_timeout():
    with running_server(uvicorn_options={"request_timeout": 1.0}) as (address, _):
        headers = half_request(address)
        body = half_request(address, text=f"GET /health HTTP/1.1\r\nHost: {address}\r\n"
                                          "Content-Length: 1000\r\n\r\nabc")
        trickle = half_request(address)
        for _ in range(4):  # sending a byte now and then does not keep it open
            time.sleep(0.4)
            with contextlib.suppress(OSError):
                trickle.sendall(b"a")
        for s in (headers, trickle):
            assert closed_by_server(s, timeout=10) == b""  # closed, nothing answered
        assert closed_by_server(body, timeout=10) is not None
        # a complete request, and a second one on the same connection, are served
        name, port = address.rsplit(":", 1)
        with socket.create_connection((name, int(port)), timeout=10) as s:
            for _ in range(2):
                s.sendall(f"GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n".encode())
                reply = b""
                while not reply.endswith(b"}"):  # the head, then the JSON body
                    reply += s.recv(4096)
                assert reply.startswith(b"HTTP/1.1 200"), reply
        for s in (headers, body, trickle):
            s.close()


def test_one_address_holds_a_bounded_number_of_connections():
    with running_server(uvicorn_options={"max_connections_per_address": 3},
                        token="t0ken") as (address, app):
        held = [half_request(address, "127.0.0.2") for _ in range(3)]
        extra = half_request(address, "127.0.0.2")
        assert closed_by_server(extra, timeout=10).startswith(b"HTTP/1.1 503")
        # another address is served, with the page and a session
        with urllib.request.urlopen(f"http://{address}/", timeout=10) as response:
            assert response.status == 200
        with websockets_sync.connect(f"ws://{address}/ws?token=t0ken") as ws:
            receive_until(ws, "frame")
        # a closed connection frees its place (once the server has seen it close)
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:
            again = half_request(address, "127.0.0.2")
            if closed_by_server(again, timeout=0.5) is None:   # held open, not refused
                break
            again.close()
            assert time.monotonic() < deadline, "the closed connection's place stayed taken"
        for s in held + [extra, again]:
            s.close()


def test_the_guard_checks_its_arguments():
    from nnlearn.playground.server import ConnectionGuard, uvicorn_options

    for bad, message in (({"per_address": 0}, "per_address must be a positive integer"),
                         ({"per_address": True}, "per_address"),
                         ({"request_timeout": -1}, "request_timeout must be")):
        with pytest.raises(ValueError, match=message):
            ConnectionGuard(**bad)
    with pytest.raises(ValueError, match="trusted_proxy must be IP addresses; got 'proxy.lan'"
                       .replace("IP addresses;", r"IP addresses \(comma-separated\);")):
        uvicorn_options(trusted_proxy="proxy.lan")
    assert uvicorn_options()["proxy_headers"] is False
    options = uvicorn_options(trusted_proxy="10.0.0.1, [::1]")
    assert options["proxy_headers"] and options["forwarded_allow_ips"] == "10.0.0.1,::1"


FLOOD_SERVER = textwrap.dedent("""
    import resource, sys
    import uvicorn
    from nnlearn.playground.server import create_app, uvicorn_options

    # a small descriptor limit, so that a bounded flood would use it all up
    resource.setrlimit(resource.RLIMIT_NOFILE, (320, 320))
    port = int(sys.argv[1])
    app = create_app(host="127.0.0.1", token="class", max_per_client=2)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical",
                **uvicorn_options(max_connections_per_address=16, request_timeout=10))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="needs the whole 127.0.0.0/8 on loopback (Linux)")
def test_a_slow_request_flood_does_not_keep_a_new_student_out(tmp_path):
    """400 connections from eight loopback addresses each send half a request and wait,
    against a server limited to 320 descriptors (where 1,024 usually are): before the
    guard they held every descriptor and a new student's page never loaded."""
    script = tmp_path / "server.py"
    script.write_text(FLOOD_SERVER)
    port = free_port()
    address = f"127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, str(script), str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    flood = []
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        for i in range(400):
            with contextlib.suppress(OSError):
                flood.append(half_request(address, f"127.0.0.{2 + i % 8}", timeout=2))
        assert len(flood) >= 300
        time.sleep(1.0)  # the server has accepted (and refused) what it will
        # a new student: the page, its script and a session, each within 5 s
        with urllib.request.urlopen(f"http://{address}/?token=class", timeout=5) as r:
            assert r.status == 200 and b"app.js" in r.read()
        with urllib.request.urlopen(f"http://{address}/static/app.js", timeout=5) as r:
            assert r.status == 200
        with websockets_sync.connect(f"ws://{address}/ws?token=class", open_timeout=5) as ws:
            receive_until(ws, "frame", timeout=5)
        still_open = sum(closed_by_server(s, timeout=0.01) is None for s in flood)
        assert still_open <= 8 * 16, still_open  # the cap per address held
        assert server.poll() is None
    finally:
        for s in flood:
            s.close()
        server.kill()
        server.wait(10)


def test_x_forwarded_for_counts_only_from_a_trusted_proxy():
    """The per-computer cap (2 tabs) counts the socket's address: tabs claiming other
    addresses in X-Forwarded-For are the same computer, unless the server was told the
    connection comes from a trusted proxy."""
    def tab(address, claimed):
        ws = stack.enter_context(websockets_sync.connect(
            f"ws://{address}/ws?token=t", additional_headers={"X-Forwarded-For": claimed}))
        while True:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] in ("frame", "error"):
                return ws, message

    with running_server(token="t", max_per_client=2) as (address, _), \
            contextlib.ExitStack() as stack:
        for claimed in ("10.0.0.1", "10.0.0.2"):
            ws, message = tab(address, claimed)
            assert message["type"] == "frame"
        ws, message = tab(address, "10.0.0.3")
        assert message["type"] == "error" and "this computer already has 2" in \
            message["message"]
    with running_server(uvicorn_options={"trusted_proxy": "127.0.0.1"}, token="t",
                        max_per_client=2) as (address, app), contextlib.ExitStack() as stack:
        for claimed in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"):
            ws, message = tab(address, claimed)
            assert message["type"] == "frame", (claimed, message)
        ws, message = tab(address, "10.0.0.1")  # that computer's third tab
        assert message["type"] == "error" and "this computer already has 2" in \
            message["message"]
        assert sorted(app.state.playground.clients.values()) == \
            ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"]


@pytest.mark.parametrize("csv, expected", [
    ("a,b,c\n" + "1,2,0\n2,1,1\n" * 6 + "1,\ud800,1\n", "lone UTF-16 surrogate"),
    ("a,b,c\n" + "".join(f"{(-1) ** i * 1e308},{i},{i % 2}\n" for i in range(20)), None),
])
def test_uploads_that_used_to_end_the_session_get_a_reply(csv, expected):
    with running_server() as (address, _):
        with websockets_sync.connect(f"ws://{address}/ws") as ws:
            receive_until(ws, "frame")
            # json.dumps writes a lone surrogate as \\ud800, as a page's JSON.stringify does
            ws.send(json.dumps({"type": "upload", "csv": csv, "x1": "a", "x2": "b",
                                "target": "c", "name": "points.csv"}))
            if expected:
                error = receive_until(ws, "error")["message"]
                assert error.startswith("'points.csv' is not valid text") and expected in error
            else:
                data = receive_until(ws, "data")
                points = [p[:2] for p in data["train"] + data["test"]]
                assert all(-5 <= v <= 5 for p in points for v in p)
                assert data["axes"][0] == {"name": "a", "low": -1e308, "high": 1e308}
                receive_until(ws, "frame")  # the new network's
            ws.send(json.dumps({"type": "step"}))
            frame = receive_until(ws, "frame")
            assert frame["epoch"] == 1 and frame["test"]["loss"] is not None
