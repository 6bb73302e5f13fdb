"""An OTLP/HTTP receiver that accepts every export and keeps nothing but counts, so a benchmark can
measure what tracing costs the services (spans made, batched, encoded and posted) without a collector.

    python bench/otlp_sink.py [--port 4318]      GET / answers {"exports": n, "bytes": n}
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Counts:
    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0
        self.lock = threading.Lock()


COUNTS = _Counts()


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        size = int(self.headers.get("content-length", "0"))
        self.rfile.read(size)
        with COUNTS.lock:
            COUNTS.exports += 1
            COUNTS.bytes += size
        # An empty ExportTraceServiceResponse: everything accepted.
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        body = json.dumps({"exports": COUNTS.exports, "bytes": COUNTS.bytes}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4318)
    ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), _Sink).serve_forever()
