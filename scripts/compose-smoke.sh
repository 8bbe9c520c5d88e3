#!/usr/bin/env bash
# The Compose stack end to end, on a machine with Docker (the GitHub Actions workflow runs it; this
# project's own machines have no Docker engine). It builds the image, brings the stack up with
# `tls internal` for a test name, and through Caddy only: the HTTP→HTTPS redirect, readiness,
# first-run setup with the setup token, an upload processed to `ready`, a search that finds it,
# and (from inside the lectern container, where /readyz shows its inventory) which implementation
# each port got. Then it takes the stack down with its volumes.
#
#   scripts/compose-smoke.sh full    # caddy, lectern, mongodb, redis, meilisearch
#   scripts/compose-smoke.sh small   # caddy and lectern on the embedded default
set -euo pipefail
cd "$(dirname "$0")/.."

variant="${1:-full}"
files=(-f compose.yaml)
case "$variant" in
  full) expect_store=mongodb expect_search=meilisearch expect_events=redis ;;
  small) files+=(-f compose.small.yaml) expect_store=embedded expect_search=embedded expect_events=local ;;
  *) echo "usage: $0 full|small" >&2; exit 64 ;;
esac

export LECTERN_DOMAIN=lectern.test LECTERN_TLS=internal
compose() { docker compose -p "lectern-smoke-$variant" "${files[@]}" "$@"; }
work="$(mktemp -d)"
cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then compose logs --no-color --tail 200 || true; fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# Secrets as the README's Deploying section makes them, unless this checkout already has them.
if [ ! -f secrets/setup_token ]; then
  mkdir -p secrets && chmod 700 secrets
  openssl rand -hex 24 > secrets/setup_token
  pw=$(openssl rand -hex 24); printf '%s' "$pw" > secrets/redis_password
  printf 'redis://:%s@redis:6379' "$pw" > secrets/redis_url
  pw=$(openssl rand -hex 24); printf '%s' "$pw" > secrets/mongodb_password
  printf 'mongodb://lectern:%s@mongodb:27017/lectern?authSource=admin' "$pw" > secrets/mongodb_url
  openssl rand -hex 24 > secrets/meili_master_key
  chmod 644 secrets/*
fi

compose up -d --build --wait --wait-timeout 600
compose cp caddy:/data/caddy/pki/authorities/local/root.crt "$work/root.crt"

base="https://$LECTERN_DOMAIN"
curl_() { curl -sS --resolve "$LECTERN_DOMAIN:443:127.0.0.1" --resolve "$LECTERN_DOMAIN:80:127.0.0.1" --cacert "$work/root.crt" "$@"; }
api() {
  local method=$1 path=$2
  shift 2
  curl_ -f -X "$method" -b "$work/cookies" -c "$work/cookies" -H 'sec-fetch-site: same-origin' "$@" "$base$path"
}
fail() { echo "smoke ($variant): $*" >&2; exit 1; }

redirect=$(curl_ -o /dev/null -w '%{http_code} %{redirect_url}' "http://$LECTERN_DOMAIN/login")
[ "$redirect" = "308 $base/login" ] || fail "plain HTTP answered '$redirect', not a 308 to HTTPS"

for _ in $(seq 1 120); do
  ready=$(curl_ "$base/readyz" || true)
  [ "$ready" = '{"status":"ready"}' ] && break
  sleep 2
done
[ "$ready" = '{"status":"ready"}' ] || fail "not ready through Caddy: $ready"

inventory=$(compose exec -T lectern node -e "fetch('http://127.0.0.1:8080/readyz').then((r) => r.text()).then(console.log)")
kind() { jq -r --arg n "$1" '.components[] | select(.name == $n) | .kind' <<<"$inventory"; }
[ "$(kind store)" = "$expect_store" ] || fail "store is $(kind store), expected $expect_store"
[ "$(kind search)" = "$expect_search" ] || fail "search is $(kind search), expected $expect_search"
[ "$(kind events)" = "$expect_events" ] || fail "events are $(kind events), expected $expect_events"

token=$(cat secrets/setup_token)
api POST /api/v1/setup -H 'content-type: application/json' \
  -d "{\"organisation\":\"Smoke Clinic\",\"name\":\"Sam Smoke\",\"email\":\"sam@smoke.test\",\"password\":\"correct horse battery staple\",\"setupToken\":\"$token\"}" >/dev/null
kb=$(api POST /api/v1/kbs -H 'content-type: application/json' -d '{"name":"Smoke"}' | jq -r .id)
printf 'Hand hygiene: rub hands with alcohol-based rub for twenty seconds before every patient contact.\n' > "$work/hygiene.txt"
api POST "/api/v1/kbs/$kb/documents" -F "files=@$work/hygiene.txt;type=text/plain" >/dev/null
for _ in $(seq 1 120); do
  status=$(api GET "/api/v1/kbs/$kb/documents" | jq -r '.documents[0].status')
  case "$status" in ready | failed) break ;; esac
  sleep 1
done
[ "$status" = ready ] || fail "the upload ended $status"
hit=$(api POST "/api/v1/kbs/$kb/search" -H 'content-type: application/json' -d '{"query":"how long to rub hands","mode":"keyword"}' | jq -r '.hits[0].documentName')
[ "$hit" = hygiene.txt ] || fail "search found '$hit'"

echo "smoke ($variant): redirect, readiness, setup, upload, search through Caddy; store=$expect_store search=$expect_search events=$expect_events"
