#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 with the types a wasm page needs (application/wasm for instantiateStreaming,
text/javascript for modules); prints the address on its first line. Usage: serve.py DIR [PORT] (0 = any free)."""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".gz": "application/gzip",
    }

    def end_headers(self):
        # A rebuilt page must not be mixed with a cached one.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: serve.py DIR [PORT]")
    directory = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=directory))
    server.verbose = len(sys.argv) > 3 and sys.argv[3] == "-v"
    host, port = server.server_address[:2]
    print(f"http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
