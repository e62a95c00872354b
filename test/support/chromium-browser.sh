#!/bin/sh
# BROWSER for the one consent test with a real browser: Debian's headless Chromium. Trust for the
# fake Entra's per-run CA comes from the NSS database in $HOME/.pki/nssdb (made by the test with
# certutil); certificate verification stays on. The PID goes to $CHROMIUM_PIDFILE so the test can
# end the browser afterwards (dirsync never kills the browser it opened).
echo $$ > "${CHROMIUM_PIDFILE:-/dev/null}"
exec chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --no-default-browser-check --user-data-dir="${CHROMIUM_PROFILE:-$HOME/chromium-profile}" "$@" >/dev/null 2>&1
