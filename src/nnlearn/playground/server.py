"""The playground's web server: Starlette (ASGI) served by uvicorn.

- ``GET /`` the page, ``/static/...`` its script and style (shipped in the package).
- ``WS /ws`` one training session per connection.  The page sends JSON messages
  ``{"type": "settings", "settings": {...}}``, ``run``, ``pause``, ``step``, ``reset``,
  ``regenerate``, ``export``; the server answers ``data``, ``frame`` (streamed while
  running, at most ``frame_rate`` a second), ``export`` and ``error`` messages.  A bad
  message gets an ``error`` reply and the session goes on.
- ``GET /export/{session}/model.nnlearn`` and ``.../data.npz``: the trained model file
  and the session's points.

Training runs in a worker thread (NumPy releases the GIL), one step at a time per
session, so the event loop keeps serving other tabs.  A closed tab ends its session; a
session with no message for ``idle_timeout`` seconds is closed by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from .session import PlaygroundSession, SettingsError, choices

STATIC = Path(__file__).with_name("static")
MAX_MESSAGE = 64 * 1024
FRAME_BUDGET = 0.05      # seconds of training per frame, at most


class Playground:
    """The sessions of one server and the loop that streams their frames."""

    def __init__(self, frame_rate: float = 20.0, idle_timeout: float = 1800.0):
        self.frame_rate, self.idle_timeout = frame_rate, idle_timeout
        self.sessions: dict = {}

    # -- one connection ---------------------------------------------------------------------
    async def websocket(self, ws: WebSocket) -> None:
        if not _same_origin(ws):
            await ws.close(code=1008, reason="cross-origin connection refused")
            return
        await ws.accept()
        sid = secrets.token_urlsafe(12)
        state = {"running": False, "lock": asyncio.Lock(), "ws": ws}
        try:
            session = await asyncio.to_thread(PlaygroundSession)
        except Exception as err:  # pragma: no cover - defaults are valid
            await ws.close(code=1011, reason=str(err)[:100])
            return
        self.sessions[sid] = (session, state)
        streamer = asyncio.create_task(self._stream(sid, session, state))
        try:
            await ws.send_json({"type": "session", "id": sid, "choices": choices()})
            await self._send(ws, await self._locked(state, session.data_message))
            await self._send(ws, await self._locked(state, session.frame))
            while True:
                received = await ws.receive()
                if received["type"] == "websocket.disconnect":
                    break
                session.last_active = time.monotonic()
                text = received.get("text")
                reply = ([_error("binary messages are not understood; send JSON text")]
                         if text is None else await self._handle(text, session, state, sid))
                for message in reply:
                    await self._send(ws, message)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the tab closed (or the janitor closed an idle session)
        finally:
            state["running"] = False
            streamer.cancel()
            self.sessions.pop(sid, None)

    async def _handle(self, text: str, session, state, sid) -> list:
        """The replies to one message; never raises for a bad message."""
        if len(text) > MAX_MESSAGE:
            return [_error(f"message too large ({len(text)} bytes; at most {MAX_MESSAGE})")]
        try:
            message = json.loads(text)
        except json.JSONDecodeError as err:
            return [_error(f"malformed message (not JSON: {err.msg})")]
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return [_error("malformed message: expected an object with a \"type\"")]
        kind = message["type"]
        try:
            if kind == "settings":
                await self._locked(state, session.configure, message.get("settings"))
                return [await self._locked(state, session.data_message),
                        await self._locked(state, session.frame)]
            if kind == "run":
                state["running"] = True
                return [{"type": "status", "running": True}]
            if kind == "pause":
                state["running"] = False  # the step in progress ends before the frame
                return [{"type": "status", "running": False},
                        await self._locked(state, session.frame)]
            if kind == "step":
                state["running"] = False
                await self._locked(state, session.train, 1)
                return [{"type": "status", "running": False},
                        await self._locked(state, session.frame)]
            if kind == "reset":
                state["running"] = False
                await self._locked(state, session.reset)
                return [{"type": "status", "running": False},
                        await self._locked(state, session.frame)]
            if kind == "regenerate":
                await self._locked(state, session.regenerate)
                return [await self._locked(state, session.data_message),
                        await self._locked(state, session.frame)]
            if kind == "export":
                code = await self._locked(state, session.python_code)
                return [{"type": "export", "code": code, "epoch": session.epoch,
                         "test": session.test_metrics,
                         "model_url": f"/export/{sid}/model.nnlearn",
                         "data_url": f"/export/{sid}/data.npz"}]
            if kind == "ping":
                return [{"type": "pong"}]
        except SettingsError as err:
            return [_error(str(err))]
        return [_error(f"unknown message type {kind!r}")]

    async def _stream(self, sid, session, state) -> None:
        """While running: train for up to FRAME_BUDGET seconds, send a frame, wait for
        the next frame time."""
        ws, period = state["ws"], 1.0 / self.frame_rate
        epochs = 1
        while True:
            start = time.monotonic()
            if state["running"]:
                async with state["lock"]:
                    if state["running"]:
                        began = time.monotonic()
                        await asyncio.to_thread(session.train, epochs)
                        spent = time.monotonic() - began
                        # adapt the epochs per frame to the budget
                        epochs = max(1, min(epochs * 2,
                                            int(epochs * FRAME_BUDGET / max(spent, 1e-4))))
                        frame = await asyncio.to_thread(session.frame)
                        try:
                            await self._send(ws, frame)
                        except Exception:
                            return
            await asyncio.sleep(max(0.0, period - (time.monotonic() - start)))

    @staticmethod
    async def _locked(state, function, *args):
        async with state["lock"]:
            return await asyncio.to_thread(function, *args)

    @staticmethod
    async def _send(ws, message) -> None:
        await ws.send_text(json.dumps(message, allow_nan=False))

    async def janitor(self) -> None:
        """Close sessions idle for longer than ``idle_timeout``."""
        while True:
            await asyncio.sleep(min(30.0, self.idle_timeout / 2))
            now = time.monotonic()
            for sid, (session, state) in list(self.sessions.items()):
                if now - session.last_active > self.idle_timeout:
                    state["running"] = False
                    self.sessions.pop(sid, None)
                    try:
                        await state["ws"].send_json({"type": "error", "message":
                                                     "session closed after being idle; "
                                                     "reload the page"})
                        await state["ws"].close(code=1001, reason="idle")
                    except Exception:
                        pass

    # -- downloads ----------------------------------------------------------------------------
    async def export(self, request) -> Response:
        sid, name = request.path_params["sid"], request.path_params["name"]
        entry = self.sessions.get(sid)
        if entry is None:
            return PlainTextResponse("no such session (it ended when its tab closed)",
                                     status_code=404)
        session, state = entry
        if name == "model.nnlearn":
            body = await self._locked(state, session.model_bytes)
        elif name == "data.npz":
            body = await self._locked(state, session.data_bytes)
        else:
            return PlainTextResponse(f"unknown export {name!r}", status_code=404)
        return Response(body, media_type="application/octet-stream",
                        headers={"Content-Disposition":
                                 f'attachment; filename="playground-{name}"'})


def _error(message: str) -> dict:
    return {"type": "error", "message": message}


def _same_origin(ws: WebSocket) -> bool:
    """Browsers send Origin with WebSocket handshakes: refuse pages of other sites
    (a web page elsewhere must not drive a local server)."""
    origin = ws.headers.get("origin")
    if origin is None:  # not a browser (a script or a test client)
        return True
    return urlsplit(origin).netloc == ws.headers.get("host")


def create_app(frame_rate: float = 20.0, idle_timeout: float = 1800.0) -> Starlette:
    """The ASGI application (``uvicorn.run(create_app())``)."""
    playground = Playground(frame_rate=frame_rate, idle_timeout=idle_timeout)

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def health(request):
        return JSONResponse({"sessions": len(playground.sessions)})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(playground.janitor())
        yield
        task.cancel()

    app = Starlette(routes=[
        Route("/", index), Route("/health", health),
        Route("/export/{sid}/{name}", playground.export),
        WebSocketRoute("/ws", playground.websocket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.playground = playground
    return app


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False,
          frame_rate: float = 20.0, idle_timeout: float = 1800.0) -> None:
    """Run the playground until interrupted."""
    import uvicorn

    url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}/"
    print(f"nnlearn playground: {url}  (Ctrl+C stops it)")
    if host in ("127.0.0.1", "localhost", "::1"):
        print("Only this computer can connect. --host 0.0.0.0 lets other machines in: "
              "anyone who can reach the port can then train on this computer's CPU, and "
              "there is no password.")
    else:
        print(f"Listening on {host}: other machines on the network can connect; there is "
              "no password.")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(frame_rate, idle_timeout), host=host, port=port,
                log_level="warning", ws_max_size=MAX_MESSAGE * 2)
