#!/usr/bin/env bash
# Runtime benchmark (issue: run/ps/monitor figures), side by side with podman
# when it is installed and usable. Not a test: it prints figures.
#   bench/runtime.sh [RCON_BINARY] [ITERATIONS]
# Run it as the user you want to measure (rootless: an unprivileged user).
set -euo pipefail
RCON=${1:-target/release/rcon}
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
N=${2:-30}
work=$(mktemp -d /tmp/rcon-bench.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ "$(id -u)" = 0 ]; then export RCON_ROOT=$work/data/rcon RCON_RUNROOT=$work/run/rcon; fi
cleanup() { "$RCON" rm -f $("$RCON" ps -aq) >/dev/null 2>&1 || true; "$RCON" image prune -af >/dev/null 2>&1 || true; rm -rf "$work" 2>/dev/null || true; }
trap cleanup EXIT

# busybox image from the static binary
root=$work/rootfs; mkdir -p "$root/bin" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' - busybox >/dev/null
"$RCON" save -o "$work/busybox.tar" busybox

ms() { date +%s%N; }
# median of N timings (ms, 1 decimal) of "$@": hyperfine when installed
# (no shell in between), else a loop around date(1).
median() {
    if command -v hyperfine >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 && [ "$(type -t "$1")" = file ]; then
        local cmd; cmd=$(printf '%q ' "$@")
        hyperfine -N -w 2 -r "$N" --export-json "$work/h.json" "$cmd" >/dev/null 2>&1 \
            && python3 -c "import json; print('%.1f' % (json.load(open('$work/h.json'))['results'][0]['median'] * 1000))" && return
    fi
    median_loop "$@"
}
median_loop() {
    local t=()
    for _ in $(seq "$N"); do
        local a; a=$(ms); "$@" >/dev/null 2>&1; local b; b=$(ms)
        t+=( $(( (b - a) / 100000 )) )
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%d.%d", m/10, m%10}'
}

have_podman=false
if command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    have_podman=true
    podman tag "$(podman images -q | head -1)" localhost/busybox:latest >/dev/null 2>&1 || true
fi
row() { printf '%-34s %12s %12s %8s\n' "$@"; }
ratio() { [ "$2" = "-" ] && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }

row "benchmark ($N runs, median)" "rcon ms" "podman ms" "speedup"
r=$(median "$RCON" run --rm busybox true); p=-
$have_podman && p=$(median podman run --rm localhost/busybox true)
row "run --rm busybox true" "$r" "$p" "$(ratio "$r" "$p")"

# rm -f kills at once in Docker (and rcon); podman needs -t 0 for the same.
cycle() { id=$("$1" run -d "$2" sleep 100); "$1" rm -f ${3:-} "$id"; }
r=$(median cycle "$RCON" busybox); p=-
$have_podman && p=$(median cycle podman localhost/busybox "-t 0")
row "run -d + rm -f" "$r" "$p" "$(ratio "$r" "$p")"

for i in $(seq 100); do "$RCON" create busybox true >/dev/null; done
r=$(median "$RCON" ps -a); p=-
if $have_podman; then for i in $(seq 100); do podman create localhost/busybox true >/dev/null; done; p=$(median podman ps -a); fi
row "ps -a with 100 containers" "$r" "$p" "$(ratio "$r" "$p")"
"$RCON" rm -f $("$RCON" ps -aq) >/dev/null
$have_podman && podman rm -f $(podman ps -aq) >/dev/null 2>&1 || true

id=$("$RCON" run -d busybox sleep 100)
# Steady state: the monitor trims its start-up memory after a quiet second.
sleep 2
mon=$(python3 -c "import json,sys; print(json.load(open('$XDG_DATA_HOME/rcon/containers/$id/state.json'))['monitor_pid'])" 2>/dev/null \
      || grep -o '"monitor_pid": *[0-9]*' "${RCON_ROOT:-$XDG_DATA_HOME/rcon}/containers/$id/state.json" | grep -o '[0-9]*$')
rss=$(awk '/VmRSS/ {print $2}' /proc/"$mon"/status)
prss=-
if $have_podman; then
    podman run -d --name rss localhost/busybox sleep 100 >/dev/null
    sleep 2
    cpid=$(pgrep -n conmon || true)
    [ -n "$cpid" ] && prss=$(awk '/VmRSS/ {print $2}' /proc/"$cpid"/status)
    podman rm -f -t 0 rss >/dev/null
fi
row "monitor RSS (KiB)" "$rss" "$prss (conmon)" ""
