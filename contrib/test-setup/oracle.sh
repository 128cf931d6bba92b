#!/usr/bin/env bash
# The oracle for differential API tests: Debian's dockerd 20.10 (API 1.41),
# rootful, on a private socket, touching neither /var/run/docker.sock nor
# /var/lib/docker, /etc/docker, iptables or the ip_forward sysctl.
# (docs/TESTING.md; contrib/test-setup/api-clients.sh installs it.)
#
#   oracle.sh start    start it if it is not running, wait until /_ping answers,
#                      print `export DOCKER_HOST=...` on stdout (eval-able; all
#                      else goes to stderr). Starting a running oracle is ok.
#   oracle.sh stop     stop it, wait until it (and its containerd) exited, and
#                      delete the br-* bridges its user networks made on the host.
#   oracle.sh status   say whether it runs; exit 0 if it answers, 3 if not.
#   oracle.sh reset    remove every oracle container and network, stop it and
#                      delete its state (data root, run dir).
#   oracle.sh nsenter CMD...   run CMD in the oracle's network namespace
#                      (netns mode: reach its published ports there).
#
# Run as root, no stdin needed. Environment: RCON_ORACLE_TIMEOUT (seconds to
# wait for start or stop, default 60); RCON_ORACLE_NETNS=1 (see below).
#
# Two network modes (chosen at start; `status` tells which one runs):
#
# host (default; the flags of docs/TESTING.md): dockerd in the host's network
#   namespace with --bridge=none --iptables=false --ip-masq=false --ip-forward=false.
#   There is no default "bridge" network: `docker run` without --network still
#   works (NetworkMode "default", the container gets a namespace with only lo,
#   like --network none, and -p is accepted and ignored), but every create
#   answers the warning "IPv4 forwarding is disabled. Networking will not work."
#   (the CLI prints it on stderr; `--network none|host` avoids it). User-defined
#   bridge networks work: dockerd adds a br-<id> bridge to the host (removed by
#   `stop`), containers on it reach each other and the host, not the outside
#   (no NAT), and `-p 127.0.0.1:H:C` works through docker-proxy from the host.
#
# netns (RCON_ORACLE_NETNS=1): dockerd in a network namespace of its own, with
#   Docker's defaults inside it (docker0 "bridge" network, iptables NAT,
#   ip_forward=1): the API answers as a stock Docker does, with no warning, and
#   nothing of it is seen in the host's namespace; published ports listen only
#   inside that namespace (`oracle.sh nsenter curl http://127.0.0.1:PORT/`).
set -euo pipefail
exec </dev/null

RUN=/run/rcon-oracle
SOCK=$RUN/docker.sock
PIDFILE=$RUN/pid
MODEFILE=$RUN/mode
LOG=$RUN/dockerd.log
DATA=/var/lib/rcon-oracle
EXEC=$RUN/exec
CONF=$RUN/daemon.json
DOCKERD=/usr/sbin/dockerd
TIMEOUT=${RCON_ORACLE_TIMEOUT:-60}
export DOCKER_HOST=unix://$SOCK

say() { printf 'oracle: %s\n' "$*" >&2; }
die() { printf 'oracle: error: %s\n' "$*" >&2; exit 1; }

ping_ok() { curl -sf --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
api() { curl -sf --max-time 10 --unix-socket "$SOCK" "http://localhost$1"; }

# The pid of the oracle's dockerd, if it runs (empty otherwise).
oracle_pid() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
    # Only ours: a dockerd whose command line names our socket.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$DOCKERD .*--host unix://$SOCK" || return 0
    echo "$pid"
}

# Pids of the containerd that dockerd started for us (its state is under our exec root).
managed_containerd_pids() {
    local p
    for p in $(pgrep -x containerd 2>/dev/null || true); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$EXEC/containerd" && echo "$p"
    done
    return 0
}

deadline_passed() { [ "$(date +%s)" -ge "$1" ]; }

