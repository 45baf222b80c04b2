"""Run moto's S3-compatible server on 127.0.0.1, print its port, serve until stdin closes.

Started by tests/s3/fixture.py as a separate process: the code under test reaches it only over
HTTP, as it would reach any S3-compatible store.
"""

from __future__ import annotations

import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # the test suite closes our stdin to stop us
    server.stop()


if __name__ == "__main__":
    main()
