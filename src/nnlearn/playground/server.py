"""The playground's web server: Starlette (ASGI) served by uvicorn.

- ``GET /`` the page, ``/static/...`` its script and style (shipped in the package).
- ``WS /ws`` one training session per connection.  The page sends JSON messages
  ``{"type": "settings", "settings": {...}}`` (or ``"changes": {...}``, some settings on
  top of those in force), ``run``, ``pause``, ``step``, ``reset``,
  ``regenerate``, ``export``, ``upload`` (a CSV's text and its x1, x2 and target
  column names), ``add_point`` (x, y, label: a point drawn in the page) and
  ``set_weight`` (layer, row, column, value: one weight edited); the server answers
  ``data``, ``frame`` (streamed while running, at most ``frame_rate`` a second),
  ``export`` and ``error`` messages.  A bad
  message gets an ``error`` reply and the session goes on.  A message that carries a
  number ``seq`` gets it back on each of its replies (the page numbers its settings
  messages, to know when its last change has been answered).
- ``GET /export/{session}/model.nnlearn``, ``.../model.onnx`` and ``.../data.npz``: the
  trained model file, the network as an ONNX graph (501 with what to install when the
  ``onnx`` extra is missing) and the session's points.

Training runs in a worker thread (NumPy releases the GIL), one step at a time per
session, so the event loop keeps serving other tabs.  A closed tab ends its session (its
memory is released); a session that neither received a message nor trained nor streamed
for ``idle_timeout`` seconds is closed by the server; at most ``max_sessions`` are open at
once (the next tab is told so).

Who may connect: every request (page, exports, WebSocket) must name an allowed host in
its ``Host`` header (127.0.0.1, localhost, [::1] and the address served on; any IP
address when served on all interfaces), else 403: a web page elsewhere whose name is
rebound to this machine ("DNS rebinding") is refused, as Jupyter and TensorBoard do.  The
WebSocket also refuses other origins.  Served on anything but the loopback address, the
WebSocket and the exports need the per-launch token printed with the page's URL.

Slow or half-sent requests (issue 32): every connection must deliver each complete
request within ``request_timeout`` seconds of connecting or of its previous response, and
one address may hold at most ``max_connections_per_address`` connections at once (not
counted on a loopback-only server); a flood of half-sent requests therefore cannot use up
the server's file descriptors (see :class:`ConnectionGuard`).  ``X-Forwarded-For`` is
read only from a ``trusted_proxy`` named at launch; otherwise the per-computer tab cap
counts the socket's own address.

This module is long because it is one ASGI application: its routes (the page, the
training sessions' socket, the exports, the classroom and teacher views) share the
sessions and the classroom state held here.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import ipaddress
import json
import logging
import secrets
import socket
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

import numpy as np

from .session import (DATA_KEYS, URL_LIMIT, PlaygroundSession, SettingsError, choices,
                      parse_query, settings_from_url, url_of, validate)

STATIC = Path(__file__).with_name("static")
MAX_MESSAGE = 64 * 1024
MAX_UPLOAD_MESSAGE = 2 * MAX_MESSAGE  # an upload: a CSV of up to 60 KB, JSON-escaped
UPLOAD_PREFIX = '{"type":"upload"'    # how the page's JSON.stringify starts one
FRAME_BUDGET = 0.05      # seconds of training per frame, at most
MAX_SESSIONS = 20
LOOPBACK = ("127.0.0.1", "localhost", "::1")
REQUEST_TIMEOUT = 10.0          # seconds to send one whole request (headers and body)
MAX_CONNECTIONS_PER_ADDRESS = 16  # a browser opens about 6 per server, plus its tabs
# the files the exports are saved as: the names the exported code loads (a browser keeps
# the server's name over the page link's download attribute)
EXPORT_NAMES = {"model.nnlearn": "playground.nnlearn", "model.onnx": "playground.onnx",
                "data.npz": "playground-data.npz"}


class Playground:
    """The sessions of one server and the loop that streams their frames."""

    def __init__(self, frame_rate: float = 20.0, idle_timeout: float = 1800.0,
                 max_sessions: int = MAX_SESSIONS, token: str | None = None,
                 max_per_client: int | None = None, teacher_token: str | None = None):
        self.frame_rate, self.idle_timeout = frame_rate, idle_timeout
        self.max_sessions, self.token = max_sessions, token
        self.max_per_client = max_per_client  # sessions from one address (classroom)
        self.teacher_token = teacher_token    # the teacher's view (None: no teacher view)
        self.clients: dict = {}  # session id -> the client's address
        self.sessions: dict = {}
        self.live = weakref.WeakSet()  # every PlaygroundSession not yet freed (for tests)
        self.challenge = None    # the teacher's last challenge: settings, query, number
        self.joined = 0          # tabs opened so far (students are numbered by it)

    # -- one connection ---------------------------------------------------------------------
    async def websocket(self, ws: WebSocket) -> None:
        """One tab's connection: check origin and token, then receive the page's commands and
        stream its session's frames until it closes."""
        if not _same_origin(ws):
            await ws.close(code=1008, reason="cross-origin connection refused")
            return
        if not self._token_ok(ws.query_params.get("token")):
            await ws.close(code=1008, reason="a token is required")
            return
        await ws.accept()
        if len(self.sessions) >= self.max_sessions:
            await self._send(ws, _error(f"the playground already has {len(self.sessions)} "
                                        "sessions open (the most it serves); close another "
                                        "tab and reload this page"))
            await ws.close(code=1013, reason="too many sessions")
            return
        client = ws.client.host if ws.client else None
        if self.max_per_client and list(self.clients.values()).count(client) >= \
                self.max_per_client:
            tabs = f"{self.max_per_client} playground tab" + \
                ("s" if self.max_per_client != 1 else "")
            await self._send(ws, _error(f"this computer already has {tabs} open (the most "
                                        "per computer in a classroom); close one and "
                                        "reload this page"))
            await ws.close(code=1013, reason="too many sessions from this computer")
            return
        sid = secrets.token_urlsafe(12)
        self.clients[sid] = client
        # the session's work runs on a thread of its own, always the same one
        worker = ThreadPoolExecutor(1, thread_name_prefix="nnlearn-session")
        self.joined += 1
        state = {"running": False, "lock": asyncio.Lock(), "ws": ws, "worker": worker,
                 "watchers": set(), "number": self.joined, "name": "", "frame": None,
                 "last_data": None, "last_frame": None}
        challenge = self.challenge
        self.sessions[sid] = None  # reserved: the cap counts a session being created
        try:
            session = await self._in_worker(state, PlaygroundSession,
                                            challenge and challenge["settings"])
        except BaseException:
            self.sessions.pop(sid, None)
            self.clients.pop(sid, None)
            worker.shutdown(wait=False)
            raise
        self.live.add(session)
        self.sessions[sid] = (session, state)
        streamer = asyncio.create_task(self._stream(sid, session, state))
        try:
            await ws.send_json({"type": "session", "id": sid, "choices": choices(),
                                "number": state["number"],
                                "classroom": self.teacher_token is not None})
            if challenge:
                await self._deliver(state, _challenge_message(challenge))
            await self._deliver(state, await self._locked(state, session.data_message))
            await self._deliver(state, await self._locked(state, session.frame))
            while True:
                received = await ws.receive()
                if received["type"] == "websocket.disconnect":
                    break
                session.last_active = time.monotonic()
                text = received.get("text")
                reply = ([_error("binary messages are not understood; send JSON text")]
                         if text is None else await self._handle(text, session, state, sid))
                for message in reply:
                    await self._deliver(state, message)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the tab closed (or the janitor closed an idle session)
        finally:
            state["running"] = False
            streamer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await streamer
            self.sessions.pop(sid, None)
            self.clients.pop(sid, None)
            worker.shutdown(wait=False)
            for watcher in list(state.get("watchers", ())):
                with contextlib.suppress(Exception):
                    await watcher.close(code=1001, reason="the student's tab closed")
            state.clear()  # the socket, the lock: nothing keeps the session alive

    async def _deliver(self, state, message) -> None:
        """Send ``message`` to the tab, remember what the teacher's view needs (the last
        data and frame, a summary) and copy what the page draws to the tab's watchers
        (the teacher's read-only view of it)."""
        kind = message.get("type")
        text = json.dumps(message, allow_nan=False)
        if kind == "frame":  # kept as sent; summarized only when the teacher asks
            state["last_frame"], state["frame"] = text, message
            state["version"] = state.get("version", 0) + 1  # the teacher's page caches by it
        elif kind == "data":
            state["last_data"] = text
        await state["ws"].send_text(text)
        if kind in ("data", "frame", "challenge", "status") and state.get("watchers"):
            for watcher in list(state["watchers"]):
                try:
                    await watcher.send_text(text)
                except Exception:
                    state["watchers"].discard(watcher)

    def _token_ok(self, given) -> bool:
        return self.token is None or (isinstance(given, str) and
                                      secrets.compare_digest(given.encode(),
                                                             self.token.encode()))

    async def _handle(self, text: str, session, state, sid) -> list:
        """The replies to one message; never raises for a bad message."""
        limit = MAX_UPLOAD_MESSAGE if text.startswith(UPLOAD_PREFIX) else MAX_MESSAGE
        if len(text) > limit:
            return [_error(f"message too large ({len(text)} bytes; at most {limit})")]
        try:
            message = json.loads(text)
        except json.JSONDecodeError as err:
            return [_error(f"malformed message (not JSON: {err.msg})")]
        except RecursionError:
            return [_error("malformed message (nested too deeply)")]
        except ValueError as err:  # e.g. an integer of more than 4300 digits
            return [_error(f"malformed message ({' '.join(str(err).split())[:120]})")]
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return [_error("malformed message: expected an object with a \"type\"")]
        kind = message["type"]
        handler = _MESSAGE_HANDLERS.get(kind)
        if handler is None:
            return [_error(f"unknown message type {_shown_text(kind)}")]
        try:
            replies = await handler(self, message, session, state, sid)
        except SettingsError as err:
            replies = [_error(str(err))]
        except Exception as err:  # a bug must not end the tab's session: say so, go on
            logging.getLogger("nnlearn.playground").exception(
                "the playground failed on a %r message", kind[:40])
            replies = [_error(f"the server failed on this {_shown_text(kind)} message "
                              f"({type(err).__name__}); the session goes on unchanged")]
        return _numbered(replies, message.get("seq"))

    async def _stream(self, sid, session, state) -> None:
        """While running: train for up to FRAME_BUDGET seconds, send a frame, wait for
        the next frame time."""
        period = 1.0 / self.frame_rate
        epochs = 1
        while True:
            start = time.monotonic()
            if state["running"]:
                async with state["lock"]:
                    if state["running"]:
                        began = time.monotonic()
                        await self._in_worker(state, session.train, epochs)
                        spent = time.monotonic() - began
                        # adapt the epochs per frame to the budget
                        epochs = max(1, min(epochs * 2,
                                            int(epochs * FRAME_BUDGET / max(spent, 1e-4))))
                        frame = await self._in_worker(state, session.frame)
                        try:
                            await self._deliver(state, frame)
                        except Exception:
                            return
                        session.last_active = time.monotonic()  # training and streaming
            await asyncio.sleep(max(0.0, period - (time.monotonic() - start)))

    @staticmethod
    async def _in_worker(state, function, *args):
        """``function(*args)`` on the session's own thread (with this task's context
        variables, as asyncio.to_thread).  One thread per session rather than the
        shared pool's next free one: training the spiral net on whichever pool thread
        came next took 1.26-1.31 ms per epoch against 0.85 ms on one thread
        (measured in the server's loop)."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            state["worker"], functools.partial(context.run, function, *args))

    @classmethod
    async def _locked(cls, state, function, *args):
        async with state["lock"]:
            return await cls._in_worker(state, function, *args)

    @staticmethod
    async def _send(ws, message) -> None:
        await ws.send_text(json.dumps(message, allow_nan=False))

    async def janitor(self) -> None:
        """Close sessions idle for longer than ``idle_timeout``."""
        while True:
            await asyncio.sleep(min(30.0, self.idle_timeout / 2))
            now = time.monotonic()
            for sid, entry in list(self.sessions.items()):
                if entry is None:
                    continue
                session, state = entry
                if not state.get("running") and now - session.last_active > self.idle_timeout:
                    state["running"] = False
                    self.sessions.pop(sid, None)
                    self.clients.pop(sid, None)
                    try:
                        await state["ws"].send_json({"type": "error", "message":
                                                     "session closed after being idle; "
                                                     "reload the page"})
                        await state["ws"].close(code=1001, reason="idle")
                    except Exception:
                        pass

    # -- downloads ----------------------------------------------------------------------------
    async def export(self, request) -> Response:
        """A session's download (its Python code or model file), named in the URL; 403 without
        the token, 404 for an unknown session or name."""
        if not self._token_ok(request.query_params.get("token")):
            return PlainTextResponse("a token is required: open the URL the playground "
                                     "printed", status_code=403)
        sid, name = request.path_params["sid"], request.path_params["name"]
        entry = self.sessions.get(sid)
        if entry is None:
            return PlainTextResponse("no such session (it ended when its tab closed)",
                                     status_code=404)
        session, state = entry
        if name == "model.nnlearn":
            body = await self._locked(state, session.model_bytes)
        elif name == "model.onnx":
            try:
                body = await self._locked(state, session.onnx_bytes)
            except ModuleNotFoundError as err:
                return PlainTextResponse(onnx_missing(err) or str(err), status_code=501)
            except NotImplementedError as err:
                return PlainTextResponse(f"this network cannot be written as ONNX: {err}",
                                         status_code=422)
        elif name == "data.npz":
            body = await self._locked(state, session.data_bytes)
        else:
            return PlainTextResponse(f"unknown export {name!r}", status_code=404)
        return Response(body, media_type="application/octet-stream",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{EXPORT_NAMES[name]}"'})

    # -- the teacher's view ---------------------------------------------------------------
    def _teacher_ok(self, given) -> bool:
        return self.teacher_token is not None and isinstance(given, str) and \
            secrets.compare_digest(given.encode(), self.teacher_token.encode())

    def _refuse_teacher(self):
        if self.teacher_token is None:
            return PlainTextResponse("this playground has no teacher's view (serve it with "
                                     "--classroom)", status_code=404)
        return PlainTextResponse("403: the teacher's view needs the teacher's token (the "
                                 "one printed for the teacher, not the students')",
                                 status_code=403)

    async def teacher_page(self, request) -> Response:
        """The teacher's page (its script then asks for the data with the same token)."""
        if not self._teacher_ok(request.query_params.get("token")):
            return self._refuse_teacher()
        return FileResponse(STATIC / "teacher.html")

    def class_view(self, known: dict | None = None) -> dict:
        """Every student session (settings, epoch, losses, a thumbnail of the output),
        the current challenge and its leaderboard: sessions on the challenge's data,
        lowest test loss first.  Read from what the sessions last sent: the students'
        training is not touched.

        A frame is summarized once, when the view first asks after it was sent (not at
        every refresh); each row carries its frame's ``version``, and a session whose
        version is the one in ``known`` (session id -> version: what the teacher's page
        already shows) gets ``"thumbnail": None`` instead of the same picture again, so
        a paused student costs the refresh a few numbers."""
        known = known or {}
        rows = []
        for sid, entry in list(self.sessions.items()):
            if entry is None:
                continue
            session, state = entry
            frame = state.get("frame")
            if frame is None:
                continue
            cached = state.get("summary")
            if cached is None or cached[0] is not frame:
                cached = state["summary"] = (frame, _summary(frame))
            version = state.get("version", 0)
            row = {"id": sid, "number": state["number"],
                   "name": state["name"] or f"Student {state['number']}",
                   "running": bool(state.get("running")),
                   "settings": session.settings, "task": session.task,
                   "classes": session.n_classes, **cached[1], "version": version}
            if known.get(sid) == version:
                row["thumbnail"] = None  # the teacher's page has this one
            rows.append(row)
        rows.sort(key=lambda r: r["number"])
        board = []
        if self.challenge:
            wanted = {k: self.challenge["settings"][k] for k in DATA_KEYS}
            board = [r for r in rows if r["epoch"] > 0 and r["test_loss"] is not None and
                     all(r["settings"][k] == v for k, v in wanted.items())]
            board.sort(key=lambda r: r["test_loss"])
            board = [{"id": r["id"], "name": r["name"], "test_loss": r["test_loss"],
                      "epoch": r["epoch"]} for r in board]
        return {"sessions": rows, "leaderboard": board,
                "challenge": self.challenge and {k: self.challenge[k]
                                                 for k in ("query", "number", "settings")}}

    async def teacher_sessions(self, request) -> Response:
        """GET: every student tab's summary (settings, epoch, losses, thumbnail) as JSON,
        for the teacher's token only (403 otherwise); ``known=id.version,...`` names the
        thumbnails the page already has (not sent again, see :meth:`class_view`)."""
        if not self._teacher_ok(request.query_params.get("token")):
            return self._refuse_teacher()
        return JSONResponse(self.class_view(
            _known_versions(request.query_params.get("known"), self.max_sessions)))

    async def teacher_challenge(self, request) -> Response:
        """POST {"query": "dataset=xor&noise=10&..."}: the settings of a URL state, all
        of them checked (400 listing every bad one), pushed to every student tab."""
        if not self._teacher_ok(request.query_params.get("token")):
            return self._refuse_teacher()
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > 2 * URL_LIMIT:
                return JSONResponse({"errors": [f"the challenge is too large (at most "
                                                f"{2 * URL_LIMIT:,} bytes)"]}, 413)
        try:
            query = json.loads(body or b"null").get("query")
        except (ValueError, AttributeError, RecursionError):
            return JSONResponse({"errors": ['expected JSON {"query": "dataset=...&..."}']},
                                400)
        try:
            settings, errors = settings_from_url(query)
        except SettingsError as err:
            return JSONResponse({"errors": [str(err)]}, 400)
        if errors:
            return JSONResponse({"errors": errors}, 400)
        named = parse_query(query)[0]
        if not named:
            return JSONResponse({"errors": ["the challenge names no setting (e.g. "
                                            "dataset=spiral&noise=10)"]}, 400)
        number = (self.challenge["number"] + 1) if self.challenge else 1
        # shown as the settings it names and those that differ from the defaults (a
        # challenge of "dataset=circle", the default, is not an empty line)
        defaults = validate({})
        shown = {k: v for k, v in settings.items() if k in named or defaults.get(k) != v}
        self.challenge = {"settings": settings, "query": url_of(shown), "number": number}
        message = _challenge_message(self.challenge)
        sent = 0
        for entry in list(self.sessions.values()):
            if entry is None:
                continue
            session, state = entry
            state["running"] = False
            try:
                await self._locked(state, session.configure, settings)
                for reply in (message, {"type": "status", "running": False},
                              await self._locked(state, session.data_message),
                              await self._locked(state, session.frame)):
                    await self._deliver(state, reply)
                sent += 1
            except Exception:  # a tab that closed meanwhile, or whose points do not fit
                continue
        return JSONResponse({"sent": sent, "challenge": message})

    async def watch(self, ws: WebSocket) -> None:
        """The teacher's read-only view of one student's tab: the same data and frames
        the tab receives; nothing the watcher sends changes the session."""
        if not _same_origin(ws):
            await ws.close(code=1008, reason="cross-origin connection refused")
            return
        if not self._teacher_ok(ws.query_params.get("token")):
            await ws.close(code=1008, reason="the teacher's token is required")
            return
        entry = self.sessions.get(ws.query_params.get("sid") or "")
        if entry is None:
            await ws.close(code=1008, reason="no such session")
            return
        session, state = entry
        if len(state.get("watchers", ())) >= 4:
            await ws.close(code=1013, reason="this tab already has 4 watchers")
            return
        await ws.accept()
        await self._send(ws, {"type": "session", "id": ws.query_params.get("sid"),
                              "choices": choices(), "number": state["number"],
                              "watch": True,
                              "name": state["name"] or f"Student {state['number']}"})
        for text in (state.get("last_data"), state.get("last_frame")):
            if text:
                await ws.send_text(text)
        if "watchers" not in state:  # the tab closed meanwhile
            await ws.close(code=1001, reason="the student's tab closed")
            return
        state["watchers"].add(ws)
        try:
            while True:
                received = await ws.receive()
                if received["type"] == "websocket.disconnect":
                    break
                await self._send(ws, _error("this view is read-only"))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            watchers = state.get("watchers")
            if watchers is not None:
                watchers.discard(ws)


