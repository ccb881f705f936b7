#!/usr/bin/env python3
"""A real SMTP server on loopback for vigie's notify tests (aiosmtpd).

Usage: capture.py OUTDIR. Prints the port it listens on (127.0.0.1), then
accepts every message: OUTDIR/NNNN.eml is the message as received and
OUTDIR/NNNN.json the envelope and the message parsed back with Python's
email module (recipients, headers, text and HTML bodies, attachments).
The .json file appears (renamed into place) only once complete, before
the server answers 250. Runs until killed or until stdin closes.
"""
import email
import json
import os
import socket
import sys
from email import policy

from aiosmtpd.controller import Controller


def part_text(part):
    if part is None:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


class Capture:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out, "%04d" % self.count)
        raw = envelope.original_content or envelope.content
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        msg = email.message_from_bytes(raw, policy=policy.default)
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] else None,
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "text": part_text(msg.get_body(preferencelist=("plain",))),
            "html": part_text(msg.get_body(preferencelist=("html",))),
            "attachments": [
                {
                    "filename": p.get_filename(),
                    "content_type": p.get_content_type(),
                    "content": part_text(p),
                }
                for p in msg.iter_attachments()
            ],
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(doc, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    port = free_port()
    controller = Controller(Capture(out), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
