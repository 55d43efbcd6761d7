#!/usr/bin/env bash
# The UI tests drive Debian's Chromium with playwright-core (never a downloaded browser). Installs it
# when missing: as root directly, otherwise through sudo.
set -euo pipefail
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "Chromium is needed for the UI tests: install it (apt-get install chromium) and run again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "installed $(chromium --version)"