# --------------------------------------------------------------------------------------
# the protocol: one small function per message type, each (server, message, session,
# state, sid) -> the replies, looked up by Playground._handle in _MESSAGE_HANDLERS
# --------------------------------------------------------------------------------------
async def _data_and_frame(server, session, state) -> list:
    """The data set's message and a frame: the replies to a change of the data."""
    return [await server._locked(state, session.data_message),
            await server._locked(state, session.frame)]


async def _stopped_and_frame(server, session, state) -> list:
    """A status saying training is paused, and a frame."""
    return [{"type": "status", "running": False},
            await server._locked(state, session.frame)]


async def _on_settings(server, message, session, state, sid) -> list:
    if "changes" in message:   # some settings, on top of those in force (what the page sends)
        await server._locked(state, session.change, message["changes"])
    else:                      # every setting (missing ones take their defaults)
        await server._locked(state, session.configure, message.get("settings"))
    return await _data_and_frame(server, session, state)


async def _on_run(server, message, session, state, sid) -> list:
    state["running"] = True
    return [{"type": "status", "running": True}]


async def _on_pause(server, message, session, state, sid) -> list:
    state["running"] = False  # the step in progress ends before the frame
    return await _stopped_and_frame(server, session, state)


async def _on_step(server, message, session, state, sid) -> list:
    state["running"] = False
    await server._locked(state, session.train, 1)
    return await _stopped_and_frame(server, session, state)


