"""The playground's web server: the page, a JSON API and the frames as server-sent events.

Standard library only (`http.server.ThreadingHTTPServer`): each request has its own
thread, so the event streams and the inspecting requests never wait for each other or
for training. It listens on 127.0.0.1 only, and every request, the page and its event
stream included, must carry the session's random token (`?token=` or the
`X-Chainrule-Token` header): without it, 403. Bad parameters get a 400 with a JSON
`{"error": ...}` that names the problem; nothing answers with a traceback.
"""
from __future__ import annotations

import hmac
import json
import secrets
import sys
import tempfile
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..model_file import save_model
from ..module import MLP
from . import point
from .session import CHOICES, LIMITS, Session, SettingsError

__all__ = ["PlaygroundServer", "CSP"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
STATIC = {"page.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}
MAX_BODY = 64 * 1024
KEEPALIVE = 10.0  # seconds between comments on an idle event stream
ROUTES = {  # method -> path -> the handler's method name
    "GET": {"/": "_page", "/events": "_events", "/api/choices": "_choices", "/api/node": "_node",
            "/api/nudge": "_nudge", "/api/neuron": "_neuron", "/export/model.json": "_export_model",
            "/export/steps.html": "_export_steps", **{f"/static/{name}": "_static" for name in STATIC}},
    "POST": {"/api/control": "_control", "/api/settings": "_settings", "/api/points": "_points"},
}


class BadRequest(ValueError):
    """A request the playground cannot answer as asked (400, with this message)."""


class PlaygroundServer(ThreadingHTTPServer):
    """One session served on 127.0.0.1:`port` (0: any free port) behind a random token."""

    daemon_threads = True

    def __init__(self, session: Session, port: int = 0) -> None:
        self.session = session
        self.token = secrets.token_urlsafe(24)
        package = resources.files(__package__)
        self.files = {name: (package / name).read_bytes() for name in ("page.html", *STATIC)}
        super().__init__(("127.0.0.1", port), _Handler)
        self.port = self.server_address[1]
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def stop(self) -> None:
        """End training, the event streams and the serving loop (from any thread but the loop's)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.session.stop()
        self.shutdown()


class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    server_version = "chainrule-playground"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise here
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # ---------------------------------------------------------------- dispatch
    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self.query = parse_qs(url.query, keep_blank_values=True)
        host = self.headers.get("Host", "")
        if host not in (f"127.0.0.1:{self.server.port}", f"localhost:{self.server.port}"):
            return self._json({"error": f"unexpected Host {host!r}"}, HTTPStatus.FORBIDDEN)
        given = self.headers.get("X-Chainrule-Token") or self.query.get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            return self._json({"error": "a valid token is required (open the URL the playground printed)"},
                              HTTPStatus.FORBIDDEN)
        name = ROUTES.get(self.command, {}).get(url.path)
        if name is None:
            known = any(url.path in routes for routes in ROUTES.values())
            return self._json({"error": f"no {self.command} {url.path} here"},
                              HTTPStatus.METHOD_NOT_ALLOWED if known else HTTPStatus.NOT_FOUND)
        route = getattr(self, name)
        try:
            route()
        except (BadRequest, SettingsError, point.InspectError) as error:
            self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # a bug: tell the page plainly, keep the details in the server's log
            traceback.print_exc(file=sys.stderr)
            self._json({"error": "internal error in the playground (see the server's output)"},
                       HTTPStatus.INTERNAL_SERVER_ERROR)

    # ---------------------------------------------------------------- responses
    def _send(self, body: bytes, content_type: str, status: int = HTTPStatus.OK,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: object, status: int = HTTPStatus.OK) -> None:
        self._send(json.dumps(payload, allow_nan=False).encode(), "application/json", status)

    def _download(self, body: bytes, content_type: str, name: str) -> None:
        self._send(body, content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ---------------------------------------------------------------- parameters
    def _param(self, name: str, kind: type) -> Any:
        values = self.query.get(name)
        if not values:
            raise BadRequest(f"missing parameter {name!r}")
        text = values[0]
        try:
            return kind(text)
        except ValueError:
            raise BadRequest(f"parameter {name!r} must be {'a whole number' if kind is int else 'a number'}, "
                             f"got {text[:40]!r}") from None

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise BadRequest("a POST needs a Content-Length") from None
        if not 0 < length <= MAX_BODY:
            raise BadRequest(f"the request body must be 1 to {MAX_BODY} bytes, got {length}")
        try:
            body = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadRequest("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        return body

    # ---------------------------------------------------------------- the page
    def _page(self) -> None:
        page = self.server.files["page.html"].replace(b"__TOKEN__", self.server.token.encode())
        self._send(page, "text/html; charset=utf-8", headers={"Content-Security-Policy": CSP})

    def _static(self) -> None:
        name = urlsplit(self.path).path.rpartition("/")[2]
        self._send(self.server.files[name], STATIC[name])

    def _choices(self) -> None:
        self._json({"choices": CHOICES, "limits": LIMITS, "data": self.server.session.name})

    def _events(self) -> None:
        """The frames as they are published, each as one `frame` event (the newest only,
        when a client is slower than training); a comment now and then keeps it open."""
        session = self.server.session
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        last = -1
        while not session.stopped:
            frame = session.next_frame(last, timeout=KEEPALIVE)
            if frame is None:
                self.wfile.write(b": still here\n\n")
                continue
            self.wfile.write(b"event: frame\ndata: " + frame.json + b"\n\n")
            self.wfile.flush()
            last = frame.version

    # ---------------------------------------------------------------- changing things
    def _control(self) -> None:
        action = self._body().get("action")
        session = self.server.session
        actions = {"play": session.play, "pause": session.pause, "step": session.step, "reset": session.reset}
        if action == "stop":
            self._json({"ok": True, "stopping": True})
            threading.Thread(target=self.server.stop, name="playground stop").start()
            return
        if action not in actions:
            raise BadRequest(f"unknown action {action!r}; choose one of {', '.join([*actions, 'stop'])}")
        actions[action]()
        self._json({"ok": True})

    def _settings(self) -> None:
        settings = self.server.session.configure(self._body())
        self._json({"ok": True, "settings": settings.as_dict()})

    def _points(self) -> None:
        body = self._body()
        session, action = self.server.session, body.get("action")
        if action == "add":
            index = session.add_point(body.get("x"), body.get("y"), body.get("label"))
            return self._json({"ok": True, "index": index})
        if action == "move":
            session.move_point(body.get("index"), body.get("x"), body.get("y"))
        elif action == "select":
            session.select(body.get("index"))
        else:
            raise BadRequest(f"unknown points action {action!r}; choose add, move or select")
        self._json({"ok": True})

    # ---------------------------------------------------------------- inspecting (from the latest frame)
    def _graph(self) -> point.PointGraph:
        return self.server.session.frame().point_graph()

    def _node(self) -> None:
        self._json(point.node_step(self._graph(), self._param("i", int)))

    def _nudge(self) -> None:
        self._json(point.nudge(self._graph(), self._param("i", int), self._param("delta", float)))

    def _neuron(self) -> None:
        svg, nodes = point.neuron_drawing(self._graph(), self._param("layer", int), self._param("neuron", int))
        self._json({"svg": svg, "nodes": nodes})

    def _export_model(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            try:
                path = save_model(MLP.from_weights(self.server.session.frame().weights), Path(folder) / "model.json")
            except ValueError as error:  # a diverged model: save_model refuses non-finite weights
                raise BadRequest(f"cannot export this model: {error}") from None
            self._download(path.read_bytes(), "application/json", "playground-model.json")

    def _export_steps(self) -> None:
        self._download(point.player_page(self._graph()), "text/html; charset=utf-8", "playground-steps.html")
