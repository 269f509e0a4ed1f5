#!/usr/bin/env python3
"""genlog.py - deterministic log generator for the logferry benchmarks.

    genlog.py KIND LINES [--seed N] [-o FILE]

KIND:
  access  nginx "combined" lines (log_format combined), about 222 bytes per line
  error   Spring/logback lines: INFO/WARN lines and ERRORs followed by an exception
          line and a TAB-indented Java stack trace
  slow    MySQL slow-query log entries (5 lines each: # Time, # User@Host,
          # Query_time, SET timestamp, statement)
  mixed   the three interleaved (about 47% access lines)

LINES counts physical lines (a stack trace line is a line). The output depends only on
KIND, LINES and the seed: the same arguments give the same bytes. Pure standard
library; about 1 s per 200,000 lines.
"""
import argparse
import random
import sys

METHODS = ["GET"] * 14 + ["POST"] * 4 + ["PUT", "DELETE", "HEAD"]
PATHS = [
    "/", "/index.html", "/api/v1/users/{id}", "/api/v1/orders/{id}/items",
    "/api/v2/search?q=shoes&page={n}", "/static/js/app.{h}.js", "/static/css/main.{h}.css",
    "/images/products/{id}/thumb.jpg", "/checkout/cart?session={h}", "/health",
    "/api/v1/products?category={n}&sort=price_asc", "/login", "/logout",
    "/blog/2026/11/{id}-how-we-ship-logs", "/favicon.ico",
]
STATUSES = [200] * 40 + [201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 429, 500, 502, 503]
REFERERS = [
    "-", "https://www.example.com/", "https://www.google.com/search?q=example+shop",
    "https://shop.example.com/products/{id}?utm_source=newsletter&utm_medium=email",
    "https://m.facebook.com/",
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "curl/8.5.0",
    "kube-probe/1.31",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
BASE = 1763683200  # 2025-11-21 00:00:00 UTC


def fill(rng, s):
    if "{" not in s:
        return s
    return (s.replace("{id}", str(rng.randrange(1, 999999)))
             .replace("{n}", str(rng.randrange(1, 50)))
             .replace("{h}", "%08x" % rng.getrandbits(32)))


def tstuple(t):
    d, s = divmod(t, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return 21 + d % 9, h, m, s


def access_line(rng, t, path=None):
    day, h, m, s = tstuple(t)
    ip = "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256),
                          rng.randrange(1, 255))
    user = "-" if rng.random() < 0.95 else "alice"
    method = rng.choice(METHODS)
    if path is None:
        path = fill(rng, rng.choice(PATHS))
    st = rng.choice(STATUSES)
    size = 0 if st in (204, 304) else rng.randrange(100, 60000)
    ref = fill(rng, rng.choice(REFERERS))
    ua = rng.choice(AGENTS)
    return '%s - %s [%02d/Nov/2025:%02d:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d "%s" "%s"\n' % (
        ip, user, day, h, m, s, method, path, st, size, ref, ua)


CLASSES = ["com.example.shop.OrderService", "com.example.shop.PaymentClient",
           "com.example.shop.web.CartController", "com.example.shop.repo.UserRepository"]
EXC = ["java.lang.IllegalStateException: order {id} is already closed",
       "java.net.SocketTimeoutException: Read timed out",
       "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
       "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null"]
FRAMES = ["org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
          "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
          "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
          "org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)",
          "com.zaxxer.hikari.pool.HikariProxyPreparedStatement.executeUpdate(HikariProxyPreparedStatement.java)",
          "java.base/java.lang.Thread.run(Thread.java:1583)"]


def app_lines(rng, t):
    day, h, m, s = tstuple(t)
    ts = "2025-11-%02d %02d:%02d:%02d.%03d" % (day, h, m, s, rng.randrange(1000))
    thr = "http-nio-8080-exec-%d" % rng.randrange(1, 200)
    cls = rng.choice(CLASSES)
    r = rng.random()
    if r < 0.15:
        out = ["%s ERROR [%s] %s - request failed for order %d\n" % (ts, thr, cls,
                                                                     rng.randrange(1, 999999)),
               fill(rng, rng.choice(EXC)) + "\n"]
        for _ in range(rng.randrange(8, 26)):
            out.append("\tat %s\n" % rng.choice(FRAMES))
        if rng.random() < 0.3:
            out.append("Caused by: java.io.IOException: Broken pipe\n")
            out.append("\tat sun.nio.ch.SocketDispatcher.write0(Native Method)\n")
            out.append("\t... 42 common frames omitted\n")
        return out
    lvl = "INFO" if r < 0.85 else "WARN"
    return ["%s %s [%s] %s - processed order %d in %d ms\n" % (
        ts, lvl, thr, cls, rng.randrange(1, 999999), rng.randrange(1, 3000))]


def slow_lines(rng, t):
    day, h, m, s = tstuple(t)
    qt = rng.random() * 5
    return ["# Time: 2025-11-%02dT%02d:%02d:%02d.%06dZ\n" % (day, h, m, s, rng.randrange(10**6)),
            "# User@Host: shop[shop] @ app-%d.internal [10.0.%d.%d]  Id: %d\n" % (
                rng.randrange(1, 20), rng.randrange(256), rng.randrange(256), rng.randrange(1, 10**6)),
            "# Query_time: %.6f  Lock_time: %.6f Rows_sent: %d  Rows_examined: %d\n" % (
                qt, qt / 100, rng.randrange(1, 500), rng.randrange(1, 10**6)),
            "SET timestamp=%d;\n" % (BASE + t),
            "SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
            "WHERE o.created_at > '2025-11-%02d' AND o.status = 'open' ORDER BY o.total DESC "
            "LIMIT %d;\n" % (day, rng.randrange(10, 1000))]


def generate(kind, lines, seed, out):
    rng = random.Random("%s:%d" % (kind, seed))
    n = 0
    t = 0
    buf = []
    while n < lines:
        t += rng.randrange(0, 2)
        if kind == "access":
            chunk = [access_line(rng, t)]
        elif kind == "error":
            chunk = app_lines(rng, t)
        elif kind == "slow":
            chunk = slow_lines(rng, t)
        else:
            r = rng.random()
            chunk = ([access_line(rng, t)] if r < 0.62 else
                     app_lines(rng, t) if r < 0.985 else slow_lines(rng, t))
        chunk = chunk[:lines - n]
        n += len(chunk)
        buf.extend(chunk)
        if len(buf) >= 4096:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["access", "error", "slow", "mixed"])
    ap.add_argument("lines", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    if a.output == "-":
        generate(a.kind, a.lines, a.seed, sys.stdout)
    else:
        with open(a.output, "w", encoding="ascii", newline="\n") as f:
            generate(a.kind, a.lines, a.seed, f)


if __name__ == "__main__":
    main()
