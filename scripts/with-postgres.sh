#!/usr/bin/env bash
# Runs a command (the test run) with PACKHUB_TEST_DATABASE_URL naming a
# PostgreSQL database, so the PostgreSQL suites run rather than skip.
#
# Given PACKHUB_TEST_DATABASE_URL, it checks the server answers and runs the
# command against it. Otherwise it starts a throwaway PostgreSQL cluster in
# a temporary directory on a free loopback port, runs the command against
# it, then stops the cluster and removes it, however the command ends.
# PostgreSQL refuses to run as root: as root the cluster runs as the
# postgres user (created by the postgresql package).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

if [ -n "${PACKHUB_TEST_DATABASE_URL:-}" ]; then
  if command -v pg_isready >/dev/null && ! pg_isready -q -t 10 -d "$PACKHUB_TEST_DATABASE_URL"; then
    echo "PostgreSQL named by PACKHUB_TEST_DATABASE_URL does not answer; start it, or unset the variable to use a throwaway cluster" >&2
    exit 1
  fi
  exec "$@"
fi

# The server programs: on PATH, or where Debian and Ubuntu put them.
bindir=
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
else
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server not found; install it as root (apt-get install postgresql) or set PACKHUB_TEST_DATABASE_URL" >&2
  exit 1
fi

as_owner=()
tmp=${TMPDIR:-/tmp}
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "as root, the throwaway PostgreSQL cluster runs as the postgres user, which does not exist; install the postgresql package or run as another user" >&2
    exit 1
  fi
  if command -v runuser >/dev/null; then
    as_owner=(runuser -u postgres --)
  else
    as_owner=(su postgres -s /bin/sh -c '"$0" "$@"')
  fi
  tmp=/tmp # the postgres user must reach it
fi

dir=$(mktemp -d "$tmp/packhub-pg.XXXXXX")
cleanup() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir"

if ! "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  echo "initdb failed (log above)" >&2
  exit 1
fi

# A free port: one nothing answers on, and where the server then starts.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=
for _ in 1 2 3 4 5 6 7 8 9 10; do
  port=$((20000 + RANDOM % 40000))
  port_in_use "$port" && continue
  # Test data need not survive a crash: no fsync makes every write cheap.
  if "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
    start >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  cat "$dir/server.log" >&2 || true
  echo "the throwaway PostgreSQL cluster did not start (log above)" >&2
  exit 1
fi
"${as_owner[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test

export PACKHUB_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
echo "PostgreSQL: throwaway cluster at 127.0.0.1:$port ($("$bindir/postgres" --version))" >&2
status=0
"$@" || status=$?
exit $status
