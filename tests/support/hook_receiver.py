"""A webhook receiver for the tests: checks every delivery's signature with
an independent implementation (the `standardwebhooks` package) and answers
as each test asks.

    python hook_receiver.py PORT

Per test, under its own name:
    POST /_config/NAME  {"secret": "whsec_…", "fail": 2, "hang": 0, "status": 500}
        the next `fail` deliveries answer `status`, the next `hang` ones answer
        after 15 s (longer than the shop's 10 s timeout), then 200
    POST /hook/NAME     a delivery (what the shop calls)
    GET  /_log/NAME     every delivery received: id, timestamp, signature_ok,
                        answered, type, and `unique` (the de-duplicated view)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

STATE = {}
LOCK = threading.Lock()


def state(name):
    return STATE.setdefault(name, {"secret": None, "fail": 0, "hang": 0, "status": 500, "log": []})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json"):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path.startswith("/_log/"):
            name = self.path[len("/_log/"):]
            with LOCK:
                log = list(state(name)["log"])
            unique = sorted({e["id"] for e in log})
            self.reply(200, json.dumps({"deliveries": log, "unique": unique}).encode())
        else:
            self.reply(404)

    def do_POST(self):
        raw = self.body()
        if self.path.startswith("/_config/"):
            name = self.path[len("/_config/"):]
            cfg = json.loads(raw or b"{}")
            with LOCK:
                s = state(name)
                for k in ("secret", "fail", "hang", "status"):
                    if k in cfg:
                        s[k] = cfg[k]
            self.reply(204)
            return
        if not self.path.startswith("/hook/"):
            self.reply(404)
            return
        name = self.path[len("/hook/"):]
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            s = state(name)
            secret = s["secret"]
            if s["hang"] > 0:
                s["hang"] -= 1
                answer = "hang"
            elif s["fail"] > 0:
                s["fail"] -= 1
                answer = s["status"]
            else:
                answer = 200
        ok = False
        kind = None
        if secret:
            try:
                payload = Webhook(secret).verify(raw, headers)
                ok = True
                kind = payload.get("type")
            except Exception as e:  # a bad signature, a stale timestamp
                kind = "refused: %s" % e
        entry = {"id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp"), "signature_ok": ok,
                 "answered": answer if answer != "hang" else "timeout", "type": kind, "at": time.time()}
        with LOCK:
            s["log"].append(entry)
        if answer == "hang":
            time.sleep(15)
            answer = 200
        self.reply(answer, b'{"received":true}')


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
