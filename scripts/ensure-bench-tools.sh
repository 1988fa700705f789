#!/usr/bin/env bash
# Installs (through apt, only when missing) what `make bench` runs besides bascule:
#   pgloader         baseline B (MariaDB -> PostgreSQL bulk copy)
#   mariadb-client   baseline A (mysqldump | mysql), also the mariadb-dump / mariadb binaries
#   time             /usr/bin/time: bench/run.py measures the peak RSS of each process with it
# Idempotent and quiet: prints one line only when it installs something.
set -euo pipefail
. "$(dirname "$0")/apt-install.sh"

need_apt=()
command -v pgloader >/dev/null 2>&1 || need_apt+=(pgloader)
if ! { command -v mysqldump || command -v mariadb-dump; } >/dev/null 2>&1 \
   || ! { command -v mysql || command -v mariadb; } >/dev/null 2>&1; then
  need_apt+=(mariadb-client)
fi
[ -x /usr/bin/time ] || need_apt+=(time)

if ((${#need_apt[@]})); then
  apt_install ensure-bench-tools "${need_apt[@]}" || exit 1
fi
