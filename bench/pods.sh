#!/usr/bin/env bash
# Pods and kube play benchmark (issue 16): rcon side by side with podman,
# same busybox image in both stores. Not a test: it prints figures
# (median of N rounds, ms).
#   bench/pods.sh [RCON_BINARY] [ROUNDS]
# Run it as the user you want to measure (rootless: an unprivileged user).
set -euo pipefail
RCON=${1:-target/release/rcon}
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
N=${2:-10}
work=$(mktemp -d /tmp/rcon-bench-pods.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ "$(id -u)" = 0 ]; then export RCON_ROOT=$work/data/rcon RCON_RUNROOT=$work/run/rcon; fi
have_podman=false
cleanup() {
    "$RCON" pod rm -f bp >/dev/null 2>&1 || true
    "$RCON" kube play --down "$work/pod.yaml" >/dev/null 2>&1 || true
    if $have_podman; then
        podman pod rm -f bp >/dev/null 2>&1 || true
        podman kube play --down "$work/pod.yaml" >/dev/null 2>&1 || true
    fi
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

root=$work/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo cat; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
tar -C "$root" -c . | "$RCON" import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - localhost/busybox:latest >/dev/null
"$RCON" save -o "$work/busybox.tar" localhost/busybox:latest
if command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    have_podman=true
    # podman's infra image: a local one, so that no round pulls.
    podman pod create --name warm >/dev/null 2>&1 && podman pod rm -f warm >/dev/null 2>&1 || true
fi

# Two containers that stop on SIGTERM at once, so that removal measures
# the engine, not a stop timeout. IfNotPresent: podman pulls :latest
# images on every play otherwise (rcon's default is already "missing").
cat > "$work/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: bk
spec:
  containers:
  - name: a
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
  - name: b
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
YAML

# rounds TOOL: N rounds of (pod create + two containers started, pod rm -f)
# and (kube play, kube play --down); medians, ms.
rounds() {
    python3 - "$N" "$1" "$work/pod.yaml" <<'PY'
import statistics, subprocess, sys, time
n, tool, yaml = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def t(*cmds):
    a = time.perf_counter()
    for c in cmds:
        if subprocess.run([tool] + list(c), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            return None
    return (time.perf_counter() - a) * 1000
sleeper = ["localhost/busybox:latest", "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
steps = {k: [] for k in ("pod", "podrm", "play", "down")}
for _ in range(n):
    steps["pod"].append(t(["pod", "create", "--name", "bp"],
                          ["run", "-d", "--pod", "bp", "--name", "bp-a"] + sleeper,
                          ["run", "-d", "--pod", "bp", "--name", "bp-b"] + sleeper))
    steps["podrm"].append(t(["pod", "rm", "-f", "-t", "0", "bp"]) if tool.endswith("podman") else t(["pod", "rm", "-f", "bp"]))
    steps["play"].append(t(["kube", "play", yaml]))
    steps["down"].append(t(["kube", "play", "--down", yaml]))
def med(v):
    return "-" if not v or None in v else "%.1f" % statistics.median(v)
print(" ".join(med(steps[k]) for k in ("pod", "podrm", "play", "down")))
PY
}

read -r r_pod r_rm r_play r_down < <(rounds "$RCON")
p_pod=- p_rm=- p_play=- p_down=-
if $have_podman; then read -r p_pod p_rm p_play p_down < <(rounds "$(command -v podman)"); fi

row() { printf '%-50s %10s %10s %8s\n' "$@"; }
ratio() { { [ "$1" = "-" ] || [ "$2" = "-" ]; } && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
row "pods, two containers ($N rounds, median)" "rcon ms" "podman ms" "speedup"
row "pod create + 2 containers started" "$r_pod" "$p_pod" "$(ratio "$r_pod" "$p_pod")"
row "pod rm -f (2 running containers)" "$r_rm" "$p_rm" "$(ratio "$r_rm" "$p_rm")"
row "kube play (two-container pod)" "$r_play" "$p_play" "$(ratio "$r_play" "$p_play")"
row "kube play --down" "$r_down" "$p_down" "$(ratio "$r_down" "$p_down")"
