#!/bin/sh
# Entry point of the aims image: serve, monitor or keep a metrics token fresh.
# On first start it creates the workspace and two API keys in /keys (mode 600):
# admin.key for people and metrics.key (viewer of every project) for Prometheus.
set -eu
ws="${AIMS_WORKSPACE:-/workspace}"

first_start() {
  [ -f "$ws/aims.yaml" ] || aims init "$ws"
  umask 077
  if [ ! -s /keys/admin.key ]; then
    aims -w "$ws" keys create --project '*' --role admin --name compose-admin --format json \
      | python -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' > /keys/admin.key
  fi
  if [ ! -s /keys/metrics.key ]; then
    aims -w "$ws" keys create --project '*' --role viewer --name prometheus --format json \
      | python -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' > /keys/metrics.key
  fi
}

case "${1:-serve}" in
  serve)
    first_start
    exec aims -w "$ws" serve --host 0.0.0.0 --port 8000 ;;
  monitor)
    exec aims -w "$ws" monitor run ;;
  metrics-token)
    # tokens live server.token_ttl_seconds (15 minutes by default); refresh every 5
    while true; do
      python - <<'PY'
import json, urllib.request
key = open("/keys/metrics.key").read().strip()
req = urllib.request.Request(
    "http://aims:8000/v1/auth/token",
    data=json.dumps({"api_key": key}).encode(),
    headers={"Content-Type": "application/json"},
)
token = json.load(urllib.request.urlopen(req))["access_token"]
with open("/token/aims-token.tmp", "w") as fh:
    fh.write(token)
import os
os.replace("/token/aims-token.tmp", "/token/aims-token")
PY
      sleep 300
    done ;;
  *)
    exec aims -w "$ws" "$@" ;;
esac
