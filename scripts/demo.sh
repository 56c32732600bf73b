#!/usr/bin/env bash
# README command (1): the main job. Sets up everything — Node 24 and the dependencies, PostgreSQL
# and Redis, the schema — checks readiness, then runs a real campaign end to end against the local
# provider fakes and checks the fakes' delivery log itself (scripts/demo/demo.ts, docs/demo.md), all
# on that Node. Arguments go to the demo: bash scripts/demo.sh --size 5000 --keep-running
set -euo pipefail
cd "$(dirname "$0")/.."
# (each assigned first: a failing command substitution inside eval would not stop the script)
# Node 24 first on PATH for everything below, and node_modules.
bootstrap_env=$(bash scripts/bootstrap.sh)
eval "$bootstrap_env"
services_env=$(bash scripts/services.sh up)
eval "$services_env"
# Configuration: .env when present, else the local defaults of .env.example; the services' URLs win.
# The example's secrets are placeholders that every process refuses: the demo makes its own, new on
# each run (its database is recreated each run, so nothing hashed or signed with older ones remains).
set -a
if [ -f .env ]; then
  . ./.env
else
  . ./.env.example
  SIGNING_SECRET=$(od -An -vtx1 -N32 /dev/urandom | tr -d ' \n')
  PSEUDONYM_SECRET=$(od -An -vtx1 -N32 /dev/urandom | tr -d ' \n')
fi
services_env=$(bash scripts/services.sh env)
eval "$services_env"
set +a
npx --no-install tsx workers/consentcast.ts migrate latest
npx --no-install tsx workers/consentcast.ts ready
# One demo at a time: a second one would drop the first one's database under it.
mkdir -p .data
exec 8>.data/demo.lock
if ! flock -n 8; then
  echo "demo: another demo is running in this checkout (.data/demo.lock)" >&2
  exit 1
fi
exec node --import tsx scripts/demo/demo.ts "$@"
