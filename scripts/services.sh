#!/usr/bin/env bash
# Make PostgreSQL and Redis available for development, tests and the demo, idempotently.
#
# Usage: scripts/services.sh [up|down|status|env|help]
#
#   up (default)  Use DATABASE_URL / REDIS_URL from the environment when they answer ("external");
#                 otherwise start (or reuse) a private PostgreSQL / Redis bound to 127.0.0.1,
#                 installing the server with apt-get if missing (root only). Creates the roles
#                 consentcast_owner / consentcast_app and the database consentcast (private only).
#                 Writes the four URLs to .data/services.env (mode 600) and prints them on stdout:
#                     eval "$(bash scripts/services.sh up)"
#   down          Stop the private PostgreSQL / Redis started by this script. Never touches external ones.
#   status        One line per service on stdout. Exit 0 if both are running, 3 otherwise.
#   env           Print .data/services.env (fails if `up` has not run).
#
# Environment:
#   CC_PG_PORT     private PostgreSQL port (default 54329)
#   CC_REDIS_PORT  private Redis port (default 63799)
#   DATABASE_URL, DATABASE_OWNER_URL, PG_ADMIN_URL, REDIS_URL   external services (see `up`)
#
# Everything except the export lines of `up`/`env` and the lines of `status` goes to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
DATA="$ROOT/.data"
ENV_FILE="$DATA/services.env"
STATE_FILE="$DATA/services.state"
LOCK_FILE="$DATA/services.lock"
PG_PORT="${CC_PG_PORT:-54329}"
REDIS_PORT="${CC_REDIS_PORT:-63799}"
REDIS_DIR="$DATA/redis"
PG_DATA_PRIMARY="$DATA/pg"
PG_FALLBACK_BASE="/var/tmp/consentcast-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)"
PG_DATA_FALLBACK="$PG_FALLBACK_BASE/pg"
PG_OPTS_EXTRA="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=256MB"
APT_UPDATED=0
PG_NOTE=""
R_NOTE=""

export PGCONNECT_TIMEOUT=3

# ---------------------------------------------------------------------------------------------- utils

say() { printf 'services: %s\n' "$*" >&2; }
die() {
  printf 'services: error: %s\n' "$*" >&2
  exit 1
}
is_root() { [[ $EUID -eq 0 ]]; }

# Is this pid a live (not zombie) process? PID 1 here may reap exited daemons late.
alive() {
  local st
  st="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n $st && $st != Z && $st != X ]]
}

# Path relative to ROOT when inside it (for messages).
rel() {
  case "$1" in
    "$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;;
    *) printf '%s' "$1" ;;
  esac
}

# Single-quote a value for a shell `export` line.
shq() {
  local q="'\\''"
  printf "'%s'" "${1//\'/$q}"
}

# URL without its user:password part, for messages.
redact() { printf '%s' "$1" | sed -E 's#^([a-zA-Z][a-zA-Z0-9+.-]*://)[^@/]*@#\1#'; }

# Print the last 20 lines of a log file to stderr.
show_log() {
  local f="$1"
  if [[ -r $f ]]; then
    printf 'services: ---- last 20 lines of %s ----\n' "$f" >&2
    tail -n 20 "$f" >&2 || true
    printf 'services: ----\n' >&2
  else
    printf 'services: (no log at %s)\n' "$f" >&2
  fi
}

