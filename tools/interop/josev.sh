#!/usr/bin/env bash
# Installs Josev (PyPI `iso15118`, Apache-2.0, Josev Community) as an independent
# ISO 15118-20 interop peer in its own virtualenv `.interop/josev-venv`.
# Josev pins pydantic 1 and cryptography 44, so it never shares the project's venv.
# Its EXI codec runs in Java (EXICodec.jar, shipped in the wheel, via py4j): needs a JRE >= 17.
# Idempotent: does nothing when the pinned version is already installed.
# Run from the repository root (make test does).
set -euo pipefail
VERSION="0.31.2"
VENV=".interop/josev-venv"
PY="${JOSEV_BASE_PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$VERSION" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
import aiofile  # noqa: F401  (missing runtime dependency of iso15118)
sys.exit(0 if version("iso15118") == sys.argv[1] else 1)
PYEOF
then
    echo "josev: iso15118 $VERSION already in $VENV"
    exit 0
fi

mkdir -p .interop
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "iso15118==$VERSION" aiofile
if ! command -v java >/dev/null 2>&1; then
    echo "josev: WARNING no 'java' on PATH; Josev's EXI codec needs a JRE 17" \
         "(e.g. apt-get install openjdk-17-jre-headless); EXI interop tests will skip" >&2
fi
echo "josev: installed iso15118 $VERSION in $VENV"
