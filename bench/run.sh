#!/usr/bin/env bash
# One command for every benchmark figure in docs/benchmarks.md:
#   bash bench/run.sh            # full run (~15 min on 2 cores), writes bench/results.json
#   bash bench/run.sh --quick    # smaller N, 3 rounds, a couple of minutes
# Creates (or reuses) bench/.venv with runtrack + the three official SDKs + orjson, then runs bench/compare.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ "$here/requirements.txt" -nt "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/pip" install -q -e "$root" -r "$here/requirements.txt"
    touch "$stamp"
fi
exec "$venv/bin/python" "$here/compare.py" "$@"
