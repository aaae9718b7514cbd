#!/usr/bin/env bash
# Installs (or updates) Sekisho on Raspberry Pi OS 64-bit (Bookworm or later) as a systemd service.
# Run from a checkout, as root:   sudo scripts/install.sh
# Step by step, with what to do before and after: docs/install.md.
#
#   /opt/sekisho                   a link to the application in /opt/sekisho-releases/<version>-<time>
#                                  (root-owned, read-only to the service), npm ci --omit=dev, then
#                                  npm run build: the service runs the JavaScript in /opt/sekisho/dist;
#                                  /opt/sekisho.previous links to the version before (docs/install.md)
#   /etc/sekisho/config.yaml       the config (root:sekisho 0640, folder 0750); never overwritten
#   /var/lib/sekisho               journal, device secrets, backups/ (sekisho 0700)
#   /etc/sekisho/dashboard.crt     the dashboard's TLS certificate (root:sekisho 0644) and its key
#   /etc/sekisho/dashboard.key     (sekisho 0600): self-signed by scripts/make-cert.sh unless given
#                                  with --cert/--key; an existing pair is kept. Its fingerprint is printed.
#   /etc/systemd/system/sekisho.service   deploy/sekisho.service, enabled
#   /usr/local/bin/sekisho         the `sekisho` command, run as the service user
#
# Options:
#   --dry-run      change nothing on the system: no user, no chown, no npm, no systemctl (each is
#                  printed instead); with --root, the files are still laid out under DIR
#   --root DIR     lay the files out under DIR instead of / (only with --dry-run)
#   --node PATH    the Node.js to use (default: the `node` on PATH): 22, 24 or 26 (24 or 26 recommended;
#                  20.20.2 is accepted with a warning, it is past its end of life)
#   --no-enable    install the unit but do not enable it
#   --cert FILE --key FILE
#                  install this certificate (PEM, e.g. from the city's CA) and key for the dashboard
#                  instead of making a self-signed one; replaces the installed pair
# Running it again updates the application and the unit; config and state are kept. The previous
# application stays in /opt/sekisho.previous until the next update.
set -euo pipefail

NEED_NODE=20.20.2
SERVICE_USER=sekisho
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT=""
DRY=0
ENABLE=1
NODE=""
GIVEN_CERT=""
GIVEN_KEY=""

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
# A command that changes the system: run it, or print it on a dry run.
sys() {
  if [ "$DRY" = 1 ]; then printf 'install.sh: (dry run) would run: %s\n' "$*"; else "$@"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --root) [ $# -ge 2 ] || die "--root needs a folder"; ROOT="$(cd "$2" && pwd)"; shift ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; NODE="$2"; shift ;;
    --no-enable) ENABLE=0 ;;
    --cert) [ $# -ge 2 ] || die "--cert needs a file"; GIVEN_CERT="$2"; shift ;;
    --key) [ $# -ge 2 ] || die "--key needs a file"; GIVEN_KEY="$2"; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) printf 'install.sh: unknown option %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$ROOT" ] && [ "$DRY" = 0 ]; then
  die "--root is only supported with --dry-run (users, ownership and systemd belong to the running system)"
fi
if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then die "run as root: sudo $0"; fi
if [ -n "$GIVEN_CERT$GIVEN_KEY" ]; then
  [ -n "$GIVEN_CERT" ] && [ -n "$GIVEN_KEY" ] || die "--cert and --key go together"
  [ -r "$GIVEN_CERT" ] && [ -r "$GIVEN_KEY" ] || die "cannot read $GIVEN_CERT or $GIVEN_KEY"
fi

# --- the machine ----------------------------------------------------------------------------------
if [ -r /etc/os-release ]; then
  # shellcheck source=/dev/null
  . /etc/os-release
  case "${VERSION_CODENAME:-}" in
    bookworm|trixie|forky) ;;
    *) say "warning: made for Raspberry Pi OS / Debian 12 (bookworm) or later; this is ${PRETTY_NAME:-unknown}" ;;
  esac
fi
case "$(uname -m)" in
  aarch64) ;;
  *) say "warning: made for 64-bit Raspberry Pi OS (aarch64); this machine is $(uname -m)" ;;
