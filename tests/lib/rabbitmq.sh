#!/bin/bash
# rabbitmq.sh - start and stop a private rabbitmq-server node for the tests.
#
# Each node gets its own data dir, node name and ports on 127.0.0.1, so runs never touch
# a system broker or each other. No systemd: the VM runs in its own session (setsid).
#
#   rabbitmq.sh start DIR NODE AMQP_PORT DIST_PORT [TIMEOUT_S]  start, wait for AMQP port
#   rabbitmq.sh ctl DIR NODE ARGS...                             rabbitmqctl on that node
#   rabbitmq.sh stop DIR NODE [TIMEOUT_S]                        stop the node (not by name)
#   rabbitmq.sh logs DIR                                         dump the node's logs
#
# DIR must be creatable by root and traversable by the rabbitmq user (mktemp -d in /tmp).
set -eu

usage() {
    echo "usage: $0 start DIR NODE AMQP_PORT DIST_PORT [TIMEOUT_S] | ctl DIR NODE ARGS... |" \
         "stop DIR NODE [TIMEOUT_S] | logs DIR" >&2
    exit 64
}

# port_open PORT: true when something accepts TCP on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ctl() {
    d=$1 node=$2
    shift 2
    HOME=$d RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/log \
        RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins RABBITMQ_CONFIG_FILE=$d/rabbitmq \
        rabbitmqctl -q -n "$node" "$@"
}

start() {
    [ $# -ge 4 ] || usage
    d=$1 node=$2 port=$3 dist=$4 timeout=${5:-60}
    if port_open "$port"; then
        echo "rabbitmq.sh: port $port already in use" >&2
        exit 1
    fi
    mkdir -p "$d/mnesia" "$d/log"
    : >"$d/enabled_plugins"
    chmod 755 "$d"
    chown -R rabbitmq:rabbitmq "$d" 2>/dev/null || true
    HOME=$d RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/log \
        RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist \
        RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins RABBITMQ_CONFIG_FILE=$d/rabbitmq \
        setsid rabbitmq-server >"$d/out.log" 2>&1 </dev/null &
    launcher=$!
    echo $launcher >"$d/launcher.pid"
    # Bounded wait for the AMQP listener (event: the port accepts), not a fixed sleep.
    end=$(($(date +%s) + timeout))
    while ! port_open "$port"; do
        if ! kill -0 "$launcher" 2>/dev/null; then
            echo "rabbitmq.sh: node $node exited during startup" >&2
            tail -n 40 "$d/out.log" >&2 || true
            exit 1
        fi
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "rabbitmq.sh: node $node did not open port $port within ${timeout}s" >&2
            tail -n 40 "$d/out.log" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
    # Remember the VM's own pid: killing the launcher does not stop the VM.
    ctl "$d" "$node" eval 'list_to_integer(os:getpid()).' >"$d/vm.pid" 2>/dev/null || true
}

stop() {
    [ $# -ge 2 ] || usage
    d=$1 node=$2 timeout=${3:-30}
    ctl "$d" "$node" stop >/dev/null 2>&1 || true
    pid=$(cat "$d/vm.pid" 2>/dev/null || true)
    [ -n "$pid" ] || exit 0
    end=$(($(date +%s) + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$end" ]; then
            kill -9 "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
}

logs() {
    for f in "$1"/out.log "$1"/log/*.log; do
        [ -f "$f" ] && { echo "==> $f"; tail -n 100 "$f"; }
    done
    return 0
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start) start "$@" ;;
ctl) [ $# -ge 2 ] || usage; ctl "$@" ;;
stop) stop "$@" ;;
logs) [ $# -ge 1 ] || usage; logs "$1" ;;
*) usage ;;
esac