# alive PID: it exists and is not a zombie.
alive() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# After a crash (dockerd SIGKILLed), its containerd may linger, or its pid file
# may name a dead (or zombie) process: dockerd 20.10 then takes it as "still
# running" and times out waiting for it. End the one and drop the other.
clean_stale_containerd() {
    local left deadline
    left=$(managed_containerd_pids)
    if [ -n "$left" ]; then
        say "ending a containerd left by an earlier oracle: $left"
        # shellcheck disable=SC2086
        kill -TERM $left 2>/dev/null || true
        deadline=$(( $(date +%s) + 10 ))
        while left=$(managed_containerd_pids) && [ -n "$left" ]; do
            # shellcheck disable=SC2086
            deadline_passed "$deadline" && { kill -KILL $left 2>/dev/null || true; }
            sleep 0.1
        done
    fi
    rm -f "$EXEC/containerd/containerd.pid"
}

start() {
    [ "$(id -u)" = 0 ] || die "run as root (the oracle is Debian's rootful dockerd)"
    [ -x "$DOCKERD" ] || die "$DOCKERD is missing: run contrib/test-setup/api-clients.sh first"
    local pid deadline started='' mode=host
    [ "${RCON_ORACLE_NETNS:-0}" = 1 ] && mode=netns
    pid=$(oracle_pid)
    if [ -n "$pid" ] && [ "$(cat "$MODEFILE" 2>/dev/null || echo host)" != "$mode" ]; then
        say "note: already running in $(cat "$MODEFILE" 2>/dev/null || echo host) mode (stop it first to change to $mode)"
    fi
    if [ -z "$pid" ]; then
        if [ -e /run/containerd/containerd.sock ]; then
            say "warning: a system containerd socket exists (/run/containerd/containerd.sock): dockerd 20.10 will use it instead of a private one"
        fi
        clean_stale_containerd
        mkdir -p "$RUN" "$DATA"
        chmod 0711 "$RUN"
        rm -f "$PIDFILE"
        # Our own config file, so that a host /etc/docker/daemon.json is never read;
        # it also keeps the trust key out of /etc/docker (there is no flag for it in 20.10).
        printf '{\n  "deprecated-key-path": "%s/key.json"\n}\n' "$DATA" >"$CONF"
        echo "$mode" >"$MODEFILE"
        local args=(--host "unix://$SOCK" --data-root "$DATA" --exec-root "$EXEC"
                    --pidfile "$PIDFILE" --config-file "$CONF")
        say "starting $DOCKERD in $mode mode (log: $LOG)"
        # setsid: its own session, so it outlives this script and a CI step's
        # process group. A background job is no group leader, so setsid (and
        # unshare, and sh) exec: $! is dockerd's pid.
        if [ "$mode" = host ]; then
            PATH=/usr/sbin:/usr/bin:/sbin:/bin setsid "$DOCKERD" "${args[@]}" \
                --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
                --bridge=none \
                >>"$LOG" 2>&1 </dev/null &
        else
            # shellcheck disable=SC2016
            PATH=/usr/sbin:/usr/bin:/sbin:/bin setsid unshare --net sh -c \
                'ip link set lo up && sysctl -qw net.ipv4.ip_forward=1 && exec "$@"' sh \
                "$DOCKERD" "${args[@]}" \
                >>"$LOG" 2>&1 </dev/null &
        fi
        started=$!
    fi
    deadline=$(( $(date +%s) + TIMEOUT ))
    until ping_ok; do
        if deadline_passed "$deadline"; then
            tail -n 20 "$LOG" >&2 || true
            die "dockerd did not answer /_ping on $SOCK within ${TIMEOUT}s"
        fi
        # Gone before it answered: say why at once rather than wait out the deadline.
        if [ -n "$started" ] && ! alive "$started"; then
            tail -n 20 "$LOG" >&2 || true
            die "dockerd exited during start-up (log: $LOG)"
        fi
        sleep 0.1
    done
    say "running ($(cat "$MODEFILE" 2>/dev/null || echo host) mode), pid $(cat "$PIDFILE"), API $(curl -s --unix-socket "$SOCK" -o /dev/null -D - http://localhost/_ping | tr -d '\r' | sed -n 's/^Api-Version: //p')"
    echo "export DOCKER_HOST=unix://$SOCK"
}

