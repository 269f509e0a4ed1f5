#!/usr/bin/env bash
# tls.sh - TLS and SASL of the outputs against real components on loopback.
#
#   tls.sh AGENT RMQ_TOOL RABBITMQ_SH MOCK_KAFKA
#
# The test makes its own certificates with openssl (a CA, a server certificate for
# 127.0.0.1/localhost signed by it, and an unrelated CA), then checks:
#   RabbitMQ (a private rabbitmq-server with a TLS listener):
#     1. amqps with ca_file = the CA: every line arrives, the agent exits 0;
#     2. ca_file = the unrelated CA: a clear verification error, nothing delivered, and
#        after a restart with the right CA every line arrives once (nothing lost);
#     3. verify_peer: false: `check` and `run` warn at start; the lines still arrive.
#   Kafka (the mock cluster has no TLS listener and no SASL; see docs/security.md):
#     4. tls against a real TLS server (openssl s_server with the same certificate):
#        the unrelated CA gives "certificate verify failed"; the right CA completes the
#        handshake (the server receives the client's first Kafka request);
#     5. tls.verify: false warns at start;
#     6. sasl PLAIN and SCRAM-SHA-256 against the mock cluster: the mechanism reaches
#        the broker (its refusal names it), the password is never printed.
# Prints "PASS: ..." / "FAIL: ..." per check and a summary; exit 1 on any failure.
set -u -o pipefail

