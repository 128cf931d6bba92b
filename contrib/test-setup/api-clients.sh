#!/usr/bin/env bash
# Install what the Docker Engine API tests need (idempotent; run as root; no stdin):
#
#   - Debian's docker.io (dockerd 20.10, API 1.41: the oracle, see oracle.sh) with
#     containerd/runc/tini, and docker-compose 1.29 (a Python API client);
#   - podman 4.3 (+ runc, slirp4netns, fuse-overlayfs, uidmap) configured for
#     rootless use by the test user, as docs/TESTING.md says;
#   - busybox-static (the base of test images), socat and curl (to talk to and
#     record the API on unix sockets);
#   - a Python venv readable by every user with the Docker SDK for Python
#     (`docker`), testcontainers, podman-compose, kubernetes-validate, requests.
#
# The docker.io package must not start a daemon: a /usr/sbin/policy-rc.d that
# exits 101 is in place while apt runs (removed afterwards only if this script
# wrote it). The daemon is started on a private socket by oracle.sh.
#
# `docker` on PATH: /usr/local/bin/docker (the current CLI shipped with the
# machine) comes before /usr/bin/docker (20.10, from docker.io) in the usual
# PATH; both stay usable, call /usr/bin/docker explicitly for the 20.10 client.
#
# Environment: RCON_TEST_USER (default rcontest), RCON_TEST_VENV (default
# /opt/rcon-test-venv). Quick (no network) when everything is already there.
set -euo pipefail
exec </dev/null
umask 022

TEST_USER=${RCON_TEST_USER:-rcontest}
VENV=${RCON_TEST_VENV:-/opt/rcon-test-venv}
export DEBIAN_FRONTEND=noninteractive

APT_PKGS=(docker.io containerd runc tini docker-compose podman catatonit slirp4netns
          fuse-overlayfs uidmap busybox-static socat curl python3-venv python3-pip)
# Import names that prove the PyPI packages are in the venv, in the same order.
PIP_PKGS=(docker testcontainers podman-compose kubernetes-validate requests)
PIP_MODULES=(docker testcontainers podman_compose kubernetes_validate requests)

say() { printf 'api-clients: %s\n' "$*"; }
die() { printf 'api-clients: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages and configures $TEST_USER)"

# --- Debian packages ---------------------------------------------------------
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
        || missing+=("$p")
done

POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

if [ "${#missing[@]}" -gt 0 ]; then
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\n# written by rcon contrib/test-setup/api-clients.sh: no daemon starts from apt\nexit 101\n' >"$POLICY"
        chmod 0755 "$POLICY"
        created_policy=1
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    # No recommends: they would bring apparmor, needrestart, dbus-user-session, buildah.
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >/dev/null
fi
cleanup; created_policy=0

for b in /usr/sbin/dockerd /usr/bin/docker /usr/bin/containerd /usr/bin/docker-compose /usr/bin/podman; do
    [ -x "$b" ] || die "$b is missing after the install"
done

# --- the Python venv ---------------------------------------------------------
# The system python (not a pyenv shim under /root that other users cannot reach).
PY=/usr/bin/python3
venv_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "${PIP_MODULES[@]}" <<'EOF' 2>/dev/null
import importlib.util, sys
sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)
EOF
}
if ! venv_ok; then
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "creating the venv $VENV"
        rm -rf "$VENV"
        "$PY" -m venv "$VENV"
    fi
    say "installing into $VENV from PyPI: ${PIP_PKGS[*]}"
    "$VENV/bin/python" -m pip install -q --no-input --disable-pip-version-check "${PIP_PKGS[@]}"
    venv_ok || die "the venv $VENV still lacks one of: ${PIP_MODULES[*]}"
fi
chmod -R a+rX "$VENV"

# --- the test user and rootless podman ---------------------------------------
id -u "$TEST_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$TEST_USER"
grep -q "^$TEST_USER:" /etc/subuid || usermod --add-subuids 200000-265535 "$TEST_USER"
grep -q "^$TEST_USER:" /etc/subgid || usermod --add-subgids 200000-265535 "$TEST_USER"
uid=$(id -u "$TEST_USER"); gid=$(id -g "$TEST_USER")
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
[ -d "$home" ] || install -d -o "$uid" -g "$gid" -m 0755 "$home"
for d in "$home/.config" "$home/.config/containers"; do
    [ -d "$d" ] || install -d -o "$uid" -g "$gid" -m 0755 "$d"
done

# put_file PATH CONTENT: write it (owned by the test user) only when it differs.
put_file() {
    if [ "$(cat "$1" 2>/dev/null)" != "$2" ]; then
        printf '%s\n' "$2" >"$1.tmp.$$"
        chown "$uid:$gid" "$1.tmp.$$"; chmod 0644 "$1.tmp.$$"
        mv -f "$1.tmp.$$" "$1"
        say "wrote $1"
    fi
}
put_file "$home/.config/containers/containers.conf" '# rcon test setup (docs/TESTING.md): podman rootless on these machines
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"'
put_file "$home/.config/containers/storage.conf" '# rcon test setup (docs/TESTING.md)
[storage]
driver = "overlay"'

# slirp4netns, pasta and fuse-overlayfs need these for a normal user; the
# machines ship them 0600.
for dev in /dev/net/tun /dev/fuse; do
    if [ -e "$dev" ]; then
        [ "$(stat -c %a "$dev")" = 666 ] || chmod 0666 "$dev"
    else
        say "warning: $dev does not exist"
    fi
done

# --- summary -------------------------------------------------------------------
say "docker on PATH: $(command -v docker) ($(docker --version)); /usr/bin/docker: $(/usr/bin/docker --version)"
say "dockerd $(/usr/sbin/dockerd --version | sed 's/^Docker version //'), $(/usr/bin/docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), $(podman --version)"
say "venv: $VENV (python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), docker SDK $("$VENV/bin/python" -c 'import docker; print(docker.__version__)'))"
say "ok"
