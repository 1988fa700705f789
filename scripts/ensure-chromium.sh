#!/usr/bin/env bash
# Installs (through apt) Debian's headless Chromium when it is missing: tests/test_report_html.py
# prints the HTML reports with it (--headless --print-to-pdf) and reads the rendered text back
# with pdftotext (poppler-utils), as a person opening the file from a ticket would see it.
# Nothing here starts a browser.
# BASCULE_SKIP_BROWSER_INSTALL=1 disables the install (the test then fails loudly if missing).
set -euo pipefail
. "$(dirname "$0")/apt-install.sh"

[ "${BASCULE_SKIP_BROWSER_INSTALL:-}" = "1" ] && exit 0

if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
  apt_install ensure-chromium chromium fonts-dejavu-core poppler-utils
fi
