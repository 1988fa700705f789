#!/usr/bin/env bash
# Installs mysqlclient (MySQLdb, C) into the venv: bascule reads a MariaDB/MySQL SOURCE with it,
# about 5x faster than PyMySQL (docs/measurements.md). Optional: when anything here fails,
# bascule still works and reads the source with PyMySQL (a warning says so).
# Needs, from Debian: libmariadb-dev (mysql_config / the client library headers), pkg-config,
# gcc and the Python headers to build the wheel; installed through apt only when missing.
# Usage: scripts/ensure-mysqlclient.sh PIP  (the venv's pip). Idempotent and quiet.
set -uo pipefail
PIP=${1:-.venv/bin/pip}
PY=$(dirname "$PIP")/python
. "$(dirname "$0")/apt-install.sh"

"$PY" -c "import MySQLdb" >/dev/null 2>&1 && exit 0

need_apt=()
dpkg -s libmariadb-dev >/dev/null 2>&1 || need_apt+=(libmariadb-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
"$PY" -c "import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)" \
  || need_apt+=(python3-dev)
if ((${#need_apt[@]})) && ! apt_install ensure-mysqlclient "${need_apt[@]}"; then
  echo "ensure-mysqlclient: the source will be read with PyMySQL (slower)" >&2
  exit 0
fi
if ! "$PIP" install -q 'mysqlclient>=2.1' >&2; then
  echo "ensure-mysqlclient: pip install mysqlclient failed; the source will be read with PyMySQL (slower)" >&2
fi
exit 0
