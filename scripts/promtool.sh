#!/usr/bin/env bash
# Make Prometheus's `promtool` available to the tests (`promtool check metrics` on every /metrics,
# `promtool test rules` on ops/prometheus), idempotently. Prints the binary's path on stdout and one
# line on stderr saying where it came from:
#
#     PROMTOOL=$(bash scripts/promtool.sh)
#
# Looked for in order: $PROMTOOL; `promtool` on PATH; .data/tools/promtool from an earlier run. Else
# Debian's `prometheus` package is fetched with `apt-get download` (after `apt-get update`, once, only
# when apt does not know the package) and only promtool is unpacked from it into .data/tools/.
#
# Why not `apt-get install prometheus`: that installs and enables a Prometheus server (a systemd unit
# listening on :9090, a `prometheus` user, /var/lib/prometheus) and eleven JavaScript and font packages
# for its web UI, about 96 MB; the tests need one binary of it, which needs nothing but libc. The
# download is about 19 MB and nothing is installed system-wide.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
TOOLS="$ROOT/.data/tools"
TARGET="$TOOLS/promtool"

say() { printf 'promtool: %s\n' "$*" >&2; }
die() {
  printf 'promtool: error: %s\n' "$*" >&2
  exit 1
}
version_of() { "$1" --version 2>&1 | sed -nE '1s/^promtool, version ([^ ]+).*/\1/p'; }

found() {
  say "$2 ($(version_of "$1"))"
  printf '%s\n' "$1"
  exit 0
}

if [[ -n ${PROMTOOL:-} ]]; then
  [[ -x $PROMTOOL ]] || die "PROMTOOL=$PROMTOOL is not an executable file"
  found "$PROMTOOL" "using PROMTOOL=$PROMTOOL"
fi
if command -v promtool >/dev/null 2>&1; then
  found "$(command -v promtool)" "using $(command -v promtool)"
fi
[[ -x $TARGET ]] && found "$TARGET" "using .data/tools/promtool"

command -v apt-get >/dev/null 2>&1 || die "promtool is missing and apt-get is not available: install Prometheus's promtool and set PROMTOOL to it"
mkdir -p "$TOOLS"
# Serialise concurrent test runs of this checkout; the second one finds the binary the first unpacked.
exec 9>"$TOOLS/promtool.lock"
flock -w 300 9 || die "timed out waiting for $TOOLS/promtool.lock"
[[ -x $TARGET ]] && found "$TARGET" "using .data/tools/promtool (unpacked by a concurrent run)"

log="$TOOLS/apt.log"
work="$(mktemp -d "$TOOLS/.download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() {
  [[ $EUID -eq 0 ]] || die "apt cannot fetch the package prometheus and we are not root to run apt-get update: run it, or set PROMTOOL"
  apt-get update >>"$log" 2>&1 || {
    tail -n 20 "$log" >&2
    die "apt-get update failed (log: $log)"
  }
  updated=1
}
# apt-get download writes into the working directory; as root it warns that the _apt user cannot
# write there, which is harmless.
download() { (cd "$work" && apt-get download prometheus >>"$log" 2>&1); }
apt-cache show prometheus >/dev/null 2>&1 || apt_update
if ! download; then
  # package lists older than the archive name a version it no longer has: update once and retry
  [[ $updated -eq 1 ]] || apt_update
  download || {
    tail -n 20 "$log" >&2
    die "apt-get download prometheus failed (log: $log)"
  }
fi
deb="$(find "$work" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)"
[[ -n $deb ]] || die "apt-get download left no prometheus_*.deb"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/bin/promtool ||
  die "$(basename "$deb") has no usr/bin/promtool"
"$work/usr/bin/promtool" --version >/dev/null 2>&1 || die "the unpacked promtool does not run"
mv -f "$work/usr/bin/promtool" "$TARGET"
found "$TARGET" "unpacked from Debian's $(basename "$deb") into .data/tools/promtool"
