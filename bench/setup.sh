#!/usr/bin/env bash
# Installs what bench/run.py needs. Idempotent; starts nothing.
#  - Debian's nginx with the WebDAV module (nginx-light has ngx_http_dav_module on bookworm)
#  - curl (the client used for every transfer)
#  - wrk (the load generator of bench/run_small.py and bench/run_servers.py)
#  - psutil, gunicorn, flask in the project's venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

have_dav_nginx() {
    command -v nginx >/dev/null 2>&1 && nginx -V 2>&1 | grep -q -- '--with-http_dav_module'
}

need_apt=()
have_dav_nginx || need_apt+=(nginx-light)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)

if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "setup: installing ${need_apt[*]} with apt-get"
    # The package's postinst would start nginx on 0.0.0.0:80. The benchmark starts its
    # own nginx on 127.0.0.1, so forbid service starts during the install unless a
    # policy already exists (Docker images ship one that exits 101).
    created_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    cleanup() { if [ -n "$created_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
    trap cleanup EXIT
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}"
    cleanup
    trap - EXIT
fi

if ! have_dav_nginx; then
    echo "setup: nginx without --with-http_dav_module; trying the 'nginx' package" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nginx
    have_dav_nginx || { echo "setup: no nginx with the WebDAV module available" >&2; exit 1; }
fi
echo "setup: $(nginx -v 2>&1) (with http_dav_module)"

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: no venv at $VENV (create it with python3 -m venv $VENV)" >&2
    exit 1
fi
if ! "$VENV/bin/python" -c 'import psutil, gunicorn, flask' >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install --quiet psutil gunicorn flask
fi
"$VENV/bin/python" -c 'import psutil, gunicorn, flask; print("setup: psutil", psutil.__version__, "gunicorn", gunicorn.__version__)'
echo "setup: done"

# tus peer for bench/run_tus.py: the official Node tus server, pinned by bench/tus/package-lock.json
if [ ! -d "$ROOT/bench/tus/node_modules/@tus/server" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "setup: npm ci --prefix bench/tus (@tus/server, @tus/file-store, @tus/s3-store)"
        npm ci --prefix "$ROOT/bench/tus" --no-audit --no-fund
    else
        echo "setup: npm not found; bench/run_tus.py needs node >= 20.19 and npm (apt-get install nodejs npm)" >&2
    fi
fi
