#!/usr/bin/env bash
# Zipped size of every function for arm64 and x86_64 (release profile of Cargo.toml:
# opt-level=3, lto="thin", codegen-units=1, strip=true, panic="abort"). Builds with cargo-lambda.
#   bash scripts/bench/artifact_sizes.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ARCH=arm64 bash scripts/build-lambdas.sh bench >/dev/null
ARCH=x86_64 bash scripts/build-lambdas.sh bench >/dev/null
zips=${CARGO_TARGET_DIR:-target}/lambda-zips
echo "| function | arm64 zip KiB | x86_64 zip KiB |"
echo "|---|---:|---:|"
for z in "$zips"/arm64/*.zip; do
  name=$(basename "$z" .zip)
  a=$(stat -c %s "$z"); x=$(stat -c %s "$zips/x86_64/$name.zip" 2>/dev/null || echo 0)
  printf "| %s | %d | %d |\n" "$name" $((a / 1024)) $((x / 1024))
done
