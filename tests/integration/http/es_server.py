#!/usr/bin/env python3
"""es_server.py - a local stand-in for Elasticsearch's _bulk API, for logferry's tests.

Implements the _bulk contract as the Elasticsearch documentation describes it: an NDJSON
body of action lines ({"index"|"create": {"_index": I, "_id": D}}) each followed by a
document; the answer {"took", "errors", "items": [{ACTION: {"_index", "_id", "_version",
"result", "status", "error"?}}]} in request order. index on an existing _id updates it
(200, result "updated"); create on an existing _id is 409 version_conflict_engine_exception.
A document that is not a JSON object, or holds the text BAD-MAPPING, gets 400
mapper_parsing_exception. Content-Encoding: gzip bodies are decoded. Other paths take
NDJSON or a JSON array (generic collectors) and count records by their "id" field.

Documents are kept by _id in memory and journalled to --journal (one "id index" line per
new _id, flushed before the answer), so a restarted server still knows them.

Scripting (POST /_test/script, a JSON object; every key optional):
  queue: [{"status": 429|503|...}, {"drop": true}, {"drop_after": true}, {"delay_ms": N}]
         applied one per incoming request, in order; drop closes the connection without an
         answer, drop_after indexes the documents first (the answer is lost)
  delay_ms: N          every request waits N ms before answering (a slow server)
  item_429_every: N    every Nth item is answered 429 (once per _id), 0 = off
GET /_test/stats: docs (distinct _id), lines (distinct N of messages "line N ..."),
  index_ops, requests, gzip_requests, item_errors, status_errors, dropped, bytes, records
  (generic paths), record_ids (distinct "id" there), typed_requests (generic requests
  with the header X-Log-Type: raw), indices (the _index names seen).
Listens on 127.0.0.1 only; writes the bound port to --port-file when ready.
--tls-client-ca FILE: with --tls-cert, require a client certificate signed by FILE.
--auth VALUE: requests (but /_test/*) whose Authorization header is not VALUE get 401
security_exception, as Elasticsearch answers a wrong or missing credential.
--dump FILE appends the first _bulk exchange (request line, headers, body, answer) to FILE.
"""
import argparse
import gzip
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LINE_RE = re.compile(rb'"message":"line (\d+)')


class Store:
    def __init__(self, journal):
        self.lock = threading.Lock()
        self.docs = {}  # _id -> version
        self.lines = set()
        self.record_ids = set()
        self.indices = set()
        self.stats = dict(index_ops=0, requests=0, gzip_requests=0, item_errors=0,
                          status_errors=0, dropped=0, bytes=0, records=0,
                          typed_requests=0)
        self.queue = []
        self.delay_ms = 0
        self.item_429_every = 0
        self.items_seen = 0
        self.got_429 = set()
        self.journal_path = journal
        if journal and os.path.exists(journal):
            with open(journal, "rb") as f:
                for ln in f:
                    parts = ln.split(b" ")
                    if len(parts) >= 3:
                        self.docs[parts[0].decode()] = 1
                        self.lines.add(int(parts[2]))
        self.journal = open(journal, "ab") if journal else None

    def next_script(self):
        with self.lock:
            return self.queue.pop(0) if self.queue else {}


