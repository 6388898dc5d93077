#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (against moto) and, when present, the infra checks.
# Uses the emulator at MOTO_ENDPOINT if set; otherwise each test binary starts its own moto server.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import moto, sys; sys.exit(0 if moto.__version__ == "5.2.5" else 1)' 2>/dev/null; then
  echo "== installing pinned Python tools (scripts/requirements.txt)"
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
fi

echo "== cargo test (workspace)"
cargo test --workspace --locked

if [ -f infra/package.json ]; then
  echo "== infra checks"
  bash scripts/infra-check.sh
fi