# The host bridges of the oracle's user networks (host mode only).
oracle_bridges() {
    [ "$(cat "$MODEFILE" 2>/dev/null || echo host)" = host ] || return 0
    api '/v1.41/networks?filters=%7B%22driver%22%3A%5B%22bridge%22%5D%7D' 2>/dev/null \
        | /usr/bin/python3 -c '
import json, sys
for n in json.load(sys.stdin):
    print(n.get("Options", {}).get("com.docker.network.bridge.name") or "br-" + n["Id"][:12])' 2>/dev/null || true
}

stop() {
    local pid deadline bridges=''
    pid=$(oracle_pid)
    if [ -z "$pid" ]; then
        say "not running"
    else
        ping_ok && bridges=$(oracle_bridges)
        say "stopping pid $pid"
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$(( $(date +%s) + TIMEOUT ))
        while alive "$pid"; do
            if deadline_passed "$deadline"; then
                say "still running after ${TIMEOUT}s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                deadline=$(( $(date +%s) + 10 ))
            fi
            sleep 0.1
        done
    fi
    # Its containerd exits after it; wait for that too (and end it if dockerd was killed).
    local left
    deadline=$(( $(date +%s) + 20 ))
    while left=$(managed_containerd_pids) && [ -n "$left" ]; do
        if deadline_passed "$deadline"; then
            say "ending the oracle's containerd: $left"
            # shellcheck disable=SC2086
            kill -KILL $left 2>/dev/null || true
            deadline=$(( $(date +%s) + 10 ))
        fi
        sleep 0.1
    done
    # dockerd leaves its user networks' bridges on the host; it makes them anew at start.
    local br
    for br in $bridges; do
        ip link del "$br" 2>/dev/null || true
    done
    # The plugin discovery directory that 20.10 always creates (when it is all there is).
    if [ -d /run/docker ] && [ -z "$(ls -A /run/docker/plugins 2>/dev/null)" ] \
        && [ "$(ls -A /run/docker)" = plugins ]; then
        rmdir /run/docker/plugins /run/docker 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    say "stopped"
}

status() {
    local pid
    pid=$(oracle_pid)
    if [ -n "$pid" ] && ping_ok; then
        say "running ($(cat "$MODEFILE" 2>/dev/null || echo host) mode), pid $pid, $(api /version | sed -n 's/.*"Version":"\([^"]*\)","ApiVersion":"\([^"]*\)".*/dockerd \1, API \2/p')"
        echo "export DOCKER_HOST=unix://$SOCK"
        return 0
    elif [ -n "$pid" ]; then
        say "pid $pid exists but $SOCK does not answer /_ping"
    else
        say "not running"
    fi
    return 3
}

reset() {
    if [ -n "$(oracle_pid)" ] && ping_ok; then
        local ids
        ids=$(/usr/bin/docker ps -aq)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || /usr/bin/docker rm -f $ids >/dev/null
        /usr/bin/docker network prune -f >/dev/null
    fi
    stop
    rm -rf "$DATA" "$RUN"
    say "state removed ($DATA, $RUN)"
}

in_netns() {
    local pid
    pid=$(oracle_pid)
    [ -n "$pid" ] || die "not running"
    [ "$#" -gt 0 ] || die "usage: $0 nsenter CMD..."
    exec nsenter -t "$pid" -n "$@"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    reset) reset ;;
    nsenter) shift; in_netns "$@" ;;
    *) echo "usage: $0 start|stop|status|reset|nsenter CMD..." >&2; exit 2 ;;
esac