async def _on_reset(server, message, session, state, sid) -> list:
    state["running"] = False
    await server._locked(state, session.reset)
    return await _stopped_and_frame(server, session, state)


async def _on_regenerate(server, message, session, state, sid) -> list:
    await server._locked(state, session.regenerate)
    return await _data_and_frame(server, session, state)


async def _on_export(server, message, session, state, sid) -> list:
    code = await server._locked(state, session.python_code)
    query = f"?token={server.token}" if server.token else ""
    return [{"type": "export", "code": code, "epoch": session.epoch,
             "test": session.test_metrics,
             "model_url": f"/export/{sid}/model.nnlearn{query}",
             "onnx_url": f"/export/{sid}/model.onnx{query}",
             "onnx_missing": onnx_missing(),
             "data_url": f"/export/{sid}/data.npz{query}"}]


async def _on_upload(server, message, session, state, sid) -> list:
    await server._locked(state, session.upload, message.get("csv"), message.get("x1"),
                         message.get("x2"), message.get("target"), message.get("name"))
    return await _data_and_frame(server, session, state)


async def _on_add_point(server, message, session, state, sid) -> list:
    await server._locked(state, session.add_point, message.get("x"), message.get("y"),
                         message.get("label"))
    return await _data_and_frame(server, session, state)


