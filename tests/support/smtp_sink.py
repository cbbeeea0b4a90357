"""A real SMTP server for the tests (aiosmtpd from PyPI): every message it accepts is written to
OUT_DIR as one .eml file (the envelope's recipients first, as an X-Rcpt line), atomically.

    python smtp_sink.py PORT OUT_DIR      # prints "smtp sink ready", runs until SIGTERM
"""
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{os.getpid()}"
        tmp = os.path.join(self.out_dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(self.out_dir, f"{name}.eml"))
        return "250 Message accepted"


def main():
    port, out_dir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # the server's thread inherits it
    controller = Controller(Sink(out_dir), hostname="127.0.0.1", port=port)
    controller.start()
    print("smtp sink ready", flush=True)
    signal.sigwait(signals)
    controller.stop()


if __name__ == "__main__":
    main()