# Run a command as the postgres OS user when we are root (initdb refuses root), from / so that an
# unreadable working directory does not matter.
as_pg() {
  if ! is_root; then
    (cd / && "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u postgres -- "$@")
  else
    local cmd
    cmd="$(printf '%q ' "$@")"
    (cd / && su postgres -s /bin/sh -c "$cmd")
  fi
}

# apt-get install, non-interactive, `apt-get update` at most once per run. Output goes to a log.
apt_install() {
  local what="$1"
  shift
  is_root || die "$what is not installed and we are not root: install it (apt-get install -y $*) or set the matching *_URL to an existing server"
  command -v apt-get >/dev/null 2>&1 || die "$what is not installed and apt-get is not available"
  mkdir -p "$DATA"
  local log="$DATA/apt.log"
  export DEBIAN_FRONTEND=noninteractive
  if [[ $APT_UPDATED -eq 0 ]]; then
    if ! apt-get update >>"$log" 2>&1; then
      show_log "$log"
      die "apt-get update failed"
    fi
    APT_UPDATED=1
  fi
  if ! apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1; then
    show_log "$log"
    die "apt-get install -y $* failed"
  fi
}

# Serialise concurrent up/down runs (several engineers and test runners share one checkout).
take_lock() {
  mkdir -p "$DATA"
  exec 9>"$LOCK_FILE"
  if ! flock -w 120 9; then
    die "timed out waiting for $LOCK_FILE (another services.sh run?)"
  fi
}

state_get() {
  local key="$1"
  [[ -r $STATE_FILE ]] || return 0
  sed -n "s/^${key}=//p" "$STATE_FILE" | tail -n 1
}

# ------------------------------------------------------------------------------------------ postgres

pg_bindir() {
  local d
  d="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
    printf '%s' "$d"
  fi
}

# Can the postgres OS user reach (traverse) this directory?
pg_can_traverse() {
  is_root || return 0
  # shellcheck disable=SC2016 # $1 expands in the inner shell
  as_pg sh -c 'cd "$1"' _ "$1" >/dev/null 2>&1
}

# Which data directory the private cluster lives in.
pg_datadir() {
  if [[ -f $PG_DATA_PRIMARY/PG_VERSION ]]; then
    printf '%s' "$PG_DATA_PRIMARY"
  elif [[ -f $PG_DATA_FALLBACK/PG_VERSION ]]; then
    printf '%s' "$PG_DATA_FALLBACK"
  else
    printf '%s' "$PG_DATA_PRIMARY"
  fi
}

# Pid of the running private postmaster of a data dir, or nothing.
pg_running_pid() {
  local dir="$1" pid
  [[ -r $dir/postmaster.pid ]] || return 0
  pid="$(sed -n 1p "$dir/postmaster.pid" 2>/dev/null || true)"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == postgres* ]]; then
    printf '%s' "$pid"
  fi
}

pg_running_port() { sed -n 4p "$1/postmaster.pid" 2>/dev/null || true; }

pg_version_of() { cat "$1/PG_VERSION" 2>/dev/null || printf '?'; }

pg_admin_url() { printf 'postgres://postgres@127.0.0.1:%s/postgres' "$1"; }

# Create roles and database, idempotently, as superuser over TCP.
pg_provision() {
  local port="$1" out
  if ! out="$(psql "$(pg_admin_url "$port")" -v ON_ERROR_STOP=1 -qAt 2>&1 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'consentcast_owner') THEN
    CREATE ROLE consentcast_owner LOGIN CREATEDB CREATEROLE PASSWORD 'consentcast_owner';
  ELSE
    ALTER ROLE consentcast_owner LOGIN CREATEDB CREATEROLE PASSWORD 'consentcast_owner';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'consentcast_app') THEN
    CREATE ROLE consentcast_app LOGIN PASSWORD 'consentcast_app';
  ELSE
    ALTER ROLE consentcast_app LOGIN PASSWORD 'consentcast_app';
  END IF;
END
$$;
SELECT 'CREATE DATABASE consentcast OWNER consentcast_owner ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'consentcast') \gexec
ALTER DATABASE consentcast OWNER TO consentcast_owner;
GRANT CONNECT ON DATABASE consentcast TO consentcast_app;
\connect consentcast
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO consentcast_owner;
SQL
  )"; then
    printf '%s\n' "$out" >&2
    die "postgres: creating roles/database consentcast failed on 127.0.0.1:$port"
  fi
}

# initdb a fresh data dir (as postgres), C.UTF-8 locale with a fallback to C.
pg_initdb() {
  local bindir="$1" dir="$2" log="$3"
  if ! as_pg "$bindir/initdb" -D "$dir" -U postgres -A trust --no-instructions -E UTF8 --locale=C.UTF-8 >"$log" 2>&1; then
    if ! as_pg "$bindir/initdb" -D "$dir" -U postgres -A trust --no-instructions -E UTF8 --locale=C >>"$log" 2>&1; then
      show_log "$log"
      die "postgres: initdb failed in $dir"
    fi
  fi
}

