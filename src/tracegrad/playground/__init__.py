"""``tracegrad playground``: a local web page that trains a network with tracegrad and shows
every number of it (decision boundary, losses, weights, and each unit's z, a and δ).

Needs the ``playground`` extra: ``pip install 'tracegrad[playground]'``.
"""

from __future__ import annotations

import socket
import webbrowser


def create_app(max_sessions: int | None = None):
    """The ASGI application; see ``server.create_app``."""
    from .server import MAX_SESSIONS, create_app

    return create_app(MAX_SESSIONS if max_sessions is None else max_sessions)


def bind(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A listening socket; ``port=0`` lets the system pick a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror}): pick another --port, "
            "or --port 0 for a free one"
        ) from None
    sock.listen(128)  # connections wait here until uvicorn serves them
    return sock


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True, echo=print):
    """Serve the playground until interrupted; print its address and open a browser tab."""
    import uvicorn

    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{real_port}/"
    echo(f"tracegrad playground on {url} (Ctrl+C to stop)", flush=True)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(create_app(), log_level="warning", ws_max_size=1 << 16)
    uvicorn.Server(config).run(sockets=[sock])
    return url


__all__ = ["create_app", "serve", "bind"]
