#!/usr/bin/env bash
# Installs node_modules from the committed lockfile when they are missing or stale. Quiet when current.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat node_modules/.consentcast-lock-sha 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "bootstrap: installing dependencies from package-lock.json (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > node_modules/.consentcast-lock-sha
fi