# Prepare a directory the postgres user can write to (socket dir / data dir parent).
pg_prepare_parent() {
  local parent="$1"
  mkdir -p "$parent"
  if is_root; then
    chgrp postgres "$parent"
    chmod g+rwx "$parent"
  fi
}

# Sets PG_ADMIN, PG_OWNER, PG_APP, PG_MODE. Messages on stderr.
pg_up() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    command -v psql >/dev/null 2>&1 || apt_install psql postgresql-client
    if [[ "$(timeout 10 psql "$DATABASE_URL" -Atc 'select 1' 2>/dev/null || true)" == 1 ]]; then
      PG_APP="$DATABASE_URL"
      PG_OWNER="${DATABASE_OWNER_URL:-$DATABASE_URL}"
      PG_ADMIN="${PG_ADMIN_URL:-$DATABASE_URL}"
      PG_MODE=external
      say "postgres: using DATABASE_URL (external, $(redact "$DATABASE_URL"))"
      return 0
    fi
    PG_NOTE=" (DATABASE_URL $(redact "$DATABASE_URL") did not answer)"
  fi
  PG_MODE=private

  local dir pid port version bindir installed=""
  dir="$(pg_datadir)"
  pid="$(pg_running_pid "$dir")"
  if [[ -n $pid ]]; then
    port="$(pg_running_port "$dir")"
    if [[ -n $port ]] && pg_isready -q -h 127.0.0.1 -p "$port" -t 3 2>/dev/null; then
      pg_provision "$port"
      if [[ $port != "$PG_PORT" ]]; then
        say "postgres: reusing private PostgreSQL $(pg_version_of "$dir") on 127.0.0.1:$port (not CC_PG_PORT=$PG_PORT: run 'down' first to move it)${PG_NOTE}"
      else
        say "postgres: reusing private PostgreSQL $(pg_version_of "$dir") on 127.0.0.1:$port${PG_NOTE}"
      fi
      PG_ADMIN="$(pg_admin_url "$port")"
      PG_OWNER="postgres://consentcast_owner:consentcast_owner@127.0.0.1:$port/consentcast"
      PG_APP="postgres://consentcast_app:consentcast_app@127.0.0.1:$port/consentcast"
      return 0
    fi
    die "postgres: private cluster in $(rel "$dir") has a live postmaster (pid $pid) that does not answer on 127.0.0.1:${port:-?}; see $dir/server.log or run 'down'"
  fi

  # Not running: something else on our port?
  if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2 2>/dev/null; then
    die "postgres: port 127.0.0.1:$PG_PORT is already served by a PostgreSQL that this checkout did not start; set CC_PG_PORT to a free port (or DATABASE_URL to use that server)"
  fi

  bindir="$(pg_bindir)"
  if [[ -z $bindir ]]; then
    apt_install "PostgreSQL server" postgresql
    bindir="$(pg_bindir)"
    [[ -n $bindir ]] || die "postgres: installed postgresql but found no server binaries in /usr/lib/postgresql/*/bin"
    installed="installed postgresql with apt-get; "
  fi
  version="$(basename "$(dirname "$bindir")")"
  if is_root && ! id postgres >/dev/null 2>&1; then
    die "postgres: no 'postgres' OS user to run the server as"
  fi

  local note=""
  if [[ ! -f $dir/PG_VERSION ]]; then
    # Fresh cluster: choose the data dir.
    dir="$PG_DATA_PRIMARY"
    local why=""
    if ! pg_can_traverse "$ROOT"; then
      why="the postgres user cannot traverse $ROOT"
    elif ((${#DATA} + 20 > 103)); then
      why="the socket path under $DATA would be too long"
    fi
    if [[ -n $why ]]; then
      dir="$PG_DATA_FALLBACK"
    fi
    pg_prepare_parent "$(dirname "$dir")"
    mkdir -p "$dir"
    if is_root; then chown postgres:postgres "$dir"; fi
    chmod 700 "$dir"
    pg_initdb "$bindir" "$dir" "$(dirname "$dir")/initdb.log"
    if [[ "$(cat "$dir/PG_VERSION")" != "$version" ]]; then
      die "postgres: initdb produced an unexpected version in $dir"
    fi
  else
    pg_prepare_parent "$(dirname "$dir")"
    local dv
    dv="$(pg_version_of "$dir")"
    if [[ -x /usr/lib/postgresql/$dv/bin/pg_ctl ]]; then
      bindir="/usr/lib/postgresql/$dv/bin"
      version="$dv"
    else
      die "postgres: data dir $dir is PostgreSQL $dv but only $version binaries exist; remove it (rm -rf $dir) or install postgresql-$dv"
    fi
    if is_root; then chown -R postgres:postgres "$dir"; fi
  fi

  if [[ $dir == "$PG_DATA_FALLBACK" ]]; then
    if ! pg_can_traverse "$ROOT"; then
      note=" (not .data/pg: the postgres user cannot traverse $ROOT)"
    else
      note=" (not .data/pg: fallback chosen at initdb time)"
    fi
  fi

  local sockdir log
  sockdir="$(dirname "$dir")"
  log="$dir/server.log"
  case "$sockdir" in *"'"* | *'"'* | *' '*) die "postgres: path $sockdir contains quotes or spaces; move the checkout" ;; esac
  # 9>&-: the server must not inherit (and so hold) the lock file descriptor.
  if ! as_pg "$bindir/pg_ctl" -D "$dir" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k '$sockdir' $PG_OPTS_EXTRA" start >/dev/null 2>"$sockdir/pg_ctl.err" 9>&-; then
    cat "$sockdir/pg_ctl.err" >&2 || true
    show_log "$log"
    die "postgres: could not start PostgreSQL $version in $dir on 127.0.0.1:$PG_PORT"
  fi
  rm -f "$sockdir/pg_ctl.err"
  pg_provision "$PG_PORT"
  say "postgres: ${installed}started private PostgreSQL $version on 127.0.0.1:$PG_PORT (data $(rel "$dir"))$note${PG_NOTE}"
  PG_ADMIN="$(pg_admin_url "$PG_PORT")"
  PG_OWNER="postgres://consentcast_owner:consentcast_owner@127.0.0.1:$PG_PORT/consentcast"
  PG_APP="postgres://consentcast_app:consentcast_app@127.0.0.1:$PG_PORT/consentcast"
}

pg_down() {
  local dir pid bindir v mode
  dir="$(pg_datadir)"
  mode="$(state_get PG_MODE)"
  pid="$(pg_running_pid "$dir")"
  if [[ -z $pid ]]; then
    if [[ $mode == external ]]; then
      say "postgres: external DATABASE_URL left alone; no private PostgreSQL running"
    else
      say "postgres: private PostgreSQL not running; nothing to stop"
    fi
    return 0
  fi
  v="$(pg_version_of "$dir")"
  bindir="/usr/lib/postgresql/$v/bin"
  [[ -x $bindir/pg_ctl ]] || bindir="$(pg_bindir)"
  local port
  port="$(pg_running_port "$dir")"
  if ! as_pg "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1; then
    show_log "$dir/server.log"
    die "postgres: pg_ctl stop failed for $dir (pid $pid)"
  fi
  say "postgres: stopped private PostgreSQL $v on 127.0.0.1:${port:-?} (data $(rel "$dir"))"
}

pg_status() {
  local dir pid port mode url
  dir="$(pg_datadir)"
  mode="$(state_get PG_MODE)"
  if [[ $mode == external && -r $ENV_FILE ]]; then
    url="$(
      # shellcheck disable=SC1090
      . "$ENV_FILE"
      printf '%s' "${DATABASE_URL:-}"
    )"
    if [[ -n $url && "$(timeout 10 psql "$url" -Atc 'select 1' 2>/dev/null || true)" == 1 ]]; then
      echo "postgres: running (external DATABASE_URL $(redact "$url"))"
      return 0
    fi
    echo "postgres: stopped / not answering (external DATABASE_URL $(redact "$url"))"
    return 1
  fi
  pid="$(pg_running_pid "$dir")"
  if [[ -n $pid ]]; then
    port="$(pg_running_port "$dir")"
    if pg_isready -q -h 127.0.0.1 -p "$port" -t 2 2>/dev/null; then
      echo "postgres: running (private PostgreSQL $(pg_version_of "$dir") on 127.0.0.1:$port, pid $pid, data $(rel "$dir"))"
      return 0
    fi
    echo "postgres: not answering (private, pid $pid, data $(rel "$dir"), port ${port:-?})"
    return 1
  fi
  echo "postgres: stopped (private, data $(rel "$dir"), port $PG_PORT)"
  return 1
}

