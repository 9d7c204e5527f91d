#!/usr/bin/env bash
# Services the settlement-gateway tests need, for .ci/run (and for a developer's machine):
#   eval "$(bash .ci/gateway_services.sh start)"   installs (Debian packages) and starts a private
#                                                    PostgreSQL cluster on a free loopback port;
#                                                    prints the exports ZKMARGIN_TEST_PG_URL and
#                                                    ZKMARGIN_PG_DIR
#   bash .ci/gateway_services.sh stop DIR           stops that cluster and deletes it
# Chromium and ChromeDriver (the dashboard test) are installed by `start` too. Whatever cannot
# be installed or started is reported on stderr and the tests that need it skip, saying why.
set -uo pipefail

log() { echo "gateway services: $*" >&2; }

need_pkgs=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)

start() {
  if [ "${#need_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing ${need_pkgs[*]}"
      (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}") >&2 \
        || log "could not install ${need_pkgs[*]}: the tests that need them will skip"
    else
      log "missing ${need_pkgs[*]} (not root or no apt-get): the tests that need them will skip"
    fi
  fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    log "no PostgreSQL server binaries: the PostgreSQL tests will skip"; return 0
  fi
  local dir port runas
  dir=$(mktemp -d /tmp/zkmargin-pg.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ "$(id -u)" = 0 ]; then
    # postgres refuses to run as root: the cluster belongs to the postgres system user
    id postgres >/dev/null 2>&1 || { log "no postgres user: the PostgreSQL tests will skip"; rm -rf "$dir"; return 0; }
    chown postgres: "$dir"; runas=(runuser -u postgres --)
  else
    runas=()
  fi
  if ! "${runas[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >"$dir/initdb.log" 2>&1; then
    log "initdb failed ($(tail -1 "$dir/initdb.log")): the PostgreSQL tests will skip"; rm -rf "$dir"; return 0
  fi
  if ! "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
       -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2; then
    log "PostgreSQL did not start ($(tail -2 "$dir/server.log" 2>/dev/null)): the PostgreSQL tests will skip"
    rm -rf "$dir"; return 0
  fi
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)"
  echo "export ZKMARGIN_PG_DIR=$dir"
  echo "export ZKMARGIN_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir="${1:-}" bin runas=()
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ "$(id -u)" = 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || log "pg_ctl stop failed"
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
