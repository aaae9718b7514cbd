#!/usr/bin/env bash
# Sets up Sekisho on a fresh Debian 12 / Raspberry Pi OS machine (run as root; Node.js 22, 24 or 26;
# 20.20.2 is still accepted for development, with a warning: it is past its end of life).
#   scripts/setup.sh          what running the controller needs (build tools for the native modules, sqlite3; jq for the README)
#   scripts/setup.sh --test   also what the test suite needs: mosquitto, socat, chromium
# Safe to run again: it installs only what is missing, then `npm ci` (when package-lock.json is newer
# than node_modules), then always `npm run build` (dist/, which `npm start` runs; about a second).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "setup.sh: unknown option $arg (use --test)" >&2; exit 2 ;;
  esac
done

need_node="20.20.2"
if ! command -v node >/dev/null 2>&1; then
  echo "setup.sh: Node.js >= $need_node is required and was not found" >&2; exit 1
fi
have_node="$(node -p 'process.versions.node')"
if [ "$(printf '%s\n%s\n' "$need_node" "$have_node" | sort -V | head -1)" != "$need_node" ]; then
  echo "setup.sh: Node.js >= $need_node is required, found $have_node" >&2; exit 1
fi
case "${have_node%%.*}" in
  22 | 24 | 26) ;;
  20) echo "setup.sh: WARNING: Node.js $have_node reached its end of life on 2026-04-30 (no security fixes):" \
        "fine for development, never for a door — install Node.js 24 or 26 (docs/install.md)" >&2 ;;
  *) echo "setup.sh: WARNING: Node.js $have_node is not a line Sekisho is tested on (22, 24, 26)" >&2 ;;
esac

# Debian package -> a file it provides (to skip apt when already there).
declare -A pkgs=( [python3]=/usr/bin/python3 [jq]=/usr/bin/jq [make]=/usr/bin/make [g++]=/usr/bin/g++ [sqlite3]=/usr/bin/sqlite3 )
if [ "$want_test" = 1 ]; then
  # openssl: test CAs for MQTT over TLS; systemd: systemd-analyze and systemd-notify for the unit tests;
  # a Japanese font so Chromium renders the Japanese UI (screenshots); NUT's upsd with its dummy UPS
  # driver for the power-fail input; faketime for a clock that is wrong or steps; prometheus for
  # promtool, which lints /metrics (the package also ships a Prometheus server: stop it if unwanted).
  pkgs+=( [mosquitto]=/usr/sbin/mosquitto [socat]=/usr/bin/socat [chromium]=/usr/bin/chromium
          [openssl]=/usr/bin/openssl [systemd]=/usr/bin/systemd-analyze
          [fonts-ipafont-gothic]=/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf
          [nut-server]=/lib/nut/dummy-ups [nut-client]=/usr/bin/upsc [faketime]=/usr/bin/faketime
          [prometheus]=/usr/bin/promtool )
fi
missing=()
for p in "${!pkgs[@]}"; do
  [ -e "${pkgs[$p]}" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing Debian packages: ${missing[*]} — run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian mosquitto package starts a system broker on 1883; the tests start their own on free ports.
fi

# PostgreSQL for the collector's tests (its binaries live under a versioned folder). The tests run
# their own clusters on free ports as the unprivileged `postgres` user; the package's own main
# cluster is not wanted, so it is not created when the package is installed here.
if [ "$want_test" = 1 ] && ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: PostgreSQL is missing — run as root (or: sudo apt-get install postgresql)" >&2
    exit 1
  fi
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
  fi
  echo "setup.sh: installing postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
echo "setup.sh: ready"
