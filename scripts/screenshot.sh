#!/bin/sh
# Renders the sample eval report and screenshots it in headless Chromium at a
# laptop and a phone width, so that layout changes to evals/report.go can be
# looked at before they ship. Needs Debian's chromium (apt-get install chromium).
#
#   scripts/screenshot.sh [OUTDIR]    # default /tmp; writes report-laptop.png, report-phone.png
set -eu

out=${1:-/tmp}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
go test ./evals/ -run '^TestWriteHTMLSample$' -update -count=1 >/dev/null
report="$root/evals/testdata/sample-report.html"

shot() { # name width height
	profile=$(mktemp -d)
	# No network, no first-run or background services: the report must render
	# from the file alone.
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$profile" --window-size="$2,$3" \
		--screenshot="$out/report-$1.png" "file://$report" 2>/dev/null
	rm -rf "$profile"
	echo "$out/report-$1.png"
}
shot laptop 1280 "${LAPTOP_HEIGHT:-2400}"
shot phone 390 "${PHONE_HEIGHT:-3600}"