esac

# --- Node.js ----------------------------------------------------------------------------------------
if [ -z "$NODE" ]; then
  NODE="$(command -v node || true)"
  [ -n "$NODE" ] || die "Node.js >= $NEED_NODE is required and none was found (docs/install.md, step 3)"
fi
[ -x "$NODE" ] || die "$NODE is not an executable"
case "$NODE" in /*) ;; *) NODE="$(cd "$(dirname "$NODE")" && pwd)/$(basename "$NODE")" ;; esac
HAVE_NODE="$("$NODE" -p 'process.versions.node' 2>/dev/null || true)"
[[ "$HAVE_NODE" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$NODE did not report a version"
if [ "$(printf '%s\n%s\n' "$NEED_NODE" "$HAVE_NODE" | sort -V | head -1)" != "$NEED_NODE" ]; then
  die "Node.js >= $NEED_NODE is required, $NODE is $HAVE_NODE (docs/install.md, step 3)"
fi
case "${HAVE_NODE%%.*}" in
  24 | 26) ;;
  22) say "note: Node.js $HAVE_NODE gets security fixes until 2027-04-30; plan the move to 24 or 26 (docs/install.md, step 3)" ;;
  20) say "WARNING: Node.js $HAVE_NODE reached its end of life on 2026-04-30 and gets no security fixes: install 24 or 26 (docs/install.md, step 3)" ;;
  *) say "WARNING: Node.js $HAVE_NODE is not a line Sekisho is tested on (22, 24, 26) (docs/install.md, step 3)" ;;
esac
NPM="$(dirname "$NODE")/npm"
[ -x "$NPM" ] || NPM="$(command -v npm || echo npm)"
say "Node.js $HAVE_NODE at $NODE"

# --- the service user ---------------------------------------------------------------------------------
for g in gpio dialout; do
  if ! getent group "$g" >/dev/null; then
    say "warning: group $g does not exist here (not a Raspberry Pi OS image?); creating it"
    sys groupadd --system "$g"
  fi
done
if id "$SERVICE_USER" >/dev/null 2>&1; then
  sys usermod --append --groups gpio,dialout "$SERVICE_USER"
else
  sys useradd --system --user-group --groups gpio,dialout --home-dir /var/lib/sekisho --no-create-home \
    --shell /usr/sbin/nologin --comment "Sekisho access controller" "$SERVICE_USER"
fi
# chown by name; on a dry run the user may not exist, so only print it.
own() { sys chown "$@"; }

# --- the application ------------------------------------------------------------------------------
APP="$ROOT/opt/sekisho"
NEW="$APP.new"
rm -rf "$NEW"
mkdir -p "$NEW"
for item in bin scripts controller dashboards firmware-bridge hardware config docs package.json package-lock.json \
  tsconfig.json README.md LICENSE; do
  [ -e "$SRC/$item" ] && cp -R "$SRC/$item" "$NEW/"
done
[ -f "$NEW/bin/sekisho-dist.mjs" ] && [ -f "$NEW/scripts/build.mjs" ] ||
  die "$SRC does not look like a Sekisho checkout (no bin/sekisho-dist.mjs or scripts/build.mjs)"
# Dev tools are left out. esbuild is a runtime dependency: the build (npm run build, run here with
# the chosen Node) transpiles the TypeScript into $APP/dist, which the service runs without tsx.
# A dist/ in the checkout is never copied: the one installed is always built from what is installed.
if [ "$DRY" = 1 ]; then
  say "(dry run) would run: (cd $NEW && $NPM ci --omit=dev --no-audit --no-fund)"
  say "(dry run) would run: (cd $NEW && $NODE scripts/build.mjs)"
else
  (cd "$NEW" && "$NPM" ci --omit=dev --no-audit --no-fund)
  (cd "$NEW" && "$NODE" scripts/build.mjs)
fi
find "$NEW" -type d -exec chmod 0755 {} +
find "$NEW" -type f ! -path '*/node_modules/*' -exec chmod 0644 {} +
chmod 0755 "$NEW/bin/sekisho.mjs" "$NEW/bin/sekisho-dist.mjs"
own -R root:root "$NEW"
# Each version in a folder of its own; /opt/sekisho and /opt/sekisho.previous are links to two of
# them, each switched in one rename (the layout `sekisho upgrade` uses: docs/install.md).
RELEASES="$ROOT/opt/sekisho-releases"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
version_of() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$1/package.json" | head -1; }
link_to() { ln -sfn "$2" "$1.switch" && mv -Tf "$1.switch" "$1"; }
mkdir -p "$RELEASES"
chmod 0755 "$RELEASES"
if [ -d "$APP" ] && [ ! -L "$APP" ]; then
  # A folder left by an older install.sh becomes a release like the others.
  OLD="$(version_of "$APP")-$STAMP-installed"
  mv "$APP" "$RELEASES/$OLD"
  link_to "$APP" "sekisho-releases/$OLD"
fi
if [ -d "$APP.previous" ] && [ ! -L "$APP.previous" ]; then rm -rf "$APP.previous"; fi
REL="$(version_of "$NEW")-$STAMP"
n=1
while [ -e "$RELEASES/$REL" ]; do REL="$(version_of "$NEW")-$STAMP-$n"; n=$((n + 1)); done
mv "$NEW" "$RELEASES/$REL"
if [ -L "$APP" ]; then link_to "$APP.previous" "$(readlink "$APP")"; fi
link_to "$APP" "sekisho-releases/$REL"
# Two versions are kept: the one installed now and the one before it.
for d in "$RELEASES"/*; do
  [ "$d" = "$RELEASES/$REL" ] && continue
  [ -L "$APP.previous" ] && [ "$(cd "$d" && pwd -P)" = "$(cd "$APP.previous" && pwd -P)" ] && continue
  rm -rf "$d"
done
say "application installed in $RELEASES/$REL; $APP links to it"

# --- config and state ---------------------------------------------------------------------------------
mkdir -p "$ROOT/etc/sekisho"
chmod 0750 "$ROOT/etc/sekisho"
own root:$SERVICE_USER "$ROOT/etc/sekisho"
CONFIG="$ROOT/etc/sekisho/config.yaml"
if [ -e "$CONFIG" ]; then
  say "kept the existing config $CONFIG"
else
  cp "$SRC/config/raspberry-pi.yaml" "$CONFIG"
  say "wrote $CONFIG from config/raspberry-pi.yaml: edit it for your doors, pins and readers"
fi
chmod 0640 "$CONFIG"
own root:$SERVICE_USER "$CONFIG"

STATE="$ROOT/var/lib/sekisho"
mkdir -p "$STATE/backups"
chmod 0700 "$STATE" "$STATE/backups"
own -R $SERVICE_USER:$SERVICE_USER "$STATE"

# --- the dashboard's certificate (docs/install.md, "The dashboard's certificate") ---------------------
CRT="$ROOT/etc/sekisho/dashboard.crt"
KEY="$ROOT/etc/sekisho/dashboard.key"
if [ -n "$GIVEN_CERT" ]; then
  command -v openssl >/dev/null || die "openssl is needed to check the given certificate (apt install openssl)"
  openssl x509 -in "$GIVEN_CERT" -noout 2>/dev/null || die "$GIVEN_CERT is not a PEM certificate"
  # The same public key in both, or the dashboard would not start.
  [ "$(openssl x509 -in "$GIVEN_CERT" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
    "$(openssl pkey -in "$GIVEN_KEY" -pubout -outform DER 2>/dev/null | sha256sum)" ] ||
    die "$GIVEN_KEY is not the key of $GIVEN_CERT (or is encrypted: the service cannot type a passphrase)"
  (umask 077 && cp "$GIVEN_KEY" "$KEY.new") && chmod 0600 "$KEY.new" && mv -f "$KEY.new" "$KEY"
  cp "$GIVEN_CERT" "$CRT.new" && chmod 0644 "$CRT.new" && mv -f "$CRT.new" "$CRT"
  say "installed the given certificate as $CRT and its key as $KEY"
elif [ -e "$CRT" ] && [ -e "$KEY" ]; then
  say "kept the existing dashboard certificate $CRT"
elif [ -e "$CRT" ] || [ -e "$KEY" ]; then
  die "only one of $CRT and $KEY exists: remove it, or give both with --cert and --key"
else
  if ! command -v openssl >/dev/null; then sys apt-get install -y openssl; fi
  if command -v openssl >/dev/null; then
    bash "$SRC/scripts/make-cert.sh" --cert "$CRT" --key "$KEY" >/dev/null
    say "made a self-signed certificate for the dashboard: $CRT (EC P-256, 5 years, for $(openssl x509 -in "$CRT" -noout -ext subjectAltName | tail -n +2 | sed 's/^ *//'))"
  else
    say "(dry run) openssl is missing: no certificate made"
  fi