async def _on_set_weight(server, message, session, state, sid) -> list:
    await server._locked(state, session.set_weight, message.get("layer"),
                         message.get("row"), message.get("column"), message.get("value"))
    return [await server._locked(state, session.frame)]


async def _on_ping(server, message, session, state, sid) -> list:
    return [{"type": "pong"}]


async def _on_url(server, message, session, state, sid) -> list:
    """The page's address: every bad parameter reported."""
    errors = await server._locked(state, session.apply_url, message.get("query"))
    return await _data_and_frame(server, session, state) + \
        [{"type": "url_errors", "errors": errors}]


async def _on_backprop(server, message, session, state, sid) -> list:
    state["running"] = False
    return [{"type": "status", "running": False},
            await server._locked(state, session.backprop, message.get("index"))]


async def _on_name(server, message, session, state, sid) -> list:
    """A student's name for the teacher's view."""
    state["name"] = _student_name(message.get("name"))
    return [{"type": "name", "name": state["name"]}]


_MESSAGE_HANDLERS = {
    "settings": _on_settings, "run": _on_run, "pause": _on_pause, "step": _on_step,
    "reset": _on_reset, "regenerate": _on_regenerate, "export": _on_export,
    "upload": _on_upload, "add_point": _on_add_point, "set_weight": _on_set_weight,
    "ping": _on_ping, "url": _on_url, "backprop": _on_backprop, "name": _on_name,
}