[ $# -eq 4 ] || { echo "usage: $0 AGENT RMQ_TOOL RABBITMQ_SH MOCK_KAFKA" >&2; exit 2; }
AGENT=$1 RMQ_TOOL=$2 RMQ_SH=$3 MOCK=$4
for t in openssl rabbitmq-server; do
    command -v "$t" >/dev/null || { echo "tls.sh: $t not installed" >&2; exit 2; }
done

W=$(mktemp -d /tmp/lf-it-tls.XXXXXX)
chmod 755 "$W"
NODE="lftls$$@localhost"
AMQP=$((6800 + $$ % 400 * 2))
AMQPS=$((AMQP + 1))
DIST=$((AMQP + 20000))
KPORT=$((AMQP + 1000))
PASS=0 FAIL=0
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
    [ -d "$W/broker" ] && "$RMQ_SH" stop "$W/broker" "$NODE" 40 >/dev/null 2>&1
    [ -n "${TLS_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

ok() { echo "PASS: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); [ -n "${2:-}" ] && tail -n 20 "$2" | sed 's/^/    | /'; }

# wait_for SECONDS CMD...: true as soon as CMD succeeds (polled every 0.2 s)
wait_for() {
    local end=$(($(date +%s) + $1))
    shift
    while ! "$@"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}
in_log() { grep -q -a -- "$2" "$1" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- certificates ---------------------------------------------------------------
C=$W/certs
mkdir -p "$C"
{
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 2 \
        -subj /CN=logferry-test-ca &&
        openssl req -newkey rsa:2048 -nodes -keyout "$C/srv.key" -out "$C/srv.csr" \
            -subj /CN=127.0.0.1 &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$C/san.ext" &&
        openssl x509 -req -in "$C/srv.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
            -out "$C/srv.pem" -days 2 -extfile "$C/san.ext" &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/other.key" -out "$C/other-ca.pem" \
            -days 2 -subj /CN=unrelated-ca
} >"$W/openssl.log" 2>&1 || { cat "$W/openssl.log"; echo "tls.sh: openssl failed" >&2; exit 1; }
chmod 644 "$C"/*

# ---- agent helpers --------------------------------------------------------------
# lines FILE N TAG: N numbered lines
lines() { seq 1 "$2" | sed "s/^/2026-12-03 12:00:00 $3 line /" >"$1"; }
# agent_conf DIR OUTPUT_YAML: config with one input (DIR/in.log) and the given output
agent_conf() {
    mkdir -p "$1/state"
    cat >"$1/agent.yaml" <<EOF
agent: { name: tls-test, state_dir: $1/state, shutdown_timeout: 5s, plugin_dir: $PLUGIN_DIR }
inputs:
  - { name: in, paths: [$1/in.log], start_at: beginning }
outputs:
$2
EOF
}
# start_agent DIR: runs the agent in the background, its log in DIR/agent.log
start_agent() {
    "$AGENT" run -c "$1/agent.yaml" >"$1/agent.out" 2>>"$1/agent.log" &
    APID=$!
    PIDS+=("$APID")
}
stop_agent() { # -> the agent's exit code (SIGTERM, bounded wait, then SIGKILL)
    kill -TERM "$APID" 2>/dev/null
    local i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$APID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$APID" 2>/dev/null
    wait "$APID"
}
depth() { [ "$("$RMQ_TOOL" depth "$URL" "$1" 2>/dev/null)" = "$2" ]; }

PLUGIN_DIR=$(dirname "$AGENT")/../plugins
# the plugins are found in one directory: link both next to each other
mkdir -p "$W/plugins"
for p in rabbitmq kafka; do
    ln -sf "$(cd "$PLUGIN_DIR/out_$p" && pwd)/out_$p.so" "$W/plugins/out_$p.so"
done
PLUGIN_DIR=$W/plugins

# ---- RabbitMQ with a TLS listener -----------------------------------------------
mkdir -p "$W/broker"
cat >"$W/broker/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$AMQPS
ssl_options.cacertfile = $C/ca.pem
ssl_options.certfile = $C/srv.pem
ssl_options.keyfile = $C/srv.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
URL="amqp://guest:guest@127.0.0.1:$AMQP/%2f"
# localhost, not 127.0.0.1: librabbitmq checks the certificate's DNS names only, so an
# IP address in an amqps URL fails hostname verification (docs/security.md)
TLS_URL="amqps://guest:guest@localhost:$AMQPS/%2f"
if ! "$RMQ_SH" start "$W/broker" "$NODE" "$AMQP" "$DIST" 90 || ! wait_for 30 port_open "$AMQPS"; then
    "$RMQ_SH" logs "$W/broker" | tail -n 40
    echo "tls.sh: rabbitmq-server did not start with its TLS listener" >&2
    exit 1
fi

# 1. verified TLS: all lines arrive
D=$W/rmq-ok
mkdir -p "$D"
lines "$D/in.log" 200 ok
"$RMQ_TOOL" declare "$URL" tls.ok.q tls.ok '#' >/dev/null
agent_conf "$D" "  - { name: r, plugin: rabbitmq, url: '$TLS_URL', exchange: tls.ok, ca_file: $C/ca.pem }"
start_agent "$D"
if wait_for 30 depth tls.ok.q 200; then ok "rabbitmq amqps with ca_file: 200 lines arrived"; else
    bad "rabbitmq amqps with ca_file: depth $("$RMQ_TOOL" depth "$URL" tls.ok.q) of 200" "$D/agent.log"; fi
rc=0; stop_agent || rc=$?
[ "$rc" = 0 ] && ok "rabbitmq amqps: agent exits 0" || bad "rabbitmq amqps: agent exit $rc" "$D/agent.log"

# 2. unrelated CA: refused with a clear error, nothing delivered, nothing lost
D=$W/rmq-badca
mkdir -p "$D"
lines "$D/in.log" 100 badca
"$RMQ_TOOL" declare "$URL" tls.badca.q tls.badca '#' >/dev/null
agent_conf "$D" "  - { name: r, plugin: rabbitmq, url: '$TLS_URL', exchange: tls.badca, ca_file: $C/other-ca.pem }"
start_agent "$D"
if wait_for 30 in_log "$D/agent.log" "verif"; then
    ok "rabbitmq wrong CA: verification error logged ($(grep -a -m1 verif "$D/agent.log" | cut -c1-160))"
else bad "rabbitmq wrong CA: no verification error in the log" "$D/agent.log"; fi
depth tls.badca.q 0 && ok "rabbitmq wrong CA: nothing delivered" || bad "rabbitmq wrong CA: records delivered"
rc=0; stop_agent || rc=$?
[ "$rc" = 0 ] && ok "rabbitmq wrong CA: agent exits 0 on SIGTERM" || bad "rabbitmq wrong CA: exit $rc" "$D/agent.log"
agent_conf "$D" "  - { name: r, plugin: rabbitmq, url: '$TLS_URL', exchange: tls.badca, ca_file: $C/ca.pem }"
start_agent "$D"
if wait_for 30 depth tls.badca.q 100; then ok "rabbitmq wrong CA, then right CA: all 100 lines arrive"; else
    bad "rabbitmq right CA after wrong: depth $("$RMQ_TOOL" depth "$URL" tls.badca.q) of 100" "$D/agent.log"; fi
stop_agent >/dev/null
st=$("$RMQ_TOOL" drain "$URL" tls.badca.q 1000)
case "$st" in *"received=100 unique=100 duplicates=0"*) ok "rabbitmq wrong CA, then right CA: no duplicate" ;;
*) bad "rabbitmq wrong CA, then right CA: $st" ;; esac

# 2b. an IP address in an amqps URL is named at start (it cannot pass hostname checks)
D=$W/rmq-ip
mkdir -p "$D"
lines "$D/in.log" 1 ip
agent_conf "$D" "  - { name: r, plugin: rabbitmq, url: 'amqps://guest:guest@127.0.0.1:$AMQPS/%2f', exchange: tls.ip, ca_file: $C/ca.pem }"
"$AGENT" check -c "$D/agent.yaml" >"$D/check.out" 2>&1
grep -q "IP address cannot pass hostname verification" "$D/check.out" &&
    ok "rabbitmq amqps to an IP address: check explains hostname verification" ||
    bad "rabbitmq amqps to an IP address: no warning" "$D/check.out"

# 3. verify_peer: false warns at start
D=$W/rmq-insecure
mkdir -p "$D"
lines "$D/in.log" 10 insecure
"$RMQ_TOOL" declare "$URL" tls.insec.q tls.insec '#' >/dev/null
agent_conf "$D" "  - { name: r, plugin: rabbitmq, url: '$TLS_URL', exchange: tls.insec, verify_peer: false }"
"$AGENT" check -c "$D/agent.yaml" >"$D/check.out" 2>&1
grep -q "verify_peer: false" "$D/check.out" && ok "rabbitmq verify_peer false: check warns" ||
    bad "rabbitmq verify_peer false: no warning from check" "$D/check.out"
start_agent "$D"
wait_for 30 depth tls.insec.q 10 && ok "rabbitmq verify_peer false: lines arrive" ||
    bad "rabbitmq verify_peer false: not delivered" "$D/agent.log"
stop_agent >/dev/null
in_log "$D/agent.log" "verify_peer: false" && ok "rabbitmq verify_peer false: run warns at start" ||
    bad "rabbitmq verify_peer false: no warning from run" "$D/agent.log"

# ---- Kafka TLS against a real TLS server ------------------------------------------
# s_server answers the TLS handshake with the same certificate and prints what the
# client sends after it: the client's first Kafka request names its client.id.
kafka_tls_case() { # name ca_file expect(verify-failed|handshake)
    local D=$W/kafka-$1 spid
    mkdir -p "$D"
    lines "$D/in.log" 5 "$1"
    mkfifo "$D/stdin" # opened read-write: s_server never sees end-of-input and stays up
    openssl s_server -accept "127.0.0.1:$KPORT" -cert "$C/srv.pem" -key "$C/srv.key" \
        >"$D/s_server.out" 2>&1 <>"$D/stdin" &
    spid=$!
    PIDS+=("$spid")
    wait_for 10 port_open "$KPORT"
    agent_conf "$D" "  - { name: k, plugin: kafka, brokers: '127.0.0.1:$KPORT', topic: t, client_id: lf-tls-probe, tls: { ca_file: $2 } }"
    start_agent "$D"
    if [ "$3" = verify-failed ]; then
        wait_for 20 in_log "$D/agent.log" "certificate verify failed" &&
            ok "kafka tls wrong CA: 'certificate verify failed' logged" ||
            bad "kafka tls wrong CA: no verification error" "$D/agent.log"
    else
        wait_for 20 in_log "$D/s_server.out" "lf-tls-probe" &&
            ok "kafka tls right CA: handshake done, the server read the client's Kafka request" ||
            bad "kafka tls right CA: nothing reached the server" "$D/s_server.out"
        in_log "$D/agent.log" "certificate verify failed" &&
            bad "kafka tls right CA: verification failed" "$D/agent.log"
    fi
    stop_agent >/dev/null
    kill -KILL "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    wait_for 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$KPORT) 2>/dev/null"
}
kafka_tls_case badca "$C/other-ca.pem" verify-failed
kafka_tls_case goodca "$C/ca.pem" handshake

D=$W/kafka-insecure
mkdir -p "$D"
lines "$D/in.log" 1 x
agent_conf "$D" "  - { name: k, plugin: kafka, brokers: '127.0.0.1:$KPORT', topic: t, tls: { enabled: true, verify: false } }"
"$AGENT" check -c "$D/agent.yaml" >"$D/check.out" 2>&1
grep -q "tls.verify: false" "$D/check.out" && ok "kafka tls.verify false: check warns" ||
    bad "kafka tls.verify false: no warning" "$D/check.out"

# ---- Kafka SASL against the mock cluster --------------------------------------------
"$MOCK" -b 1 -t t:1:1 </dev/null >"$W/mock.out" 2>"$W/mock.err" &
MPID=$!
PIDS+=("$MPID")
wait_for 10 test -s "$W/mock.out" || { echo "tls.sh: mock-kafka did not start" >&2; exit 1; }
BROKERS=$(head -n1 "$W/mock.out")
for mech in PLAIN SCRAM-SHA-256 SCRAM-SHA-512; do
    D=$W/sasl-$mech
    mkdir -p "$D"
    lines "$D/in.log" 3 "$mech"
    agent_conf "$D" "  - { name: k, plugin: kafka, brokers: '$BROKERS', topic: t, sasl: { mechanism: $mech, username: probe, password: s3cret-$mech-pw } }"
    start_agent "$D"
    wait_for 20 in_log "$D/agent.log" "mechanism $mech" &&
        ok "kafka sasl $mech: the mechanism reached the broker (the mock refuses SASL)" ||
        bad "kafka sasl $mech: no SASL exchange" "$D/agent.log"
    stop_agent >/dev/null
    grep -q -a "s3cret-$mech-pw" "$D/agent.log" "$D/agent.out" &&
        bad "kafka sasl $mech: the password was printed" || ok "kafka sasl $mech: password never printed"
done

echo "tls: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
