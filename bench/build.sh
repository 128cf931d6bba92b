#!/usr/bin/env bash
# Build benchmark (issue 5), side by side with `podman build` when it is
# installed and usable. Not a test: it prints figures.
#   bench/build.sh [RCON_BINARY] [RUNS]
# Run it as the user you want to measure (rootless: an unprivileged user).
# (a) a 10-step Dockerfile built cold (--no-cache), (b) rebuilt with nothing
# changed, (c) rebuilt with one source file changed; optionally (d), the
# issue's Debian case: FROM a debootstrap image, RUN apt-get update && apt-get
# install -y --no-install-recommends python3-minimal, built once, cold (it
# needs the container's egress to Debian's mirror). (d) uses DEBIAN_TAR (a
# tarball of a Debian root file system, e.g. made as root with
# `debootstrap --variant=minbase bookworm DIR && tar -C DIR -cf debian.tar .`),
# or makes one with debootstrap when run as root; otherwise it is skipped.
set -euo pipefail
RCON=${1:-target/release/rcon}
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
N=${2:-5}
work=$(mktemp -d /tmp/rcon-bench-build.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# podman as docs/TESTING.md configures it on these hosts (cgroup v1, no systemd)
mkdir -p "$XDG_CONFIG_HOME/containers"
printf '[engine]\ncgroup_manager="cgroupfs"\nevents_logger="file"\nruntime="runc"\n' > "$XDG_CONFIG_HOME/containers/containers.conf"
printf '[storage]\ndriver="overlay"\n' > "$XDG_CONFIG_HOME/containers/storage.conf"
if [ "$(id -u)" = 0 ]; then export RCON_ROOT=$work/data/rcon RCON_RUNROOT=$work/run/rcon; fi
cleanup() {
    "$RCON" image prune -af >/dev/null 2>&1 || true
    command -v podman >/dev/null 2>&1 && podman rmi -af >/dev/null 2>&1 || true
    local pause; pause=$(cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid" 2>/dev/null || true)
    podman unshare rm -rf "$work" >/dev/null 2>&1 || rm -rf "$work" 2>/dev/null || true
    # podman's rootless pause process would outlive the run (its state dir is gone).
    [ -n "$pause" ] && kill "$pause" 2>/dev/null || true
}
trap cleanup EXIT

# busybox image from the static binary
root=$work/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true echo cat cp mkdir ls; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' - busybox >/dev/null
"$RCON" save -o "$work/busybox.tar" busybox

ctx=$work/ctx; mkdir -p "$ctx/src"
echo '{"deps": 1}' > "$ctx/deps.json"
for i in $(seq 20); do head -c 4096 /dev/urandom | base64 > "$ctx/src/file$i.txt"; done
cat > "$ctx/Dockerfile" <<'DF'
FROM localhost/busybox
ENV APP=/app MODE=bench
WORKDIR /app
COPY deps.json ./
RUN cp deps.json /deps.installed && echo deps
COPY src ./src
RUN cat src/*.txt > /built && echo built
LABEL bench=build
EXPOSE 8080
CMD ["cat", "/built"]
DF

have_podman=false
if command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    have_podman=true
    podman tag "$(podman images -q | head -1)" localhost/busybox:latest >/dev/null 2>&1 || true
fi
"$RCON" tag busybox localhost/busybox

ms() { date +%s%N; }
# median (ms) of N runs of "$@"; $prep runs before each (not timed)
median() {
    local prep=$1; shift
    local t=()
    for i in $(seq "$N"); do
        $prep "$i"
        local a; a=$(ms); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; local b; b=$(ms)
        t+=( $(( (b - a) / 1000000 )) )
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
nop() { :; }
touch_src() { echo "change $1 $RANDOM" >> "$ctx/src/file7.txt"; }
row() { printf '%-40s %10s %10s %8s\n' "$@"; }
ratio() { [ "$2" = "-" ] && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }

row "build benchmark ($N runs, median)" "rcon ms" "podman ms" "speedup"
r=$(median nop "$RCON" build --no-cache -t bench "$ctx"); p=-
$have_podman && p=$(median nop podman build --no-cache -t bench "$ctx")
row "(a) 10 steps, cold (--no-cache)" "$r" "$p" "$(ratio "$r" "$p")"
r=$(median nop "$RCON" build -t bench "$ctx"); p=-
$have_podman && p=$(median nop podman build -t bench "$ctx")
row "(b) rebuild, nothing changed" "$r" "$p" "$(ratio "$r" "$p")"
r=$(median touch_src "$RCON" build -t bench "$ctx"); p=-
$have_podman && p=$(median touch_src podman build -t bench "$ctx")
row "(c) rebuild, one source file changed" "$r" "$p" "$(ratio "$r" "$p")"

# (d) the Debian case, once: the time is the mirror's more than the engine's.
debian_tar=${DEBIAN_TAR:-}
if [ -z "$debian_tar" ] && [ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null 2>&1; then
    echo "(d) making a Debian root file system with debootstrap (a few minutes)..." >&2
    if debootstrap --variant=minbase bookworm "$work/debian" >"$work/debootstrap.log" 2>&1; then
        tar -C "$work/debian" -cf "$work/debian.tar" . && debian_tar=$work/debian.tar
    else
        echo "(d) debootstrap failed, see $work/debootstrap.log" >&2
    fi
fi
if [ -z "$debian_tar" ] || [ ! -r "$debian_tar" ]; then
    echo "(d) skipped: set DEBIAN_TAR to a Debian root file system tarball (or run as root with debootstrap installed)"
    exit 0
fi
"$RCON" import -c 'CMD ["bash"]' "$debian_tar" localhost/debian >/dev/null
$have_podman && podman import "$debian_tar" localhost/debian >/dev/null 2>&1 || have_podman=false
dctx=$work/dctx; mkdir -p "$dctx"
cat > "$dctx/Dockerfile" <<'DF'
FROM localhost/debian
RUN apt-get update && apt-get install -y --no-install-recommends python3-minimal
CMD ["python3", "-c", "print('ok')"]
DF
N=1
r=$(median nop "$RCON" build --no-cache -t bench-debian "$dctx"); p=-
$have_podman && p=$(median nop podman build --no-cache -t bench-debian "$dctx")
row "(d) Debian + apt-get python3-minimal" "$r" "$p" "$(ratio "$r" "$p")"
