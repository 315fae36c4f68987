"""What every request to the web app passes: its Host header must name the address the server
listens on (else 421: a page elsewhere whose DNS name is rebound to 127.0.0.1 can't drive the
API), and every answer carries a Content-Security-Policy with `frame-ancestors 'none'`
(no other site may frame a page and trick a click on Keep or Build) and its companions.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from starlette.responses import PlainTextResponse

# Our pages load only their own scripts; abcjs sets inline styles on the SVG it draws; no
# other site may frame them (clickjacking a Keep or Build button).
CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
ANY_ADDRESS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The Host header values a server listening on `host`:`port` answers; None when it
    listens on every address (then any IP address or this machine's name, see host_ok)."""
    if host in ANY_ADDRESS:
        return None
    names = {host.lower()}
    try:
        if ipaddress.ip_address(host).is_loopback:
            names |= {"localhost", "127.0.0.1", "::1"}
    except ValueError:
        if host.lower() == "localhost":
            names |= {"127.0.0.1", "::1"}
    return {_host_port(name, port) for name in names}


def _host_port(name: str, port: int) -> str:
    return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"


def host_ok(header: str, allowed: set[str] | None, port: int) -> bool:
    """Whether a request's Host header names this server (a port-less Host means port 80)."""
    header = header.strip().lower()
    if not re.search(r":\d+$", header):
        header = f"{header}:80"
    if allowed is not None:
        return header in allowed
    name, _, got_port = header.rpartition(":")
    if got_port != str(port):
        return False
    name = name.strip("[]")
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:  # a name: only this machine's own, never one a stranger's DNS gives
        return name in {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}


class Guard:
    """ASGI middleware: refuses a wrong Host (421), adds SECURITY_HEADERS to every answer."""

    def __init__(self, app, host: str, port: int):
        self.app, self.port = app, port
        self.allowed = allowed_hosts(host, port)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if not host_ok(host, self.allowed, self.port):
            refused = PlainTextResponse("wrong Host header: open abcgen at the address "
                                        "`abcgen serve` printed", status_code=421)
            return await refused(scope, receive, self._secured(send))
        return await self.app(scope, receive, self._secured(send))

    @staticmethod
    def _secured(send):
        async def secured(message):
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": kept + SECURITY_HEADERS}
            await send(message)
        return secured
