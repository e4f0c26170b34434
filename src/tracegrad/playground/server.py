"""The web app: a Starlette application served by uvicorn on 127.0.0.1.

One websocket per open page drives one ``Session``: the page sends settings
and play / pause / step / reset, and the server answers with frames (epoch,
losses, weights, decision boundary). Questions that change nothing (a unit's
numbers, a weight's gradient, a gradient check) and the files (upload, model,
script) are plain HTTP. Sessions are capped, and every error the page sees is
one line that names no path of this machine.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import details, export, upload
from .session import Session
from .settings import SettingsError, choices

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 8
MAX_FPS = 60  # frames are not sent faster than a screen shows them
# The questions the page may ask, and the arguments each takes.
QUESTIONS = {
    "unit": (details.unit, ("layer", "j", "part", "index")),
    "weight": (details.weight, ("layer", "j", "k", "part", "index")),
    "backprop": (details.backprop, ("part", "index")),
    "gradcheck": (details.gradcheck, ()),
}
CLIENT_ERRORS = (SettingsError, upload.UploadError, FloatingPointError, ValueError, TypeError)


def _one_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _same_origin(headers) -> bool:
    """Refuse pages of other sites (a browser sends Origin): only this server's own page."""
    origin = headers.get("origin")
    return origin is None or urlsplit(origin).netloc == headers.get("host")