def _summary(frame: dict) -> dict:
    """What the teacher's list shows of a frame: epoch, losses and a 25 x 25 thumbnail of
    the output map (every other pixel of the 50 x 50 one)."""
    def half(hex_text):
        pixels = np.frombuffer(bytes.fromhex(hex_text), np.uint8)
        side = int(round(len(pixels) ** 0.5))
        return pixels.reshape(side, side)[::2, ::2].tobytes().hex()

    thumbnail = {"min": frame["output"]["min"], "max": frame["output"]["max"],
                 "data": half(frame["output"]["data"])}
    if "output_class" in frame:
        thumbnail["classes"] = half(frame["output_class"])
    return {"epoch": frame["epoch"], "train_loss": frame["train"].get("loss"),
            "test_loss": frame["test"].get("loss"),
            "test_accuracy": frame["test"].get("accuracy"), "thumbnail": thumbnail}


def _known_versions(text, most: int) -> dict:
    """The teacher page's ``known`` parameter, ``id.version,id.version,...`` (the
    thumbnails it already shows), as {id: version}; at most ``most`` entries are read,
    a malformed entry is skipped, and a parameter too long to be one is ignored (every
    thumbnail is then sent)."""
    if not isinstance(text, str) or len(text) > 40 * most:
        return {}
    known = {}
    for item in text.split(",")[:most]:
        sid, _, version = item.rpartition(".")
        if sid and version.isdigit() and len(version) <= 12:
            known[sid] = int(version)
    return known


