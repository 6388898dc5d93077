#!/usr/bin/env bash
# Builds the one binary of each service with cargo-lambda into deployable zips for a stage's
# architecture (every function of a service runs that binary; its handler setting picks one):
#   bash scripts/build-lambdas.sh dev            # arm64 (the default of every stage but local)
#   ARCH=x86_64 bash scripts/build-lambdas.sh dev
# Output: target/lambda-zips/<arch>/shop-<service>.zip (what the CDK app deploys: 5 assets).
# Reviewing without building works: a missing zip becomes a stand-in that CloudFormation refuses to deploy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-env.sh
stage=${1:-dev}
arch=${ARCH:-arm64}
case "$arch" in
  arm64) flag=--arm64 ;;
  x86_64) flag=--x86-64 ;;
  *) echo "ARCH must be arm64 or x86_64" >&2; exit 2 ;;
esac
if ! command -v cargo-lambda >/dev/null 2>&1; then
  echo "== installing cargo-lambda (pip, pinned)"
  pip_install "cargo-lambda==1.9.2"
fi
echo "== cargo lambda build --release $flag (stage $stage)"
packages=(-p auth -p banner -p category -p product -p order)
cargo lambda build --release "$flag" --output-format zip "${packages[@]}"
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/lambda-zips/$arch"
rm -rf "$out" && mkdir -p "$out"
for svc in auth banner category product order; do
  zip="$target_dir/lambda/shop-$svc/bootstrap.zip"
  [ -f "$zip" ] || { echo "missing $zip" >&2; exit 1; }
  cp "$zip" "$out/shop-$svc.zip"
done
echo "== $(ls "$out" | wc -l) zips in $out:"
ls -l "$out" | awk 'NR>1 {printf "   %-40s %8d bytes\n", $9, $5}'
