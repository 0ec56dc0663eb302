#!/usr/bin/env bash
# CI: the status page's browser test drives Debian's headless Chromium through its ChromeDriver
# (packages chromium and chromium-driver: /usr/bin/chromium, /usr/bin/chromedriver). Install
# them from the OS packages when missing; no browser build is downloaded from anywhere else.
set -uo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "chromium.sh: $(/usr/bin/chromium --version 2>/dev/null | head -n 1) and its driver are installed"
  exit 0
fi
echo "chromium.sh: installing chromium and chromium-driver (Debian packages)"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null || {
  echo "chromium.sh: could not install chromium chromium-driver" >&2
  exit 1
}
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "chromium.sh: /usr/bin/chromium or /usr/bin/chromedriver still missing" >&2
  exit 1
fi
echo "chromium.sh: installed $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
