#!/usr/bin/env bash
# Start a throwaway PostgreSQL on a free loopback port as the postgres user (its helpers refuse root).
# Prints the connection URL on stdout; the data directory lives under the given folder.
set -euo pipefail
base=${1:?usage: postgres.sh <folder>}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$base"
data="$base/pgdata"
chown -R postgres:postgres "$base"
runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$base/postgres.log" -w \
  -o "-p $port -k $base -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
echo "postgresql://postgres@127.0.0.1:$port/postgres"