def onnx_missing(err: ModuleNotFoundError | None = None) -> str | None:
    """Why the ONNX export cannot run here (what to install), or None when it can:
    ``err`` is the import's error, or, without one, whether the modules are found."""
    import importlib.util

    def found(module):  # without importing it (onnx takes a while to import)
        try:
            return importlib.util.find_spec(module) is not None
        except (ImportError, ValueError, AttributeError):  # a parent missing, or None
            return False

    if err is None:
        if not found("onnx"):
            name = "onnx"
        elif not found("nnlearn.interop.onnx"):
            name = "nnlearn.interop.onnx"
        else:
            return None
    else:
        name = err.name or ""
    if name.startswith("nnlearn"):
        return "this nnlearn has no ONNX export (nnlearn.interop.onnx): update nnlearn"
    return (f"the ONNX export needs the {name or 'onnx'} package: pip install "
            "\"nnlearn[onnx]\" (in nnlearn's folder: pip install \".[onnx]\")")


def _challenge_message(challenge: dict) -> dict:
    return {"type": "challenge", "number": challenge["number"], "query": challenge["query"],
            "settings": challenge["settings"]}


def _student_name(name) -> str:
    """A name a student typed: printable, at most 40 characters ("" when none)."""
    if not isinstance(name, str):
        return ""
    return "".join(c for c in name if c.isprintable() and
                   not "\ud800" <= c <= "\udfff")[:40].strip()


def _error(message: str) -> dict:
    return {"type": "error", "message": message}


def _numbered(replies: list, number) -> list:
    """The replies to a message that carried a number (``seq``, a non-negative integer
    below 2**53: the page numbers its settings messages), each carrying it back, so the
    page knows which of its messages the server has answered."""
    if type(number) is not int or not 0 <= number < 2**53:
        return replies
    return [{**reply, "seq": number} if isinstance(reply, dict) else reply
            for reply in replies]


def _same_origin(ws: WebSocket) -> bool:
    """Browsers send Origin with WebSocket handshakes: refuse pages of other sites
    (a web page elsewhere must not drive a local server)."""
    origin = ws.headers.get("origin")
    if origin is None:  # not a browser (a script or a test client)
        return True
    return urlsplit(origin).netloc == ws.headers.get("host")


def _host_name(header: str | None) -> str | None:
    """The host of a Host header without its port (``[::1]:8765`` -> ``::1``), lowercase;
    None when it cannot be one."""
    if not header:
        return None
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        rest = header[end + 1:]
        if end < 0 or rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return None
        return header[1:end]
    host, _, port = header.partition(":")
    if port and not port.isdigit():
        return None
    return host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def allowed_hosts(host: str) -> tuple:
    """(names, any IP address allowed?) for a server listening on ``host``."""
    names = set(LOOPBACK)
    wildcard = host in ("0.0.0.0", "::", "")
    if wildcard:  # the machine's own names; DNS rebinding needs a name, not an address
        with contextlib.suppress(OSError):
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    else:
        names.add(host.strip("[]").lower())
    return frozenset(names), wildcard


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 in brackets or not) is this machine
    only: ``localhost`` or a loopback address."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostCheck:
    """ASGI middleware: a request (HTTP or WebSocket) whose Host header names no allowed
    host gets 403 before it reaches the application."""

    def __init__(self, app, names, any_ip: bool):
        self.app, self.names, self.any_ip = app, names, any_ip

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            raw = headers.get(b"host")
            name = _host_name(raw.decode("latin-1")) if raw is not None else None
            if name is None or not (name in self.names or self.any_ip and _is_ip(name)):
                if scope["type"] == "http":
                    response = PlainTextResponse(
                        "403: this server answers only to the names it was started with "
                        "(Host header refused)", status_code=403)
                    return await response(scope, receive, send)
                await receive()  # websocket.connect
                return await send({"type": "websocket.close", "code": 1008,
                                   "reason": "Host refused"})
        return await self.app(scope, receive, send)


