#!/bin/sh
# Debian's Chromium for the browser tests (Playwright drives it; Playwright's own browser download is not
# reachable from CI). A no-op when /usr/bin/chromium is already there.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install_chromium.sh: $CHROMIUM is missing and this is not root (no sudo either):" >&2
        echo "  run 'apt-get install -y --no-install-recommends chromium' as root, then 'make test' again" >&2
        exit 1
    fi
else
    SUDO=
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: $CHROMIUM is missing and apt-get is not available:" >&2
    echo "  install Chromium so that $CHROMIUM exists (the browser tests launch it)" >&2
    exit 1
fi

echo "install_chromium.sh: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
    echo "install_chromium.sh: could not install chromium with apt-get (see above)" >&2
    exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install_chromium.sh: apt-get installed chromium but $CHROMIUM does not exist" >&2
    exit 1
fi