class Playground:
    """The open sessions and the routes that reach them."""

    def __init__(self, max_sessions: int = MAX_SESSIONS):
        self.sessions: dict[str, Session] = {}
        self.max_sessions = max_sessions

    def _session(self, request) -> Session:
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            raise HTTPException(404, "no such session: reload the page")
        return session

    async def _json(self, request) -> dict:
        if not _same_origin(request.headers):
            raise HTTPException(403, "requests from other sites are refused")
        body = await request.body()
        if len(body) > 10_000:
            raise SettingsError("request too large")
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise SettingsError("the request is not JSON") from None
        if not isinstance(value, dict):
            raise SettingsError("the request must be a JSON object")
        return value

    # -- HTTP -----------------------------------------------------------------------
    async def index(self, request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def get_choices(self, request):
        return JSONResponse(choices())

    async def query(self, request):
        session = self._session(request)
        what = request.path_params["what"]
        if what not in QUESTIONS:
            raise HTTPException(404, "Not Found")
        handler, allowed = QUESTIONS[what]
        args = await self._json(request)
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            raise SettingsError(
                f"{what} takes {', '.join(allowed) or 'no arguments'}, not {unknown[0]!r}"
            )
        result = await asyncio.to_thread(handler, session, **args)
        return JSONResponse(result)

    async def upload(self, request):
        session = self._session(request)
        if not _same_origin(request.headers):
            raise HTTPException(403, "requests from other sites are refused")
        name = upload.clean_name(request.query_params.get("name"))
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > upload.MAX_BYTES:
            return JSONResponse({"error": upload.too_big(int(declared))}, status_code=413)
        content = bytearray()
        async for chunk in request.stream():
            content += chunk
            if len(content) > upload.MAX_BYTES:  # stop reading: memory stays bounded
                return JSONResponse({"error": upload.too_big(len(content))}, status_code=413)
        ds = await asyncio.to_thread(upload.read, name, bytes(content))
        await asyncio.to_thread(session.keep_upload, name, bytes(content))
        return JSONResponse({"name": name, "n_samples": ds.n_samples, "classes": ds.class_names})

    async def model_file(self, request):
        data = await asyncio.to_thread(export.model_bytes, self._session(request))
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{export.MODEL_NAME}"'},
        )

    async def script_file(self, request):
        text = await asyncio.to_thread(export.script, self._session(request))
        return PlainTextResponse(
            text,
            media_type="text/x-python",
            headers={"Content-Disposition": f'attachment; filename="{export.SCRIPT_NAME}"'},
        )

    # -- the websocket -----------------------------------------------------------------
    async def socket(self, ws: WebSocket):
        if not _same_origin(ws.headers):
            await ws.close(code=1008)
            return
        await ws.accept()
        if len(self.sessions) >= self.max_sessions:
            await ws.send_json(
                {
                    "type": "error",
                    "message": (
                        f"{self.max_sessions} playgrounds are open already: close one and reload"
                    ),
                }
            )
            await ws.close(code=1013)
            return
        sid = secrets.token_urlsafe(16)
        session = await asyncio.to_thread(Session)
        self.sessions[sid] = session
        link = _Link(ws, session)
        try:
            await link.send({"type": "hello", "session": sid})
            await link.send(await asyncio.to_thread(session.data))
            await link.send(await asyncio.to_thread(session.frame))
            while True:
                text = await ws.receive_text()
                try:
                    message = json.loads(text)
                except ValueError:
                    await link.send({"type": "error", "message": "commands are JSON objects"})
                    continue
                await link.handle(message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            link.playing = False
            if link.task is not None:
                link.task.cancel()
            self.sessions.pop(sid, None)
            session.close()

    def app(self) -> Starlette:
        sid = "/api/session/{sid}"
        routes = [
            Route("/", self.index),
            Route("/api/choices", self.get_choices),
            Route(sid + "/upload", self.upload, methods=["POST"]),
            Route(sid + "/model.npz", self.model_file),
            Route(sid + "/script.py", self.script_file),
            Route(sid + "/{what}", self.query, methods=["POST"]),
            WebSocketRoute("/ws", self.socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
        handlers = {
            HTTPException: _http_error,
            **{cls: _client_error for cls in CLIENT_ERRORS},
            Exception: _server_error,
        }
        return Starlette(routes=routes, exception_handlers=handlers)


class _Link:
    """One page's websocket: its commands, and the play loop that streams frames."""

    def __init__(self, ws: WebSocket, session: Session):
        self.ws, self.session = ws, session
        self.playing, self.task = False, None
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict) -> None:
        async with self._send_lock:  # one message at a time from the two tasks
            await self.ws.send_json(message)

    async def _run(self, work) -> bool:
        """Run blocking tracegrad work off the event loop; report a failure as one line."""
        try:
            await asyncio.to_thread(work)
            return True
        except CLIENT_ERRORS as exc:
            self.playing = False
            await self.send({"type": "error", "message": _one_line(exc), "playing": False})
            return False

    async def handle(self, message) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        s = self.session
        if kind == "play":
            if not self.playing:
                self.playing = True
                self.task = asyncio.create_task(self._play())
        elif kind == "pause":
            self.playing = False
        elif kind == "step":
            self.playing = False
            if await self._run(s.step):
                await self.send(await asyncio.to_thread(s.frame))
        elif kind in ("reset", "settings"):
            self.playing = False
            work = s.reset if kind == "reset" else (lambda: s.update(message.get("settings")))
            if await self._run(work):
                await self.send(await asyncio.to_thread(s.data))
                await self.send(await asyncio.to_thread(s.frame))
        else:
            await self.send({"type": "error", "message": f"unknown command {kind!r}"})
        await self.send({"type": "state", "playing": self.playing})

    async def _play(self) -> None:
        while self.playing:
            started = time.perf_counter()
            if not await self._run(self.session.step):
                await self.send({"type": "state", "playing": False})
                return
            frame = await asyncio.to_thread(self.session.frame)
            if not self.playing:  # paused while this epoch ran: show it, stop there
                await self.send(frame)
                return
            await self.send(frame)
            await asyncio.sleep(max(0.0, 1 / MAX_FPS - (time.perf_counter() - started)))


async def _http_error(request, exc: HTTPException):
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


async def _client_error(request, exc):
    return JSONResponse({"error": _one_line(exc)}, status_code=400)


async def _server_error(request, exc):
    # Never a traceback or a path: the page gets one line, the terminal nothing it needs.
    return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)


def create_app(max_sessions: int = MAX_SESSIONS) -> Starlette:
    """The playground as an ASGI application (for uvicorn, or Starlette's TestClient)."""
    return Playground(max_sessions).app()
