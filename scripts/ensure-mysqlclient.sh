#!/usr/bin/env bash
# Installs mysqlclient (MySQLdb, C) into the venv: bascule reads a MariaDB/MySQL SOURCE with it,
# about 5x faster than PyMySQL (reference/measurements.md). Optional: when anything here fails,
# bascule still works and reads the source with PyMySQL (a warning says so).
# Needs, from Debian: libmariadb-dev (mysql_config / the client library headers), pkg-config,
# gcc and the Python headers to build the wheel; installed through apt only when missing.
# Usage: scripts/ensure-mysqlclient.sh PIP  (the venv's pip). Idempotent and quiet.
set -uo pipefail
PIP=${1:-.venv/bin/pip}
PY=$(dirname "$PIP")/python

"$PY" -c "import MySQLdb" >/dev/null 2>&1 && exit 0

need_apt=()
dpkg -s libmariadb-dev >/dev/null 2>&1 || need_apt+=(libmariadb-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
"$PY" -c "import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)" \
  || need_apt+=(python3-dev)
if ((${#need_apt[@]})); then
  echo "ensure-mysqlclient: installing ${need_apt[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if ! { $SUDO apt-get update -qq && \
         $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    rm -f "$log"
    echo "ensure-mysqlclient: apt-get failed; the source will be read with PyMySQL (slower)" >&2
    exit 0
  fi
  rm -f "$log"
fi
if ! "$PIP" install -q 'mysqlclient>=2.1' >&2; then
  echo "ensure-mysqlclient: pip install mysqlclient failed; the source will be read with PyMySQL (slower)" >&2
fi
exit 0
