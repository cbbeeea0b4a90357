#!/usr/bin/env bash
# Open311 GeoReport v2 through curl and PyPI's georeport, against the running stack: discovery,
# form-encoded and multipart POSTs (a photo form), JSON and unknown content types (415, nothing
# recorded), methods GeoReport does not define (405 with Allow), and every GET of georeport
# with comma-separated lists, in JSON and XML (tests/clients/open311_clients.py); and, where
# a Python 2.7 exists, PyPI's `three` posting a photo (tests/clients/open311_three.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Open311 clients read back what they posted: the reports go straight to routing here (the
# verifiers hold web, app and Open311 reports by default, and unverified reports are not
# published; that step is walked in e2e.process).
export LAPOR_VERIFICATION_CHANNELS=""
clients_start_stack
cd "$CLIENTS_WORK"
source .run/stack.env
open311=http://127.0.0.1:$LAPOR_OPEN311_PORT
# status_of METHOD PATH [curl args...]: the HTTP status; the body is left in $body.
body_file=$(mktemp)
status_of() {
  local method=$1 path=$2
  shift 2
  curl -s -o "$body_file" -w '%{http_code}' -X "$method" "$open311$path" "$@"
}

[[ $(status_of GET /discovery.json) == 200 ]] || fail "discovery.json: $(cat "$body_file")"
jq -e '.endpoints[0].specification == "http://wiki.open311.org/GeoReport_v2" and
       (.endpoints[0].formats | index("text/xml")) != null and (.contact | length) > 0' \
  "$body_file" >/dev/null || fail "discovery.json: $(cat "$body_file")"
[[ $(status_of GET /discovery.xml) == 200 ]] && grep -q '<discovery>.*<endpoint>.*<format>text/xml</format>' "$body_file" ||
  fail "discovery.xml: $(cat "$body_file")"
ok "GET /discovery.json and .xml"

# A form-encoded POST, as GeoReport specifies, and a multipart one with a photo.
[[ $(status_of POST /requests.json -d api_key=demo-open311-key -d service_code=road-damage \
  -d lat=0.5089 -d long=117.545 --data-urlencode "description=Lubang di depan pasar") == 200 ]] ||
  fail "form POST: $(cat "$body_file")"
road_id=$(jq -er '.[0].service_request_id' "$body_file")
printf '\xff\xd8\xff\xe0 not really a photo' >photo.jpg
[[ $(status_of POST /requests.json -F api_key=demo-open311-key -F service_code=garbage \
  -F "address_string=Jl. Pendidikan, Sangatta" -F "description=Sampah tidak diangkut" \
  -F "media=@photo.jpg;type=image/jpeg") == 200 ]] || fail "multipart POST: $(cat "$body_file")"
garbage_id=$(jq -er '.[0].service_request_id' "$body_file")
jq -e '.[0].service_notice | contains("media_url")' "$body_file" >/dev/null ||
  fail "multipart POST does not say the file was not kept: $(cat "$body_file")"
ok "POST form-encoded ($road_id) and multipart/form-data with a file ($garbage_id)"

# JSON and other content types: 415 naming the encoding, before the key is even looked at.
for type in application/json text/plain; do
  code=$(status_of POST /requests.json -H "Content-Type: $type" \
    --data '{"api_key":"demo-open311-key","service_code":"garbage","description":"x","lat":0.5,"long":117.5}')
  [[ $code == 415 ]] && grep -q 'application/x-www-form-urlencoded' "$body_file" ||
    fail "$type POST answered $code: $(cat "$body_file")"
done
ok "POST as application/json or text/plain: 415 naming form-encoded and multipart"

# Methods GeoReport does not define.
headers=$(curl -s -o "$body_file" -D - -X DELETE "$open311/requests.json")
grep -q '^HTTP/1.1 405' <<<"$headers" && grep -qi '^Allow: GET, HEAD, POST' <<<"$headers" ||
  fail "DELETE /requests.json: $headers $(cat "$body_file")"
jq -e '.[0].code == 405' "$body_file" >/dev/null || fail "405 body: $(cat "$body_file")"
for m in PUT PATCH POST; do
  [[ $(status_of "$m" /services.json -d x=1) == 405 ]] || fail "$m /services.json: $(cat "$body_file")"
done
[[ $(status_of DELETE "/requests/$road_id.json") == 405 ]] || fail "DELETE /requests/id"
[[ $(status_of OPTIONS /requests.json) == 204 ]] || fail "OPTIONS /requests.json"
ok "DELETE, PUT, PATCH and POST where undefined: 405 with Allow; OPTIONS: 204"

[[ $(status_of GET "/requests.json?status=open,pending") == 400 ]] && grep -q "'pending'" "$body_file" ||
  fail "status=open,pending: $(cat "$body_file")"
ok "a bad item in a status list: 400 naming it"

# PyPI's `three` posts a photo as multipart (Python 2 only: where tools.sh found one).
if [[ -f $clients_repo_root/.cache/tools/py2/python ]]; then
  three_out=$(PYTHONPATH=$clients_repo_root/.cache/tools/py2 \
    "$(cat "$clients_repo_root/.cache/tools/py2/python")" \
    "$clients_repo_root/tests/clients/open311_three.py" "$open311" photo.jpg) ||
    fail "three: $three_out"
  echo "$three_out"
  three_id=$(sed -n 's/^THREE_ID=//p' <<<"$three_out")
  clients_wait_view "$three_id"
  ok "three (Python 2): discovery, services, post(media=...) of $three_id"
else
  echo "skip three: no Python 2.7 on this machine (tests/clients/tools.sh)"
fi

# The tracking view has both before georeport reads them.
for id in "$road_id" "$garbage_id"; do
  clients_wait_view "$id"
done
"$CLIENTS_PYTHON" "$clients_repo_root/tests/clients/open311_clients.py" "$open311" "$road_id" "$garbage_id"
ok "georeport: every GET in JSON and XML"
echo "open311_clients_test: $clients_passed passed, 0 failed"
