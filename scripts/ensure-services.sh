#!/usr/bin/env bash
# Installs (through apt) and starts the MariaDB and PostgreSQL servers the test suite needs,
# unless BASCULE_TEST_MYSQL_URL / BASCULE_TEST_PG_URL point the suite at other servers.
set -euo pipefail
. "$(dirname "$0")/apt-install.sh"

need_apt=()
if [ -z "${BASCULE_TEST_MYSQL_URL:-}" ] && ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  need_apt+=(mariadb-server mariadb-client)
fi
if [ -z "${BASCULE_TEST_PG_URL:-}" ] && [ ! -d /etc/postgresql ]; then
  need_apt+=(postgresql)
fi
installed_pg=0
installed_my=0
if ((${#need_apt[@]})); then
  apt_install ensure-services "${need_apt[@]}"
  [[ " ${need_apt[*]} " == *" postgresql "* ]] && installed_pg=1
  [[ " ${need_apt[*]} " == *" mariadb-server "* ]] && installed_my=1
fi

wait_for() {  # wait_for NAME CMD... : polls a readiness command, up to 60 s
  local name=$1; shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "ensure-services: $name did not become ready" >&2
  return 1
}

if [ -z "${BASCULE_TEST_MYSQL_URL:-}" ]; then
  if ! mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1; then
    echo "ensure-services: starting MariaDB" >&2
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB mariadb-admin -uroot -h127.0.0.1 ping || wait_for MariaDB mariadb-admin -uroot ping
  fi
  if [ "$installed_my" = 1 ]; then
    # a server we just installed: root may log in over TCP without a password (tests only)
    mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES;" || true
  fi
fi

if [ -z "${BASCULE_TEST_PG_URL:-}" ]; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ "$installed_pg" = 1 ]; then
    # a cluster we just installed: let the postgres user in over loopback without a password,
    # as on the machines this project is developed on (tests only)
    hba=/etc/postgresql/$ver/main/pg_hba.conf
    sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main restart || true
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    echo "ensure-services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
  fi
  # trust auth for the postgres user on loopback is how this machine kind is set up; check it
  psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null
fi
