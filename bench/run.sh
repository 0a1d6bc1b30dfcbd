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
if [ ! -f "$stamp" ] || [ "$here/requirements.txt" -nt "$stamp" ]; then
    "$venv/bin/pip" install -q "$root" -r "$here/requirements.txt"
    touch "$stamp"
fi
# runtrack itself is installed as a user gets it (a built, byte-compiled wheel, not an editable checkout), afresh
# each run so the figures are those of the working tree.
"$venv/bin/pip" install -q --no-deps --force-reinstall "$root"
exec "$venv/bin/python" "$here/compare.py" "$@"
