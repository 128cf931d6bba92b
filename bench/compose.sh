#!/usr/bin/env bash
# Compose benchmark (issue 15): `rcon compose` side by side with
# podman-compose on podman, same three-service file, same image already
# present. Not a test: it prints figures (median of N rounds, ms).
#   bench/compose.sh [RCON_BINARY] [ROUNDS]
# Run it as the user you want to measure (rootless: an unprivileged user).
# podman-compose comes from the test venv (contrib/test-setup/api-clients.sh).
set -euo pipefail
RCON=${1:-target/release/rcon}
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
N=${2:-10}
VENV=${RCON_TEST_VENV:-/opt/rcon-test-venv}
PCOMPOSE=$VENV/bin/podman-compose
work=$(mktemp -d /tmp/rcon-bench-compose.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ "$(id -u)" = 0 ]; then export RCON_ROOT=$work/data/rcon RCON_RUNROOT=$work/run/rcon; fi
have_podman=false
cleanup() {
    (cd "$work/proj" && "$RCON" compose down -t 0 >/dev/null 2>&1) || true
    if $have_podman; then (cd "$work/proj" && "$PCOMPOSE" down -t 0 >/dev/null 2>&1) || true; fi
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# busybox from the static binary, in both stores
root=$work/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo cat test; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' - busybox >/dev/null
"$RCON" save -o "$work/busybox.tar" busybox
if [ -x "$PCOMPOSE" ] && command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    have_podman=true
    podman tag "$(podman images -q --filter reference=localhost/busybox | head -1)" docker.io/library/busybox:latest >/dev/null 2>&1 || true
fi

# Three services as people write them: a database with a healthcheck, a
# web service that waits for it, a worker. Each stops on SIGTERM at once
# (a trap), so that `down` measures the engine, not a 10 s stop timeout.
mkdir -p "$work/proj"
cat > "$work/proj/compose.yaml" <<'EOF'
services:
  db:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    depends_on: [db]
  worker:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
EOF

# rounds TOOL...: N rounds of up -d, ps, no-change up -d, down (and, apart,
# up -d --wait then down); the medians of each step, in ms.
rounds() {
    python3 - "$N" "$@" <<'PY'
import statistics, subprocess, sys, time
n, tool = int(sys.argv[1]), sys.argv[2:]
def t(*args):
    a = time.perf_counter()
    r = subprocess.run(tool + list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - a) * 1000 if r.returncode == 0 else None
steps = {k: [] for k in ("up", "ps", "reup", "down", "wait")}
t("down", "-t", "0")
for _ in range(n):
    for k, args in (("up", ("up", "-d")), ("ps", ("ps",)), ("reup", ("up", "-d")), ("down", ("down",))):
        steps[k].append(t(*args))
    steps["wait"].append(t("up", "-d", "--wait"))
    t("down")
def med(v):
    return "-" if not v or None in v else "%.1f" % statistics.median(v)
print(" ".join(med(steps[k]) for k in ("up", "wait", "ps", "reup", "down")))
PY
}

cd "$work/proj"
read -r r_up r_wait r_ps r_reup r_down < <(rounds "$RCON" compose)
p_up=- p_wait=- p_ps=- p_reup=- p_down=-
if $have_podman; then read -r p_up p_wait p_ps p_reup p_down < <(rounds "$PCOMPOSE"); fi

row() { printf '%-46s %12s %16s %8s\n' "$@"; }
ratio() { { [ "$1" = "-" ] || [ "$2" = "-" ]; } && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
row "compose, 3 services ($N rounds, median)" "rcon ms" "podman-compose ms" "speedup"
row "up -d (to all running)" "$r_up" "$p_up" "$(ratio "$r_up" "$p_up")"
row "up -d --wait (to all healthy)" "$r_wait" "$p_wait" "$(ratio "$r_wait" "$p_wait")"
row "ps" "$r_ps" "$p_ps" "$(ratio "$r_ps" "$p_ps")"
row "up -d, nothing changed" "$r_reup" "$p_reup" "$(ratio "$r_reup" "$p_reup")"
row "down" "$r_down" "$p_down" "$(ratio "$r_down" "$p_down")"
