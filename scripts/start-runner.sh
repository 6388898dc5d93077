# Sourced by the scripts that test a running local stack (fuzz.sh, docs_page_check.sh):
#   start_runner PORT MOTO_PORT PREFIX
# builds and starts shop-local in a fresh state directory ($state), waits until it serves, and
# stops it when the calling script exits. Sets $state and $runner.
start_runner() {
  local port=$1 moto_port=$2 prefix=$3
  state=$(mktemp -d)
  cargo build --quiet --locked -p shop-local
  echo "== starting the local runner on 127.0.0.1:$port"
  (cd "$state" && exec "$OLDPWD/target/debug/shop-local" --port "$port" --moto-port "$moto_port" --stripe-port 0 --prefix "$prefix") >"$state/runner.log" 2>&1 &
  runner=$!
  trap 'kill $runner 2>/dev/null || true; wait $runner 2>/dev/null || true' EXIT
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/_local/stack" >/dev/null 2>&1 && return 0
    kill -0 $runner 2>/dev/null || { cat "$state/runner.log"; return 1; }
    sleep 0.2
  done
  echo "the local runner did not start within 60 s" >&2
  return 1
}
