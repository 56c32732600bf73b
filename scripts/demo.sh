#!/usr/bin/env bash
# README command (1): the main job. Until the demo campaign lands (issue 6) it sets up everything —
# dependencies, PostgreSQL and Redis, the schema — and reports readiness.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# (assigned first: a failing command substitution inside eval would not stop the script)
services_env=$(bash scripts/services.sh up)
eval "$services_env"
# Configuration: .env when present, else the local defaults of .env.example; the services' URLs win.
set -a
if [ -f .env ]; then . ./.env; else . ./.env.example; fi
services_env=$(bash scripts/services.sh env)
eval "$services_env"
set +a
npx --no-install tsx workers/consentcast.ts migrate latest
npx --no-install tsx workers/consentcast.ts ready