# --------------------------------------------------------------------------------------------- redis

redis_ping() {
  [[ "$(timeout 5 redis-cli --no-auth-warning "$@" ping 2>/dev/null || true)" == PONG ]]
}

# Pid of the private redis-server from our pid file, or nothing.
redis_running_pid() {
  local pid
  [[ -r $REDIS_DIR/redis.pid ]] || return 0
  pid="$(tr -dc '0-9' <"$REDIS_DIR/redis.pid" 2>/dev/null || true)"
  [[ -n $pid ]] || return 0
  if alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == redis-server* ]]; then
    printf '%s' "$pid"
  fi
}

redis_private_port() {
  local p
  p="$(cat "$REDIS_DIR/port" 2>/dev/null || true)"
  printf '%s' "${p:-$REDIS_PORT}"
}

# Sets R_URL, R_MODE.
redis_up() {
  if [[ -n ${REDIS_URL:-} ]]; then
    command -v redis-cli >/dev/null 2>&1 || apt_install redis-cli redis-tools
    if redis_ping -u "$REDIS_URL"; then
      R_URL="$REDIS_URL"
      R_MODE=external
      say "redis: using REDIS_URL (external, $(redact "$REDIS_URL"))"
      return 0
    fi
    R_NOTE=" (REDIS_URL $(redact "$REDIS_URL") did not answer)"
  fi
  R_MODE=private

  local pid port installed=""
  pid="$(redis_running_pid)"
  if [[ -n $pid ]]; then
    port="$(redis_private_port)"
    if redis_ping -h 127.0.0.1 -p "$port"; then
      if [[ $port != "$REDIS_PORT" ]]; then
        say "redis: reusing private Redis on 127.0.0.1:$port (not CC_REDIS_PORT=$REDIS_PORT: run 'down' first to move it)${R_NOTE}"
      else
        say "redis: reusing private Redis on 127.0.0.1:$port${R_NOTE}"
      fi
      R_URL="redis://127.0.0.1:$port"
      return 0
    fi
    die "redis: private redis-server (pid $pid) does not answer on 127.0.0.1:$port; see $REDIS_DIR/redis.log or run 'down'"
  fi

  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server redis-server
    command -v redis-server >/dev/null 2>&1 || die "redis: installed redis-server but it is not on PATH"
    installed="installed redis-server with apt-get; "
  fi

  if redis_ping -h 127.0.0.1 -p "$REDIS_PORT"; then
    # Answering but not ours (no live pid file): reuse it as the brief says, but do not own it.
    say "redis: ${installed}reusing a Redis already answering on 127.0.0.1:$REDIS_PORT (not started by this checkout; 'down' will not stop it)${R_NOTE}"
    R_URL="redis://127.0.0.1:$REDIS_PORT"
    return 0
  fi

  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_DIR/redis.pid"
  local log="$REDIS_DIR/redis.log"
  if ! redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --maxmemory-policy noeviction --dir "$REDIS_DIR" --logfile "$log" --pidfile "$REDIS_DIR/redis.pid" \
    >/dev/null 2>"$REDIS_DIR/start.err" 9>&-; then
    cat "$REDIS_DIR/start.err" >&2 || true
    show_log "$log"
    die "redis: could not start redis-server on 127.0.0.1:$REDIS_PORT"
  fi
  rm -f "$REDIS_DIR/start.err"
  local i
  for ((i = 0; i < 100; i++)); do
    redis_ping -h 127.0.0.1 -p "$REDIS_PORT" && break
    sleep 0.05
  done
  if ! redis_ping -h 127.0.0.1 -p "$REDIS_PORT"; then
    show_log "$log"
    die "redis: redis-server did not answer on 127.0.0.1:$REDIS_PORT within 5 s"
  fi
  printf '%s\n' "$REDIS_PORT" >"$REDIS_DIR/port"
  local ver
  ver="$(redis-server --version 2>/dev/null | sed -nE 's/.*v=([0-9.]+).*/\1/p')"
  say "redis: ${installed}started private Redis ${ver:+$ver }on 127.0.0.1:$REDIS_PORT (data $(rel "$REDIS_DIR"))${R_NOTE}"
  R_URL="redis://127.0.0.1:$REDIS_PORT"
}

