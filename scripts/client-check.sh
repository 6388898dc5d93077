#!/usr/bin/env bash
# The contract for front ends: openapi.yaml passes a second, stricter reader (Redocly's lint); the
# typed TypeScript client (clients/typescript): its generated types are what openapi.yaml
# generates today (no diff), it type-checks with --strict, and its walk through the shop runs
# against a local stack of its own (and against the mocks), every answer validated against the document.
#   bash scripts/client-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== redocly lint openapi.yaml (a second, stricter reader; ruleset: redocly.yaml)"
npx --no-install redocly lint openapi.yaml --format=summary 2>&1 | grep -v '[║╔╚]'
test "${PIPESTATUS[0]}" -eq 0
echo "== clients/typescript: the generated types are the document's"
npm run --silent generate --workspace clients/typescript >/dev/null
git diff --exit-code -- clients/typescript/src/schema.d.ts || { echo "client-check: regenerate (npm run generate --workspace clients/typescript) and commit" >&2; exit 1; }
echo "== clients/typescript: tsc --noEmit (strict)"
npm run --silent typecheck --workspace clients/typescript
# shellcheck source=scripts/start-runner.sh
source scripts/start-runner.sh
start_runner "${CLIENT_PORT:-3392}" "${CLIENT_MOTO_PORT:-5392}" "client-$$"
api="http://127.0.0.1:${CLIENT_PORT:-3392}"
admin="client-admin-$$@example.com"
post() { curl -fsS -X POST "$api$1" -H 'content-type: application/json' -d "$2" >/dev/null; }
post /auth/sign-up "{\"email\":\"$admin\",\"fullName\":\"Client Admin $$\",\"password\":\"Str0ng!Passw0rd\"}"
post /auth/confirm-sign-up "{\"email\":\"$admin\",\"confirmationCode\":\"1\"}"
(cd "$state" && "$OLDPWD/target/debug/shop-local" make-admin "$admin" >/dev/null)
echo "== clients/typescript: npm test (the walk on the local stack at $api, and on the mocks)"
SHOP_API_URL=$api SHOP_ADMIN_EMAIL=$admin npm test --silent --workspace clients/typescript
