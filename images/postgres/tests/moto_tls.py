"""moto's S3 server (the same application `python -m moto.server` runs) over TLS that ends connections properly.

Werkzeug's development server closes every connection after its response (`Connection: close`) and, under TLS,
drops the socket without a close_notify alert. OpenSSL 3 clients that read to the end, as pgBackRest does, report
that as "unexpected eof while reading" and fail the request. Real S3 endpoints send close_notify; so does this
server: it unwraps the TLS session before closing each connection. Nothing else differs from moto's own server.

Usage: python moto_tls.py --port PORT --cert CERT.pem --key KEY.pem   (listens on 127.0.0.1 only)
"""

from __future__ import annotations

import argparse
import socket
import ssl

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import ThreadedWSGIServer


class TlsClosingServer(ThreadedWSGIServer):
    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(2)
                request = request.unwrap()  # sends close_notify
            except (OSError, ValueError):
                pass  # the client went first, or is gone: close as usual
        super().shutdown_request(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    server = TlsClosingServer(
        "127.0.0.1", args.port, app, handler=MotoRequestHandler, ssl_context=(args.cert, args.key)
    )
    print(f"moto S3 on https://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