redis_down() {
  local pid port mode i
  mode="$(state_get REDIS_MODE)"
  pid="$(redis_running_pid)"
  if [[ -z $pid ]]; then
    if [[ $mode == external ]]; then
      say "redis: external REDIS_URL left alone; no private Redis running"
    else
      say "redis: private Redis not running; nothing to stop"
    fi
    rm -f "$REDIS_DIR/redis.pid"
    return 0
  fi
  port="$(redis_private_port)"
  timeout 5 redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
  fi
  if alive "$pid"; then
    die "redis: private redis-server (pid $pid) did not stop"
  fi
  rm -f "$REDIS_DIR/redis.pid"
  say "redis: stopped private Redis on 127.0.0.1:$port"
}

redis_status() {
  local pid port mode url
  mode="$(state_get REDIS_MODE)"
  if [[ $mode == external && -r $ENV_FILE ]]; then
    url="$(
      # shellcheck disable=SC1090
      . "$ENV_FILE"
      printf '%s' "${REDIS_URL:-}"
    )"
    if [[ -n $url ]] && redis_ping -u "$url"; then
      echo "redis: running (external REDIS_URL $(redact "$url"))"
      return 0
    fi
    echo "redis: stopped / not answering (external REDIS_URL $(redact "$url"))"
    return 1
  fi
  pid="$(redis_running_pid)"
  port="$(redis_private_port)"
  if [[ -n $pid ]]; then
    if command -v redis-cli >/dev/null 2>&1 && redis_ping -h 127.0.0.1 -p "$port"; then
      echo "redis: running (private Redis on 127.0.0.1:$port, pid $pid, data $(rel "$REDIS_DIR"))"
      return 0
    fi
    echo "redis: not answering (private, pid $pid, port $port)"
    return 1
  fi
  echo "redis: stopped (private, port $REDIS_PORT)"
  return 1
}

