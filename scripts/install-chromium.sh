#!/usr/bin/env bash
# Installs Debian's chromium for the agent console's browser test
# (cmd/relais/console_test.go). Idempotent: does nothing when chromium (or
# the binary named by RELAIS_CHROMIUM) is already there. Installing needs
# root; apt-get update runs only when the package is not known yet.
set -euo pipefail

log() { printf 'install-chromium: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ -n "${RELAIS_CHROMIUM:-}" ] && [ -x "${RELAIS_CHROMIUM}" ]; then
	exit 0
fi
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
command -v apt-get >/dev/null 2>&1 ||
	die "chromium is missing and this is not a Debian-like system: install Chromium and put it on PATH (or set RELAIS_CHROMIUM)"
[ "$(id -u)" -eq 0 ] ||
	die "chromium is missing: run 'sudo bash scripts/install-chromium.sh' (or 'sudo apt-get install chromium')"

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
	log "package lists do not know chromium yet: apt-get update"
	apt-get update -q
fi
log "installing chromium"
# A package index older than the mirror can name a version the mirror no
# longer serves: refresh it once and retry before giving up.
if ! apt-get install -y -q --no-install-recommends chromium; then
	log "install failed; refreshing the package lists and retrying"
	apt-get update -q
	apt-get install -y -q --no-install-recommends chromium ||
		die "apt-get install chromium failed"
fi
command -v chromium >/dev/null 2>&1 || die "chromium installed but not on PATH"