fi
if [ -e "$CRT" ]; then
  own root:$SERVICE_USER "$CRT"
  own $SERVICE_USER:$SERVICE_USER "$KEY"
  FINGERPRINT="$(openssl x509 -in "$CRT" -noout -fingerprint -sha256 | sed 's/^[^=]*=//')"
  say "dashboard certificate SHA-256 fingerprint: $FINGERPRINT"
  say "  (the browser shows it the first time: compare it, then trust the certificate; valid until $(openssl x509 -in "$CRT" -noout -enddate | sed 's/^notAfter=//'))"
fi

# --- the command and the unit -----------------------------------------------------------------------
mkdir -p "$ROOT/usr/local/bin"
cat > "$ROOT/usr/local/bin/sekisho" <<EOF
#!/bin/sh
# The sekisho command (installed by scripts/install.sh). Run by root it drops to the service user,
# so every file it creates (journal, secrets, backups) belongs to the service. The person behind
# sudo (SUDO_USER) goes with it: the journal records cli:<sudo user>/$SERVICE_USER. Root without
# sudo is no person and may only revoke (docs/operations.md).
: "\${SEKISHO_CONFIG:=/etc/sekisho/config.yaml}"
export SEKISHO_CONFIG
# Except \`sekisho upgrade\`, which writes /opt/sekisho: it stays root (and gives what it writes in
# the state folder to the service user itself).
if [ "\$(id -u)" = 0 ] && [ "\${1:-}" != upgrade ]; then
  exec runuser -u $SERVICE_USER -- env SUDO_USER="\${SUDO_USER:-}" "$NODE" /opt/sekisho/bin/sekisho-dist.mjs "\$@"