# ------------------------------------------------------------------------------------------ commands

write_env() {
  local tmp
  mkdir -p "$DATA"
  tmp="$(mktemp "$DATA/.services.env.XXXXXX")"
  chmod 600 "$tmp"
  {
    printf 'export PG_ADMIN_URL=%s\n' "$(shq "$PG_ADMIN")"
    printf 'export DATABASE_OWNER_URL=%s\n' "$(shq "$PG_OWNER")"
    printf 'export DATABASE_URL=%s\n' "$(shq "$PG_APP")"
    printf 'export REDIS_URL=%s\n' "$(shq "$R_URL")"
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
  tmp="$(mktemp "$DATA/.services.state.XXXXXX")"
  printf 'PG_MODE=%s\nREDIS_MODE=%s\n' "$PG_MODE" "$R_MODE" >"$tmp"
  mv -f "$tmp" "$STATE_FILE"
  cat "$ENV_FILE"
}

cmd_up() {
  take_lock
  pg_up
  redis_up
  write_env
}

cmd_down() {
  take_lock
  local rc=0
  pg_down || rc=1
  redis_down || rc=1
  return "$rc"
}

cmd_status() {
  local rc=0
  pg_status || rc=3
  redis_status || rc=3
  return "$rc"
}

cmd_env() {
  [[ -r $ENV_FILE ]] || die "$(rel "$ENV_FILE") does not exist: run 'bash scripts/services.sh up' first"
  cat "$ENV_FILE"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-up}"
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *)
      printf 'services: error: unknown command %q\n\n' "$cmd" >&2
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