def item_error(status, etype, reason):
    return {"status": status, "error": {"type": etype, "reason": reason}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "es-test/1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        st = self.server.store
        with st.lock:
            st.stats["requests"] += 1
            st.stats["bytes"] += n
        if self.headers.get("Content-Encoding", "") == "gzip":
            with st.lock:
                st.stats["gzip_requests"] += 1
            body = gzip.decompress(body)
        return body

    def do_GET(self):
        st = self.server.store
        if self.path.startswith("/_test/stats"):
            with st.lock:
                out = dict(st.stats, docs=len(st.docs), lines=len(st.lines),
                           record_ids=len(st.record_ids), indices=sorted(st.indices))
            self.reply(200, out)
        else:
            self.reply(200, {"name": "es-test", "version": {"number": "8.0.0-test"}})

    def do_POST(self):
        st = self.server.store
        if self.path.startswith("/_test/script"):
            cmd = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            with st.lock:
                st.queue = list(cmd.get("queue", st.queue))
                st.delay_ms = int(cmd.get("delay_ms", st.delay_ms))
                st.item_429_every = int(cmd.get("item_429_every", st.item_429_every))
            self.reply(200, {"ok": True})
            return
        body = self.read_body()
        if self.server.auth and self.headers.get("Authorization") != self.server.auth:
            self.reply(401, {"error": {"type": "security_exception",
                                       "reason": "unable to authenticate user"},
                             "status": 401})
            return
        script = st.next_script()
        delay = script.get("delay_ms", st.delay_ms)
        if delay:
            time.sleep(delay / 1000.0)
        if script.get("drop"):
            return self.drop()
        if "status" in script:
            with st.lock:
                st.stats["status_errors"] += 1
            code = script["status"]
            self.reply(code, {"error": {"type": "scripted", "reason": "scripted %d" % code},
                              "status": code})
            return
        if "/_bulk" in self.path:
            answer = self.bulk(body)
        else:
            answer = self.generic(body)
        if answer is None:
            return
        if script.get("drop_after"):
            return self.drop()
        self.dump(body, answer)
        self.reply(200, answer)

    def dump(self, body, answer):
        if not self.server.dump or "/_bulk" not in self.path:
            return
        path, self.server.dump = self.server.dump, None
        with open(path, "ab") as f:
            f.write(b"%s %s %s\n%s\n" % (self.command.encode(), self.path.encode(),
                                         self.request_version.encode(), bytes(self.headers)))
            f.write(body)
            f.write(b"\nHTTP/1.1 200 OK\n")
            f.write(json.dumps(answer, separators=(",", ":")).encode())
            f.write(b"\n")

    def drop(self):
        with self.server.store.lock:
            self.server.store.stats["dropped"] += 1
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def generic(self, body):
        st = self.server.store
        if self.headers.get("Content-Type", "").startswith("application/json"):
            recs = json.loads(body)
        else:
            recs = [json.loads(ln) for ln in body.split(b"\n") if ln.strip()]
        with st.lock:
            st.stats["records"] += len(recs)
            if self.headers.get("X-Log-Type") == "raw":
                st.stats["typed_requests"] += 1
            for r in recs:
                st.record_ids.add(r.get("id"))
                m = re.match(r"line (\d+)", str(r.get("message", "")))
                if m:
                    st.lines.add(int(m.group(1)))
        return {}

    def bulk(self, body):
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if len(lines) % 2:
            self.reply(400, {"error": {"type": "illegal_argument_exception",
                                       "reason": "The bulk request must be terminated by a "
                                                 "newline [\\n]"}, "status": 400})
            return None
        items, errors = [], False
        st = self.server.store
        with st.lock:
            for i in range(0, len(lines), 2):
                item = self.bulk_item(st, lines[i], lines[i + 1])
                errors = errors or item[next(iter(item))]["status"] >= 300
                items.append(item)
            if st.journal:
                st.journal.flush()
        return {"took": 1, "errors": errors, "items": items}

    def bulk_item(self, st, action_line, doc):
        action = json.loads(action_line)
        op = next(iter(action))
        meta = action[op]
        _id, index = meta.get("_id"), meta.get("_index")
        res = {"_index": index, "_id": _id}
        st.items_seen += 1
        st.indices.add(index)
        try:
            obj = json.loads(doc)
            bad = not isinstance(obj, dict) or b"BAD-MAPPING" in doc
        except ValueError:
            bad = True
        if bad:
            res.update(item_error(400, "mapper_parsing_exception",
                                  "failed to parse field [message] of type [long]"))
        elif (st.item_429_every and st.items_seen % st.item_429_every == 0
              and _id not in st.got_429):
            st.got_429.add(_id)
            res.update(item_error(429, "es_rejected_execution_exception",
                                  "rejected execution of coordinating operation"))
        elif op == "create" and _id in st.docs:
            res.update(item_error(409, "version_conflict_engine_exception",
                                  "[%s]: version conflict, document already exists" % _id))
        else:
            version = st.docs.get(_id, 0) + 1
            st.docs[_id] = version
            st.stats["index_ops"] += 1
            res.update({"_version": version, "result": "created" if version == 1 else "updated",
                        "status": 201 if version == 1 else 200})
            if version == 1:
                m = LINE_RE.search(doc)
                n = int(m.group(1)) if m else -1
                if n >= 0:
                    st.lines.add(n)
                if st.journal:
                    st.journal.write(b"%s %s %d\n" % (_id.encode(), index.encode(), n))
        if res["status"] >= 300:
            st.stats["item_errors"] += 1
        return {op: res}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--journal")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--dump")
    ap.add_argument("--auth")
    ap.add_argument("--tls-client-ca")
    a = ap.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.store = Store(a.journal)
    srv.dump = a.dump
    srv.auth = a.auth
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.tls_client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
