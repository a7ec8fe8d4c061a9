# shellcheck shell=bash
# A throwaway PostgreSQL 15 cluster on a loopback port, for scripts/test and scripts/bench/all.
#
#   source scripts/lib/postgres.sh
#   pg_start DBNAME [extra server options]   sets PG_DIR, PG_PORT, PG_URL; returns non-zero on failure
#   pg_stop                                  stops the cluster and removes its folder (safe to call twice)
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user in a folder it owns.

PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=""
PG_PORT=""
PG_URL=""
PG_AS=()

_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  local dbname="$1"; shift
  local extra="$*"
  if [[ ! -x "$PG_BIN/initdb" ]]; then
    echo "PostgreSQL 15 is not installed ($PG_BIN/initdb); as root, scripts/setup installs it (package postgresql)" >&2
    return 1
  fi
  PG_DIR="$(mktemp -d -t madoguchi-pg.XXXXXX)"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres:postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  if ! "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    return 1
  fi
  local attempt
  for attempt in 1 2 3; do
    PG_PORT="$(_pg_free_port)"
    if "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 $extra" start >/dev/null; then
      "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$dbname" || return 1
      PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$dbname"
      return 0
    fi
    echo "PostgreSQL did not start on port $PG_PORT (attempt $attempt)" >&2
  done
  tail -n 30 "$PG_DIR/server.log" >&2 || true
  return 1
}

pg_stop() {
  if [[ -n "$PG_DIR" && -f "$PG_DIR/data/postmaster.pid" ]]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
  PG_DIR=""
}
