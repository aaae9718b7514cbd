#!/usr/bin/env bash
# Makes the dashboard's self-signed TLS certificate: an EC P-256 key (mode 0600) and a certificate
# valid for about 5 years whose subjectAltName lists the machine's host name, its .local name,
# localhost and the machine's addresses; then prints its SHA-256 fingerprint, which users compare
# with what their browser shows the first time. scripts/install.sh runs it; docs/install.md.
#
#   scripts/make-cert.sh --cert FILE --key FILE [--days N] [--name DNS]... [--ip ADDR]...
#
#   --cert, --key   where to write them; neither may exist already (nothing is overwritten)
#   --days N        validity in days (default 1826, about 5 years)
#   --name, --ip    the names and addresses to cover instead of the machine's own (repeatable)
set -euo pipefail

say() { printf 'make-cert.sh: %s\n' "$*"; }
die() { printf 'make-cert.sh: %s\n' "$*" >&2; exit 1; }

CERT=""
KEY=""
DAYS=1826
NAMES=()
IPS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cert) [ $# -ge 2 ] || die "--cert needs a file"; CERT="$2"; shift ;;
    --key) [ $# -ge 2 ] || die "--key needs a file"; KEY="$2"; shift ;;
    --days) [[ "${2:-}" =~ ^[1-9][0-9]{0,4}$ ]] || die "--days needs a number of days"; DAYS="$2"; shift ;;
    --name) [[ "${2:-}" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "--name needs a host name"; NAMES+=("$2"); shift ;;
    --ip) [[ "${2:-}" =~ ^[0-9A-Fa-f:.]+$ ]] || die "--ip needs an IP address"; IPS+=("$2"); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) printf 'make-cert.sh: unknown option %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$CERT" ] && [ -n "$KEY" ] || die "--cert FILE and --key FILE are required"
for f in "$CERT" "$KEY"; do [ ! -e "$f" ] || die "$f exists already: remove it first to make a new one"; done
command -v openssl >/dev/null || die "openssl is needed (Debian package openssl)"

if [ ${#NAMES[@]} -eq 0 ] && [ ${#IPS[@]} -eq 0 ]; then
  SHORT="$(hostname -s 2>/dev/null || hostname)"
  NAMES=("$SHORT" "$SHORT.local" localhost)
  FQDN="$(hostname -f 2>/dev/null || true)"
  if [ -n "$FQDN" ] && [ "$FQDN" != "$SHORT" ] && [ "$FQDN" != localhost ]; then NAMES+=("$FQDN"); fi
  IPS=(127.0.0.1 ::1)
  # The machine's addresses (hostname -I leaves out loopback and IPv6 link-local ones).
  for a in $(hostname -I 2>/dev/null || true); do IPS+=("$a"); done
fi

SAN=""
for n in "${NAMES[@]}"; do SAN="${SAN:+$SAN,}DNS:$n"; done
for a in "${IPS[@]}"; do SAN="${SAN:+$SAN,}IP:$a"; done
CN="${NAMES[0]:-${IPS[0]}}"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# The whole request config here: the distribution's openssl.cnf would add CA:TRUE.
cat > "$TMP/req.cnf" <<EOF
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = $CN
O = Sekisho dashboard
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = $SAN
EOF
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/key.pem" 2>/dev/null)
openssl req -new -x509 -sha256 -days "$DAYS" -key "$TMP/key.pem" -config "$TMP/req.cnf" -out "$TMP/cert.pem"
chmod 0600 "$TMP/key.pem"
chmod 0644 "$TMP/cert.pem"
# Into place without following or replacing anything that appeared meanwhile.
mv -n "$TMP/key.pem" "$KEY"
mv -n "$TMP/cert.pem" "$CERT"
[ -f "$KEY" ] && [ -f "$CERT" ] && [ ! -e "$TMP/key.pem" ] || die "could not move the files into place"

say "certificate $CERT (key $KEY, mode 0600), valid $DAYS days, for $SAN"
say "SHA-256 fingerprint $(openssl x509 -in "$CERT" -noout -fingerprint -sha256 | sed 's/^[^=]*=//')"
say "valid until $(openssl x509 -in "$CERT" -noout -enddate | sed 's/^notAfter=//')"
