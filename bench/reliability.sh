#!/usr/bin/env bash
# The reliability campaign of issue 12, for rcon and podman side by side:
# the prune race (RUNS `run --rm busybox true` while `container prune -f`
# loops) and SIGKILL at random points of `rm`, `build` and `run -d` (KILLS
# each; the point drawn from a seeded RANDOM over the command's typical
# duration, measured first), each kill followed by the next state-changing
# command (`run --rm busybox true`, whose failure counts) and a look for
# leftovers. Not a test: it prints figures.
#   bench/reliability.sh [RCON_BINARY] [KILLS] [RUNS] [SEED]
# As root it runs itself as the test user (RCON_BENCH_USER, default rcontest).
#
# Leftovers, after the next command:
#   rcon:   entries of DATA/containers without a record that parses, `.rm-*`
#           of dead processes, runtime directories of containers that are gone,
#           scratch of dead processes in DATA/tmp (counted once at the end)
#   podman: storage containers no podman container owns (`ps -a --external`
#           minus `ps -a`: what a killed build or create leaves to
#           `system prune --external`), and an unreadable `ps -a`
set -euo pipefail
RCON=${1:-target/release/rcon}
KILLS=${2:-20}
RUNS=${3:-40}
SEED=${4:-12}
if [ "$(id -u)" = 0 ] && [ -z "${RCON_BENCH_AS_USER:-}" ]; then
    user=${RCON_BENCH_USER:-rcontest}
    base=$(mktemp -d /tmp/rcon-relbench.XXXXXX)
    chmod 755 "$base"
    cp "$RCON" "$base/rcon"; cp "$0" "$base/reliability.sh"; chmod 755 "$base/rcon" "$base/reliability.sh"
    chown -R "$user:$user" "$base"
    uid=$(id -u "$user")
    set +e
    setpriv --reuid "$user" --regid "$user" --init-groups env -i PATH="$PATH" HOME="$(getent passwd "$user" | cut -d: -f6)" \
        USER="$user" RCON_BENCH_AS_USER=1 RCON_BENCH_BASE="$base" bash "$base/reliability.sh" "$base/rcon" "$KILLS" "$RUNS" "$SEED"
    rc=$?
    rm -rf "$base" 2>/dev/null || true
    exit $rc