class ConnectionGuard:
    """Who may hold a connection, at the socket level (before any request is read):
    at most ``per_address`` open connections from one address (None: no cap; a trusted
    proxy's address is not capped, it speaks for many computers) and at most
    ``request_timeout`` seconds to send each whole request.

    uvicorn alone never times out a connection that has sent part of a request (issue
    32: 3,000 stayed open 70 s, and 1,100 used up the 1,024 descriptors of a classroom
    server); its keep-alive timeout starts only after a response."""

    def __init__(self, per_address: int | None = MAX_CONNECTIONS_PER_ADDRESS,
                 request_timeout: float = REQUEST_TIMEOUT, exempt=()):
        if per_address is not None and (isinstance(per_address, bool) or
                                        not isinstance(per_address, int) or per_address < 1):
            raise ValueError(f"per_address must be a positive integer or None; got "
                             f"{per_address!r}")
        if not isinstance(request_timeout, (int, float)) or not 0 < request_timeout < 3600:
            raise ValueError(f"request_timeout must be a number of seconds in (0, 3600); "
                             f"got {request_timeout!r}")
        self.per_address, self.request_timeout = per_address, float(request_timeout)
        self.exempt = frozenset(exempt)
        self.open: dict = {}      # address -> the transports open from it
        self.refused = 0          # connections closed for the cap (for tests and logs)
        self.timed_out = 0        # connections closed for a request not sent in time

    def admit(self, transport) -> bool:
        """Record a new connection; False (and nothing recorded) when its address already
        holds ``per_address`` open connections."""
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, (tuple, list)) and peer else None
        if self.per_address is None or address is None or address in self.exempt:
            return True
        if len(self.open) > 256:  # forget addresses whose connections have all closed
            self.open = {a: {t for t in ts if not t.is_closing()}
                         for a, ts in self.open.items()}
            self.open = {a: ts for a, ts in self.open.items() if ts}
        held = {t for t in self.open.get(address, ()) if not t.is_closing()}
        if len(held) >= self.per_address:
            self.open[address] = held
            self.refused += 1
            return False
        held.add(transport)
        self.open[address] = held
        return True


_REFUSED = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            b"Connection: close\r\nContent-Length: 48\r\n\r\n"
            b"too many connections from this address (503)\r\n\r\n")


def guarded_protocol(guard: ConnectionGuard):
    """uvicorn's HTTP protocol (h11) with ``guard``'s cap and request timeout: pass it
    as ``uvicorn.Config(http=...)``.  A WebSocket leaves the guard's timer once its
    handshake request is complete (the session's own idle timeout then applies)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol
    import h11

    class GuardedH11Protocol(H11Protocol):
        _timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if not guard.admit(transport):
                self.connections.discard(self)
                transport.write(_REFUSED)
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._timer = self.loop.call_later(guard.request_timeout, self._expired)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expired(self) -> None:
            self._timer = None
            waiting = self.conn.their_state is h11.IDLE or \
                self.conn.their_state is h11.SEND_BODY  # not a response being written
            if waiting and not self.transport.is_closing() and \
                    self.transport.get_protocol() is self:
                guard.timed_out += 1
                self.transport.abort()  # no response: it has not finished asking

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.transport.get_protocol() is not self or \
                    self.conn.their_state is not h11.IDLE and \
                    self.conn.their_state is not h11.SEND_BODY:
                self._disarm()  # the whole request arrived (or it became a WebSocket)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection, if any

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11Protocol


def uvicorn_options(trusted_proxy: str | None = None,
                    max_connections_per_address: int | None = MAX_CONNECTIONS_PER_ADDRESS,
                    request_timeout: float = REQUEST_TIMEOUT) -> dict:
    """The keyword arguments of ``uvicorn.run``/``uvicorn.Config`` that ``serve`` uses
    (besides the app, host and port): the guarded HTTP protocol (:class:`ConnectionGuard`;
    ``max_connections_per_address`` None for no cap), and proxy headers
    (``X-Forwarded-For``) read only from ``trusted_proxy`` (an IP address or a
    comma-separated list), never by default: uvicorn otherwise trusts them from
    127.0.0.1, and the per-computer tab cap would count whatever a client claims."""
    if trusted_proxy is not None and not isinstance(trusted_proxy, str):
        raise ValueError(f"trusted_proxy must be an IP address (or a comma-separated list); "
                         f"got {_shown_text(trusted_proxy)}")
    proxies = [p.strip().strip("[]") for p in trusted_proxy.split(",")] \
        if trusted_proxy else []
    for proxy in proxies:
        if not _is_ip(proxy):
            raise ValueError(f"trusted_proxy must be IP addresses (comma-separated); got "
                             f"{_shown_text(proxy)}")
    guard = ConnectionGuard(max_connections_per_address, request_timeout, exempt=proxies)
    # backlog: asyncio accepts up to this many connections in one round before the
    # guard sees any of them, so it also bounds the descriptors a burst can take
    options = {"http": guarded_protocol(guard), "proxy_headers": bool(proxies),
               "ws_max_size": MAX_MESSAGE * 2, "timeout_keep_alive": 5, "backlog": 128}
    if proxies:
        options["forwarded_allow_ips"] = ",".join(proxies)
    return options


def _shown_text(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def create_app(frame_rate: float = 20.0, idle_timeout: float = 1800.0,
               host: str = "127.0.0.1", max_sessions: int = MAX_SESSIONS,
               token: str | None = None, max_per_client: int | None = None,
               teacher_token: str | None = None) -> Starlette:
    """The ASGI application (``uvicorn.run(create_app())``) for a server listening on
    ``host`` (which decides the Host headers accepted); ``token``, when given, is
    required by the WebSocket and the exports (``serve`` makes one when ``host`` is not
    the loopback address); ``teacher_token``, when given, opens the teacher's view at
    ``/teacher?token=...`` (its list of sessions, challenges, read-only views)."""
    if teacher_token is not None and (not isinstance(teacher_token, str) or
                                      len(teacher_token) < 8 or teacher_token == token):
        raise ValueError("teacher_token must be a string of at least 8 characters, "
                         "other than the students' token")
    playground = Playground(frame_rate=frame_rate, idle_timeout=idle_timeout,
                            max_sessions=max_sessions, token=token,
                            max_per_client=max_per_client, teacher_token=teacher_token)

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
        Route("/teacher", playground.teacher_page),
        Route("/teacher/sessions", playground.teacher_sessions),
        Route("/teacher/challenge", playground.teacher_challenge, methods=["POST"]),
        WebSocketRoute("/ws", playground.websocket),
        WebSocketRoute("/ws/watch", playground.watch),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.playground = playground
    names, any_ip = allowed_hosts(host)
    checked = HostCheck(app, names, any_ip)
    checked.state = app.state
    return checked


def _routed_address() -> str | None:
    """The address of the interface this machine would send from to reach beyond itself:
    a UDP socket "connected" to an address of the documentation range (RFC 5737) takes
    the routing table's choice, and connecting a UDP socket sends no packet.  None
    without a route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            return probe.getsockname()[0]
    except OSError:
        return None


