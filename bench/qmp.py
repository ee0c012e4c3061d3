#!/usr/bin/env python3
"""qmp.py SOCKET COMMAND_JSON...: sends each QMP command to the QEMU whose
monitor listens at SOCKET (after the capabilities handshake) and prints each
response's "return" (or "error") as one JSON line; exit 1 on an error. For
bench/takeover.sh's QEMU peer (local migration)."""
import json
import socket
import sys


def main():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    f = s.makefile("rw")

    def response():
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                return msg
            # events ("event": ...) and the greeting ("QMP": ...) are skipped

    f.readline()  # greeting
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    response()
    failed = False
    for command in sys.argv[2:]:
        f.write(command + "\n")
        f.flush()
        msg = response()
        print(json.dumps(msg.get("return", msg)))
        failed = failed or "error" in msg
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