fi
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
work=$(mktemp -d "${RCON_BENCH_BASE:-/tmp}/work.XXXXXX")
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/containers" && chmod 700 "$XDG_RUNTIME_DIR"
# podman as docs/TESTING.md configures it here, in the same private directories
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n' >"$XDG_CONFIG_HOME/containers/containers.conf"
printf '[storage]\ndriver = "overlay"\n' >"$XDG_CONFIG_HOME/containers/storage.conf"
cleanup() {
    "$RCON" rm -f $("$RCON" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    podman rm -f -t 0 -a >/dev/null 2>&1 || true
    podman system reset -f >/dev/null 2>&1 || true
    unshare --map-root-user --map-auto rm -rf "$work" 2>/dev/null || rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# busybox image from the static binary, for both engines
root=$work/rootfs; mkdir -p "$root/bin" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo cat; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' - busybox >/dev/null
"$RCON" save -o "$work/busybox.tar" busybox
have_podman=false
if command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    podman tag "$(podman images -q | head -1)" localhost/busybox:latest >/dev/null 2>&1 || true
    have_podman=true
fi
ctx=$work/ctx; mkdir -p "$ctx"
printf 'FROM %s\nRUN echo one > /one\nCOPY f /f\nRUN cat /f /one > /two\n' busybox >"$ctx/Dockerfile"
head -c 65536 /dev/zero | tr '\0' x >"$ctx/f"

ms() { echo $(($(date +%s%N) / 1000000)); }
# typical duration (ms) of one run of "$@"
took() { local a b; a=$(ms); "$@" >/dev/null 2>&1 || true; b=$(ms); echo $((b - a > 1 ? b - a : 1)); }
# run "$@", SIGKILL it after $1 ms unless it ended; prints 1 if killed
kill_at() {
    local at=$1; shift
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(awk -v m="$at" 'BEGIN { printf "%.3f", m / 1000 }')"
    # an ended but unreaped command is a zombie (state Z): not a kill
    if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true; echo 1
    else
        wait "$pid" 2>/dev/null || true; echo 0
    fi
}

rcon_leftovers() {
    local d=$XDG_DATA_HOME/rcon/containers r=$XDG_RUNTIME_DIR/rcon/containers n=0 e name pid
    for e in "$d"/* "$d"/.rm-*; do
        [ -e "$e" ] || continue
        name=$(basename "$e")
        case $name in
        .rm-*)
            pid=$(echo "$name" | awk -F- '{print $(NF-2)}')
            [ -d "/proc/$pid" ] || n=$((n + 1)) ;;
        *) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$e/container.json" 2>/dev/null || n=$((n + 1)) ;;
        esac
    done
    for e in "$r"/*; do [ -e "$e" ] && [ ! -e "$d/$(basename "$e")" ] && n=$((n + 1)); done
    echo $n
}
podman_leftovers() {
    local all own
    own=$(podman ps -aq --no-trunc 2>/dev/null) || { echo 1; return; }
    all=$(podman ps -aq --no-trunc --external 2>/dev/null) || { echo 1; return; }
    comm -23 <(echo "$all" | sort) <(echo "$own" | sort) | grep -c . || true
}

# one campaign: ENGINE KIND → "runs kills failures leftovers"
campaign() {
    local eng=$1 kind=$2 image=busybox runs=0 kills=0 fails=0 left=0 typical id i=0 args
    [ "$eng" = podman ] && image=localhost/busybox
    local E=$RCON; [ "$eng" = podman ] && E=podman
    local rmf=(rm -f); [ "$eng" = podman ] && rmf=(rm -f -t 0)
    RANDOM=$SEED
    case $kind in
    rm) id=$($E run -d "$image" sleep 1000); typical=$(took "$E" "${rmf[@]}" "$id") ;;
    build) typical=$(took "$E" build --no-cache -q -t app "$ctx") ;;
    run) typical=$(took "$E" run -d "$image" sleep 1000) ;;
    esac
    while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((3 * KILLS)) ]; do
        runs=$((runs + 1))
        local at=$(((RANDOM * 32768 + RANDOM) % typical))
        case $kind in
        rm) id=$($E run -d "$image" sleep 1000); args=("${rmf[@]}" "$id") ;;
        build) args=(build --no-cache -q -t app "$ctx") ;;
        run) args=(run -d "$image" sleep 1000) ;;
        esac
        kills=$((kills + $(kill_at "$at" "$E" "${args[@]}")))
        $E run --rm "$image" true >/dev/null 2>&1 || fails=$((fails + 1))
        local l; l=$(${eng}_leftovers)
        [ "$l" -gt 0 ] && left=$((left + 1))
        i=$((i + 1))
    done
    $E rm -f $($E ps -aq) >/dev/null 2>&1 || true
    echo "$runs $kills $fails $left"
}

# the prune race: RUNS `run --rm` while prune loops → "runs 0 failures leftovers"
prune_race() {
    local eng=$1 image=busybox fails=0
    [ "$eng" = podman ] && image=localhost/busybox
    local E=$RCON; [ "$eng" = podman ] && E=podman
    touch "$work/pruning"
    (while [ -e "$work/pruning" ]; do $E container prune -f >/dev/null 2>&1; done) &
    local pruner=$!
    for _ in $(seq "$RUNS"); do $E run --rm "$image" true >/dev/null 2>&1 || fails=$((fails + 1)); done
    rm -f "$work/pruning"; wait "$pruner" || true
    $E container prune -f >/dev/null 2>&1 || true
    local left; left=$($E ps -aq | grep -c . || true)
    [ "$eng" = rcon ] && left=$((left + $(rcon_leftovers)))
    echo "$RUNS 0 $fails $left"
}

printf 'reliability campaign (seed %s, %s kills per loop, %s prune-race runs), as %s\n' "$SEED" "$KILLS" "$RUNS" "$(id -un)"
printf '%-22s %-7s %6s %6s %9s %10s\n' loop engine runs kills failures leftovers
for loop in prune rm build run; do
    for eng in rcon podman; do
        [ "$eng" = podman ] && ! $have_podman && { printf '%-22s %-7s %s\n' "$loop" podman "(podman not usable)"; continue; }
        case $loop in
        prune) set -- $(prune_race "$eng"); label="prune race (run --rm)" ;;
        rm) set -- $(campaign "$eng" rm); label="SIGKILL rm -f" ;;
        build) set -- $(campaign "$eng" build); label="SIGKILL build" ;;
        run) set -- $(campaign "$eng" run); label="SIGKILL run -d" ;;
        esac
        printf '%-22s %-7s %6s %6s %9s %10s\n' "$label" "$eng" "$1" "$2" "$3" "$4"
    done
done
# rcon: scratch of dead processes in the image store after all the builds
stale=0
for e in "$XDG_DATA_HOME"/rcon/tmp/*; do
    [ -e "$e" ] || continue
    pid=$(basename "$e" | awk -F- '{print $(NF-2)}')
    [ -d "/proc/$pid" ] || stale=$((stale + 1))
done
printf 'rcon image-store scratch of dead processes at the end: %s\n' "$stale"
