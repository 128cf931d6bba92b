#!/bin/sh
# Pull and push speed against a loopback registry, side by side with podman
# and skopeo when they are installed. Not a test: it prints figures.
#
#   sh bench/registry.sh [RCON_BINARY] [RUNS]
#
# The image: two layers made from this host's /usr/bin and
# /usr/lib/python3.11 (about 140 MB compressed, like a Debian base plus a
# python3 layer), pushed to a fresh `docker-registry` by skopeo so that no
# engine under test prepares it. Each pull goes into an empty store; each
# push goes to an empty registry.
set -eu
RCON=$(readlink -f "${1:-target/release/rcon}")
RUNS=${2:-3}
command -v docker-registry >/dev/null || { echo "docker-registry is not installed (make deps)"; exit 1; }
command -v skopeo >/dev/null || { echo "skopeo is not installed (make deps)"; exit 1; }
W=$(mktemp -d /tmp/rcon-bench-reg.XXXXXX)
cleanup() {
    [ -f "$W/pids" ] && for p in $(cat "$W/pids"); do kill "$p" 2>/dev/null || true; done
    chmod -R u+rwx "$W" 2>/dev/null || true
    rm -rf "$W" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry NAME -> prints host:port
start_registry() {
    port=$(free_port)
    mkdir -p "$W/$1"
    cat > "$W/$1/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $W/$1/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
    docker-registry serve "$W/$1/config.yml" >/dev/null 2>&1 &
    echo $! >> "$W/pids"
    # (_w, not i: shell variables are global, and callers loop with i)
    _w=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null; do
        _w=$((_w+1)); [ $_w -lt 200 ] || { echo "registry did not start" >&2; exit 1; }; sleep 0.05
    done
    echo "127.0.0.1:$port"
}

echo "building the test image (docker-archive from /usr/bin and /usr/lib/python3.11)..."
mkdir -p "$W/img"
tar -C / -cf "$W/img/l1.tar" usr/bin 2>/dev/null || true
tar -C / -cf "$W/img/l2.tar" usr/lib/python3.11 2>/dev/null || true
d1=$(sha256sum "$W/img/l1.tar" | cut -d' ' -f1)
d2=$(sha256sum "$W/img/l2.tar" | cut -d' ' -f1)
arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/usr/bin/python3"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' "$arch" "$d1" "$d2" > "$W/img/config.json"
cfg=$(sha256sum "$W/img/config.json" | cut -d' ' -f1)
mv "$W/img/config.json" "$W/img/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["bench:1"],"Layers":["l1.tar","l2.tar"]}]' "$cfg" > "$W/img/manifest.json"
tar -C "$W/img" -cf "$W/image.tar" manifest.json "$cfg.json" l1.tar l2.tar
rm -f "$W/img/l1.tar" "$W/img/l2.tar"

SRC=$(start_registry src)
skopeo copy -q --dest-tls-verify=false "docker-archive:$W/image.tar" "docker://$SRC/bench/big:1"
size=$(skopeo inspect --raw --tls-verify=false "docker://$SRC/bench/big:1" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]))')
echo "image: 2 layers, $((size / 1000000)) MB compressed, on $SRC"
echo

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

# time_runs LABEL SETUP CMD: median wall time of RUNS runs of CMD, SETUP before each.
time_runs() {
    label=$1; setup=$2; cmd=$3
    : > "$W/times"
    n=0
    while [ $n -lt "$RUNS" ]; do
        n=$((n+1))
        export RUN_N=$n
        sh -c "$setup" >/dev/null 2>&1 || true
        t0=$(now)
        if ! sh -c "$cmd" >"$W/out" 2>&1; then echo "$label failed:"; cat "$W/out"; return 1; fi
        t1=$(now)
        awk "BEGIN{print $t1 - $t0}" >> "$W/times"
    done
    printf '%-34s %8s s\n' "$label" "$(median < "$W/times")"
}

export W SRC RCON
echo "pull into an empty store (median of $RUNS):"
time_runs "rcon pull" 'rm -rf $W/rs; mkdir -p $W/rs' \
    'RCON_ROOT=$W/rs/data RCON_RUNROOT=$W/rs/run RCON_CONFIG=$W/rs/cfg $RCON pull -q $SRC/bench/big:1'
if command -v podman >/dev/null; then
    time_runs "podman pull (overlay)" 'podman --root $W/ps/data --runroot $W/ps/run system reset -f; rm -rf $W/ps' \
        'podman --root $W/ps/data --runroot $W/ps/run pull -q --tls-verify=false $SRC/bench/big:1'
fi
time_runs "skopeo copy to dir:" 'rm -rf $W/sk' \
    'skopeo copy -q --src-tls-verify=false docker://$SRC/bench/big:1 dir:$W/sk'
echo

echo "push to an empty registry (median of $RUNS):"
# One fresh registry per run and tool, started before the clock runs.
for tool in rcon podman skopeo; do
    k=0
    while [ $k -lt "$RUNS" ]; do k=$((k+1)); start_registry "dst-$tool-$k" >> "$W/dst-$tool"; done
done
RC="env RCON_ROOT=$W/rs/data RCON_RUNROOT=$W/rs/run RCON_CONFIG=$W/rs/cfg $RCON"
sh -c "$RC pull -q $SRC/bench/big:1" >/dev/null
export RC
time_runs "rcon push" 'true' \
    'T=$(sed -n "${RUN_N}p" $W/dst-rcon)/x/big:1; $RC tag $SRC/bench/big:1 $T && $RC push -q $T'
if command -v podman >/dev/null; then
    podman --root $W/ps/data --runroot $W/ps/run pull -q --tls-verify=false $SRC/bench/big:1 >/dev/null
    time_runs "podman push" 'true' \
        'podman --root $W/ps/data --runroot $W/ps/run push -q --tls-verify=false $SRC/bench/big:1 docker://$(sed -n "${RUN_N}p" $W/dst-podman)/x/big:1'
fi
time_runs "skopeo copy dir: to registry" 'true' \
    'skopeo copy -q --dest-tls-verify=false dir:$W/sk docker://$(sed -n "${RUN_N}p" $W/dst-skopeo)/x/big:1'
