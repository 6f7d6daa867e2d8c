#!/usr/bin/env bash
# Install the Debian packages listed in firmware/debian-packages.txt (only what is missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t pkgs < <(grep -v '^\s*#' "$here/debian-packages.txt" | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The browser tests' driver (playwright-core, pinned in tests/browser/package-lock.json); it
# uses Debian's chromium, so npm downloads no browser.
browser="$here/../tests/browser"
if [ -f "$browser/package-lock.json" ] && [ ! -d "$browser/node_modules/playwright-core" ] &&
	command -v npm >/dev/null; then
	(cd "$browser" && npm ci --no-audit --no-fund >/dev/null)
fi
