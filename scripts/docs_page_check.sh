#!/usr/bin/env bash
# The API reference page as a person sees it: starts a local runner, opens /_local/docs in a real
# headless browser (Debian's chromium) and fails unless Swagger UI rendered the API's operations
# (a missing viewer leaves a blank page, which an HTTP check would not notice).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${DOCS_PORT:-3391}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium is not installed (Debian: apt-get install chromium); .ci/run installs it" >&2
  exit 1
fi
# shellcheck source=scripts/start-runner.sh
source scripts/start-runner.sh
start_runner "$port" "${DOCS_MOTO_PORT:-5391}" "docs-$$"
echo "== $browser --headless: http://127.0.0.1:$port/_local/docs"
dom="$state/dom.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$state/profile" \
  --virtual-time-budget=15000 --dump-dom "http://127.0.0.1:$port/_local/docs" >"$dom" 2>"$state/browser.log" || true
operations=$( (grep -o 'class="opblock opblock-' "$dom" || true) | wc -l)
declared=$(python3 -c 'import json; print(sum(1 for s in json.load(open("lambdas/services.json"))["services"] for f in s["functions"] if "http" in f))')
echo "== the page shows $operations operations; lambdas/services.json declares $declared routes"
if [ "$operations" -lt "$declared" ]; then
  echo "the API reference page did not render every operation (blank page?)" >&2
  head -c 2000 "$dom" >&2
  exit 1
fi
