# Sourced by scripts/test and scripts/bench: start_throwaway_pg PORT VAR starts a PostgreSQL
# cluster from the machine's binaries (installed by scripts/setup when run as root) in a temporary
# directory, stops and removes it when the calling script exits, and exports VAR as the
# SQLAlchemy URL of its database. Returns 1 (doing nothing) when there is no PostgreSQL.
start_throwaway_pg() {
  local port=$1 var=$2
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    return 1
  fi
  PGDIR=$(mktemp -d /tmp/socialcredit-pg.XXXXXX)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PGDIR"
    as_pg=(runuser -u postgres --)
  fi
  "${as_pg[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log"
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -o "-h 127.0.0.1 -p $port -k $PGDIR -F" -w start >/dev/null
  trap '"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null; rm -rf "$PGDIR"' EXIT
  "${as_pg[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres socialcredit_test
  export "$var=postgresql+psycopg://postgres@127.0.0.1:$port/socialcredit_test"
  echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on port $port (fsync off)"
}
