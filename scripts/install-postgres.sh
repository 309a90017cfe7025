#!/usr/bin/env bash
# Installs what Relais needs to run its PostgreSQL tests on a Debian machine:
# the PostgreSQL server, its development headers and the pgvector extension.
#
# Idempotent: it does nothing when a server with pgvector is already there.
# Debian bookworm has no binary pgvector package, so the extension is built
# from Debian's own `pgvector` source package of a newer suite. The deb-src
# entry for that suite is derived from the machine's own apt sources: no
# mirror host is written here.
#
# Environment:
#   PGVECTOR_MIN_VERSION  oldest acceptable pgvector (default 0.8.0)
#   PG_MAJOR              PostgreSQL major version to use (default: newest installed, else Debian's default)
set -euo pipefail

min_version=${PGVECTOR_MIN_VERSION:-0.8.0}

log() { printf 'install-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

newest_pg_major() {
	local d best=""
	for d in /usr/lib/postgresql/*/bin/postgres; do
		[ -x "$d" ] || continue
		d=${d#/usr/lib/postgresql/}
		d=${d%%/*}
		if [ -z "$best" ] || [ "$d" -gt "$best" ]; then best=$d; fi
	done
	printf '%s' "$best"
}

have_pgvector() {
	local major=$1
	[ -n "$major" ] || return 1
	local sharedir
	sharedir=$("/usr/lib/postgresql/$major/bin/pg_config" --sharedir 2>/dev/null) || sharedir=/usr/share/postgresql/$major
	[ -f "$sharedir/extension/vector.control" ] && [ -f "/usr/lib/postgresql/$major/lib/vector.so" ]
}

major=${PG_MAJOR:-$(newest_pg_major)}
if [ -n "$major" ] && have_pgvector "$major"; then
	log "PostgreSQL $major with pgvector is installed"
	exit 0
fi

need_help() {
	cat >&2 <<EOF
install-postgres: cannot install automatically: $1
Install these yourself, then run the tests again:
  - a PostgreSQL server (13 or newer) with initdb and pg_ctl
  - the pgvector extension, version $min_version or newer (https://github.com/pgvector/pgvector)
Or point TEST_DATABASE_URL at a PostgreSQL database where 'CREATE EXTENSION vector' works.
EOF
	exit 1
}

[ "$(id -u)" -eq 0 ] || need_help "not running as root"
[ -f /etc/debian_version ] && command -v apt-get >/dev/null || need_help "this is not a Debian machine"

export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_update() {
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		apt-get update -qq
		apt_updated=1
	fi
}

if [ -z "$major" ]; then
	apt_update
	log "installing the PostgreSQL server"
	apt-get install -y -qq postgresql >/dev/null
	major=$(newest_pg_major)
	[ -n "$major" ] || die "PostgreSQL was installed but no server binary was found under /usr/lib/postgresql"
fi

if ! [ -x "/usr/lib/postgresql/$major/bin/pg_config" ] || ! [ -f "/usr/include/postgresql/$major/server/postgres.h" ]; then
	apt_update
	log "installing postgresql-server-dev-$major and build tools"
	apt-get install -y -qq "postgresql-server-dev-$major" build-essential dpkg-dev >/dev/null
fi
command -v dpkg-source >/dev/null || { apt_update; apt-get install -y -qq dpkg-dev >/dev/null; }

# Derive deb-src entries for newer suites from the machine's own Debian mirror.
mirror=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || need_help "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/debian.sources"

src_list=/etc/apt/sources.list.d/relais-pgvector-src.sources
cat >"$src_list" <<EOF
# Added by Relais scripts/install-postgres.sh to build pgvector from Debian's source package.
Types: deb-src
URIs: $mirror
Suites: trixie forky sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_updated=""
apt_update

# Newest first: a suite's index can name a version its pool no longer serves,
# so fall back to the next one rather than fail.
versions=$(apt-cache showsrc pgvector 2>/dev/null | awk '/^Version:/ {print $2}' | sort -uVr)
[ -n "$versions" ] || die "no pgvector source package found in the newer Debian suites (see $src_list)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get source runs the download as the _apt user: let it write here.
chmod 0777 "$work"
built=""
for version in $versions; do
	upstream=${version%%-*}
	if [ "$(printf '%s\n%s\n' "$min_version" "$upstream" | sort -V | head -n 1)" != "$min_version" ]; then
		log "skipping pgvector $version: older than the required $min_version"
		continue
	fi
	rm -rf "${work:?}"/*
	if ! (cd "$work" && apt-get source -qq "pgvector=$version" >/dev/null 2>&1); then
		log "pgvector $version could not be fetched; trying an older one"
		continue
	fi
	log "building pgvector $version for PostgreSQL $major"
	srcdir=$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n 1)
	# OPTFLAGS="" avoids -march=native, so the build runs on any x86-64 machine.
	make -s -C "$srcdir" OPTFLAGS="" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >/dev/null
	make -s -C "$srcdir" OPTFLAGS="" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" install >/dev/null
	built=$upstream
	break
done
[ -n "$built" ] || die "no pgvector source package of version $min_version or newer could be fetched (tried: $(echo $versions))"
have_pgvector "$major" || die "pgvector was built but vector.control is not installed for PostgreSQL $major"
log "PostgreSQL $major with pgvector $built is installed"
