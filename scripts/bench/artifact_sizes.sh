#!/usr/bin/env bash
# Binary and zipped size of every service binary for arm64 and x86_64 (the release profile of
# Cargo.toml). Builds with cargo-lambda (about 7 minutes per architecture on 2 cores, cold).
#   bash scripts/bench/artifact_sizes.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ARCH=arm64 bash scripts/build-lambdas.sh bench >/dev/null
ARCH=x86_64 bash scripts/build-lambdas.sh bench >/dev/null
zips=${CARGO_TARGET_DIR:-target}/lambda-zips
bins() { echo "${CARGO_TARGET_DIR:-target}/$1/release"; }
kib() { if [ -f "$1" ]; then echo $(( $(stat -c %s "$1") / 1024 )); else echo "-"; fi; }
echo "| service binary | arm64 binary KiB | arm64 zip KiB | x86_64 binary KiB | x86_64 zip KiB |"
echo "|---|---:|---:|---:|---:|"
for z in "$zips"/arm64/*.zip; do
  name=$(basename "$z" .zip)
  printf "| %s | %s | %s | %s | %s |\n" "$name" \
    "$(kib "$(bins aarch64-unknown-linux-gnu)/$name")" "$(kib "$z")" \
    "$(kib "$(bins x86_64-unknown-linux-gnu)/$name")" "$(kib "$zips/x86_64/$name.zip")"
done
