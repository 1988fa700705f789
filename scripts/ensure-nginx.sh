#!/usr/bin/env bash
# Installs (through apt) the web servers the redirect tests run for real, when they are missing:
#   nginx (test_redirects_nginx.py), apache2, haproxy and caddy (config checks in
#   test_redirects.py), and wrk for `bench/redirects_wrk.sh` (not needed by the tests).
# The tests start their own server processes on loopback ports; nothing here starts a service.
# BASCULE_SKIP_WEBSERVER_INSTALL=1 disables the install (the tests then fail loudly if missing).
set -euo pipefail
. "$(dirname "$0")/apt-install.sh"

[ "${BASCULE_SKIP_WEBSERVER_INSTALL:-}" = "1" ] && exit 0

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
command -v wrk >/dev/null 2>&1 || need+=(wrk)

if ((${#need[@]})); then
  apt_install ensure-nginx "${need[@]}"
fi
