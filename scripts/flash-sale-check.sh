#!/usr/bin/env bash
# The flash-sale rehearsal, small, as a test: a runner of its own (DynamoDB's contention on in its
# emulator), 40 buyers for 10 units of one product, then carts over three scarce products; fails
# when anything is lost (scripts/bench/flash_sale.py says what that means).
#   bash scripts/flash-sale-check.sh [buyers] [units]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/start-runner.sh
source scripts/start-runner.sh
start_runner "${FLASH_PORT:-3391}" "${FLASH_MOTO_PORT:-5391}" "flash-$$"
python3 scripts/bench/flash_sale.py --buyers "${1:-40}" --units "${2:-10}" --carts --deadline 240 --stack "$state/.local/stack.json"