def classroom_address(host: str) -> str:
    """The address students type: ``host`` when it names one interface, else this
    machine's address on the local network (no packet is sent): the interface its
    routing table would send from, else what its name resolves to, else its name.  (On
    Debian and Ubuntu the name resolves to 127.0.1.1, which no other computer can
    reach.)  With a VPN up the routed interface may be the VPN's: ``host`` names the
    classroom's interface then."""
    if host not in ("0.0.0.0", "::"):
        return host
    for address in (_routed_address(), _resolved_name()):
        if address and not address.startswith("127.") and address != "0.0.0.0":
            return address
    return socket.gethostname() or "127.0.0.1"


def _resolved_name() -> str | None:
    """What this machine's name resolves to (None when it does not)."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return None


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False,
          frame_rate: float = 20.0, idle_timeout: float = 1800.0,
          max_sessions: int = MAX_SESSIONS, classroom: bool = False,
          max_per_client: int = 2, trusted_proxy: str | None = None,
          max_connections_per_address: int = MAX_CONNECTIONS_PER_ADDRESS,
          request_timeout: float = REQUEST_TIMEOUT) -> None:
    """Run the playground until interrupted.  On anything but the loopback address a
    token is made for this launch and printed in the page's URL (as Jupyter does).

    ``classroom=True`` listens on every interface (unless ``host`` names one), makes a
    short token students can type, allows ``max_per_client`` tabs per computer and prints
    the link to share and, large, the address to project.

    ``trusted_proxy``: the address(es) of a reverse proxy whose ``X-Forwarded-For`` names
    the computer (the per-computer cap counts it); without one the header is ignored."""
    import uvicorn

    if classroom and is_loopback(host):
        host = "0.0.0.0"
    token = None if is_loopback(host) else secrets.token_urlsafe(6 if classroom else 24)
    teacher_token = secrets.token_urlsafe(18) if classroom else None
    # checked before anything is printed; no cap per address on the loopback address
    options = uvicorn_options(trusted_proxy, max_connections_per_address if token else None,
                              request_timeout)
    shown = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    if classroom:
        address = classroom_address(host)
        link = f"http://{address}:{port}/?token={token}"
        print(f"nnlearn playground for a classroom: {link}  (Ctrl+C stops it)")
        print(f"At most {max_per_client} tabs per computer, {max_sessions} in all. "
              "Project this for the students:\n")
        print(f"    {address}:{port}/?token={token}\n")
        print(f"The teacher's view (keep this link to yourself): "
              f"http://{shown}:{port}/teacher?token={teacher_token}\n")
    else:
        print(f"nnlearn playground: {url}  (Ctrl+C stops it)")
    if token is None:
        print("Only this computer can connect. --host 0.0.0.0 lets other machines in "
              "(with the token printed in the URL).")
    else:
        print(f"Listening on {host}: other machines on the network can connect with the "
              "URL above (its token is needed to train and export; keep it private).")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(frame_rate, idle_timeout, host=host, max_sessions=max_sessions,
                           token=token, max_per_client=max_per_client if classroom else None,
                           teacher_token=teacher_token),
                host=host, port=port, log_level="warning", **options)