fi
exec "$NODE" /opt/sekisho/bin/sekisho-dist.mjs "\$@"
EOF
chmod 0755 "$ROOT/usr/local/bin/sekisho"

UNIT="$ROOT/etc/systemd/system/sekisho.service"
mkdir -p "$(dirname "$UNIT")"
sed "s#/usr/bin/node #$NODE #g" "$SRC/deploy/sekisho.service" > "$UNIT"
chmod 0644 "$UNIT"
say "unit installed as $UNIT"

sys systemctl daemon-reload
if [ "$ENABLE" = 1 ]; then sys systemctl enable sekisho.service; fi
if [ "$DRY" = 0 ] && systemctl is-active --quiet sekisho.service; then
  say "restarting the running service with the new version"
  systemctl restart sekisho.service
fi

# --- boot config reminders (docs/wiring.md) ----------------------------------------------------------
BOOT="$ROOT/boot/firmware/config.txt"
if [ -r "$BOOT" ]; then
  grep -Eq '^(enable_uart=1|dtparam=uart0=on)' "$BOOT" ||
    say "note: $BOOT does not enable the UART for the RDM6300 (enable_uart=1, or dtparam=uart0=on on a Pi 5)"
  grep -Eq '^gpio=' "$BOOT" ||
    say "note: $BOOT sets no gpio= boot levels: add the pull-ups and the lock relay's safe level (docs/wiring.md)"
fi

cat <<EOF
install.sh: done. Next (docs/install.md):
  1. edit /etc/sekisho/config.yaml (sudoedit /etc/sekisho/config.yaml)
  2. sudo sekisho doctor   (it prints the dashboard certificate's fingerprint again)
  3. sudo systemctl start sekisho && systemctl status sekisho
EOF
