#!/usr/bin/env bash
# The runbook's certificate renewal: installs a renewed certificate for the services and
# checks that they serve it, without a restart. The services read tls_cert/tls_key again
# on SIGHUP and whenever the files change (every tls_reload_secs), so open connections
# carry on and new ones get the new certificate; a pair that does not load never
# replaces the served one.
#
#   TLS_DIR=/etc/qa-agent/tls scripts/renew_certificates.sh --from NEW.crt NEW.key \
#       [--url https://agent-orchestrator:8000]... [--pid PID] [--timeout 60]
#   TLS_DIR=... scripts/renew_certificates.sh --self-signed "DNS:localhost,IP:127.0.0.1" [--days 90] ...
#   TLS_DIR=... scripts/renew_certificates.sh --check [--min-days 21]
#
# TLS_DIR holds tls.crt and tls.key (the file names of a Kubernetes TLS Secret), which
# the services' QA_AGENT_TLS_CERT/QA_AGENT_TLS_KEY point at; the replaced pair is kept as
# tls.crt.previous and tls.key.previous. In Kubernetes, update the Secret instead
# (kubectl create secret tls ... --dry-run=client -o yaml | kubectl apply -f -): the
# kubelet swaps the mounted files and the pods pick them up the same way; run this with
# --check and --url to verify.
#
# --from: a pair issued by your CA (certbot, cert-manager, an internal CA). --self-signed:
# a new self-signed pair for these subjectAltNames (development and staging only).
# --check: only report how long the installed certificate is valid (for cron).
# --url: each service to verify (QA_AGENT_TLS_CA names a private CA to trust).
# --pid: send SIGHUP to this process so the new pair is served at once.
#
# Exit: 0 installed and served; 1 the new pair is unusable or expires within --min-days
# (nothing was changed); 2 a service still serves another certificate after --timeout
# seconds (the pair is installed: read that service's log for "certificate reload failed").
set -euo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"

dir=${TLS_DIR:-}
mode= from_cert= from_key= sans= days=90 min_days=1 timeout=60 pid=
urls=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from) mode=from; from_cert=${2:?--from CERT KEY}; from_key=${3:?--from CERT KEY}; shift 3 ;;
    --self-signed) mode=self; sans=${2:?--self-signed "DNS:host,IP:addr"}; shift 2 ;;
    --check) mode=check; shift ;;
    --days) days=$2; shift 2 ;;
    --min-days) min_days=$2; shift 2 ;;
    --url) urls+=("$2"); shift 2 ;;
    --pid) pid=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 64 ;;
  esac
done
if [ -z "$dir" ] || [ -z "$mode" ]; then
  echo "set TLS_DIR and give --from CERT KEY, --self-signed SANS or --check (see --help)" >&2
  exit 64
fi
crt=$dir/tls.crt key=$dir/tls.key

# Waits until every --url serves the certificate whose SHA-256 is $1.
verify_served() {
  local want=$1 ca=${2:-} url got deadline
  for url in "${urls[@]}"; do
    deadline=$(( $(date +%s) + timeout ))
    while :; do
      got=$(qa_agent tls served "$url" ${ca:+--cacert "$ca"} --json 2>/dev/null \
        | sed -n 's/^  "sha256": "\(.*\)",$/\1/p' || true)
      if [ "$got" = "$want" ]; then
        echo "$url serves the certificate $want"
        break
      fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "$url still serves ${got:-nothing it could verify}, not $want, after ${timeout} s;" \
          "the new pair is installed in $dir: read the service's log for 'certificate reload failed'" >&2
        return 2
      fi
      sleep 1
    done
  done
}

if [ "$mode" = check ]; then
  qa_agent tls check --cert "$crt" --key "$key" --min-days "$min_days"
  want=$(qa_agent tls check --cert "$crt" --key "$key" --json | sed -n 's/^  "sha256": "\(.*\)",$/\1/p')
  if [ ${#urls[@]} -gt 0 ]; then verify_served "$want"; fi
  exit 0
fi

mkdir -p "$dir"
staging=$(mktemp -d "$dir/.renew.XXXXXX")
trap 'rm -rf "$staging"' EXIT
if [ "$mode" = from ]; then
  cp "$from_cert" "$staging/tls.crt"
  cp "$from_key" "$staging/tls.key"
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
    -subj "/CN=qa-agent" -addext "subjectAltName=$sans" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
    -keyout "$staging/tls.key" -out "$staging/tls.crt" 2>/dev/null
fi
chmod 600 "$staging/tls.key"

# The same loader the services use: what passes here, a reload accepts.
if ! qa_agent tls check --cert "$staging/tls.crt" --key "$staging/tls.key" --min-days "$min_days"; then
  echo "the new pair is not usable: nothing was changed in $dir" >&2
  exit 1
fi
want=$(qa_agent tls check --cert "$staging/tls.crt" --key "$staging/tls.key" --json \
  | sed -n 's/^  "sha256": "\(.*\)",$/\1/p')

if [ -f "$crt" ]; then cp -p "$crt" "$crt.previous"; fi
if [ -f "$key" ]; then cp -p "$key" "$key.previous"; fi
# Renames within one directory are atomic: a reader sees the old file or the new one.
mv "$staging/tls.key" "$key"
mv "$staging/tls.crt" "$crt"
echo "installed $want in $dir (previous pair kept as *.previous)"

if [ -n "$pid" ]; then
  kill -HUP "$pid"
fi
if [ ${#urls[@]} -eq 0 ]; then
  echo "no --url given: the services pick the pair up within tls_reload_secs; not verified"
  exit 0
fi
# A self-signed certificate is its own trust anchor: verifying with it proves it is served.
if [ "$mode" = self ]; then verify_served "$want" "$crt"; else verify_served "$want"; fi
