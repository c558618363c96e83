#!/bin/sh
# Installs the npm package ocpp-rpc (MIT, github.com/mikuso/ocpp-rpc) under .interop/ocpp_rpc,
# the independent strict-mode OCPP-J peer of tests/interop/test_ocpprpc_*.py. Idempotent; run from
# the repository root. Without node/npm it installs nothing and those tests skip.
set -eu
VERSION=2.2.1
DIR=.interop/ocpp_rpc
if [ -f "$DIR/node_modules/ocpp-rpc/package.json" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/ocpp-rpc/package.json"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "ocpp_rpc.sh: node/npm not found; OCPP interop tests against ocpp-rpc will be skipped" >&2
    exit 0
fi
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "bidicharge-interop-ocpp-rpc", "private": true}' > "$DIR/package.json"
npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "ocpp-rpc@$VERSION"
