#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build Release in build/ and run the broker
# in the foreground with packaging/petrel.conf (listener 127.0.0.1:1883), data under ./data.
# Extra arguments go to petrel, e.g.  scripts/run.sh -v   or   scripts/run.sh -p 1884
# Stop it with Ctrl-C.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

jobs=${PETREL_JOBS:-2}

scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs" --target petrel

mkdir -p data

# The usual reason the default port is taken is a system mosquitto service.
if [[ $# -eq 0 ]] && (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    echo "run.sh: something already listens on 127.0.0.1:1883 (a mosquitto service?" \
         "try: systemctl stop mosquitto), or pick another port: scripts/run.sh -p 1884" >&2
    exit 1
fi

echo "run.sh: starting build/petrel -c packaging/petrel.conf $*"
exec build/petrel -c packaging/petrel.conf "$@"
