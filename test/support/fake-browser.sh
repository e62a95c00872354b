#!/bin/sh
# BROWSER=/abs/path/test/support/fake-browser.sh — runs the scripted browser with the URL.
exec node "$(dirname "$0")/fake-browser.mjs" "$@"
