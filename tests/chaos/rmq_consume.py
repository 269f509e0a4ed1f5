#!/usr/bin/env python3
"""rmq_consume.py - live RabbitMQ consumer of the chaos run (python3-pika).

Declares the exchange (topic, durable, as the agent declares it), a durable queue bound
with '#', and consumes with manual acks, writing one line per message to OUT before
acking it: "<redelivered 0|1>\t<app_id>\t<body>" (app_id: the sending agent's name). Reconnects for as long as it runs (the broker is
stopped and started by the run); stops on SIGTERM. Prints "ready" on stdout once the queue
exists, so the agent is only started when nothing it publishes can be unroutable.
"""
import signal
import sys
import time

import pika

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def consume(url, exchange, queue, out, announce):
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.exchange_declare(exchange, exchange_type="topic", durable=True)
    ch.queue_declare(queue, durable=True)
    ch.queue_bind(queue, exchange, routing_key="#")
    ch.basic_qos(prefetch_count=1000)
    if announce:
        print("ready", flush=True)
    for method, props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=0.5):
        if stop:
            break
        if method is None:
            continue
        app_id = (props.app_id or "").encode()
        out.write(b"%d\t%s\t" % (int(method.redelivered), app_id) +
                  body.replace(b"\n", b" ") + b"\n")
        out.flush()
        ch.basic_ack(method.delivery_tag)
    conn.close()


def main():
    url, exchange, queue, path = sys.argv[1:5]
    signal.signal(signal.SIGTERM, on_term)
    announce = True
    with open(path, "ab") as out:
        while not stop:
            try:
                consume(url, exchange, queue, out, announce)
                announce = False
            except Exception as e:  # any broker/connection error: reconnect
                if announce is False or not stop:
                    sys.stderr.write("rmq_consume: %s: %s\n" % (type(e).__name__, e))
                time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
