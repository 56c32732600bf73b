#!/usr/bin/env bash
# README command (2): the whole test suite, on a fresh machine too. Puts Node 24 first on PATH (fetched
# when the machine's is older) and installs dependencies (scripts/bootstrap.sh), starts private
# PostgreSQL and Redis when none answer (scripts/services.sh), then type-checks, lints (circular
# imports and `any` fail here) and runs every unit and integration test, all on that Node.
# Extra arguments go to vitest, e.g. `bash scripts/test.sh test/unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
# (each assigned first: a failing command substitution inside eval would not stop the script)
# Node 24 first on PATH for everything below, and node_modules.
bootstrap_env=$(bash scripts/bootstrap.sh)
eval "$bootstrap_env"
services_env=$(bash scripts/services.sh up)
eval "$services_env"
# Prometheus's promtool for the metrics and alert-rule tests, unpacked from Debian's package if missing
PROMTOOL=$(bash scripts/promtool.sh)
export PROMTOOL
echo "test: type-check (tsc --noEmit)" >&2
npx --no-install tsc --noEmit -p .
echo "test: lint and format (biome ci)" >&2
npx --no-install biome ci --reporter=summary .
echo "test: vitest" >&2
npx --no-install vitest run --reporter=default --reporter=./test/support/summary-reporter.ts "$@"
