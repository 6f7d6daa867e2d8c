#!/usr/bin/env bash
# The certificate list over a store of 2 000 certificates (bench_ra_fill): counts for a
# state filter are exact (kept counters, checked against the file), a search counts up to
# 1 000 and says "more than" in JSON (total_capped) and on the page in ja and en; a CN of
# 1 or 2 characters matches the start of the name (and the page says so), 3 or more
# anywhere in it; a date range lists exactly the rows issued in it.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_ra_officers
"$INKAN_BUILD/bench/bench_ra_fill" "$TMP/ra.sqlite" 2000 "$TMP/ca/issuing-ca.pem" 2>"$TMP/fill.log" ||
	ik_fail "fill: $(cat "$TMP/fill.log")"
ik_start_signer
ik_start_ra
AUD=$(ik_login carol "$AUDITOR_PW")
raw() { sqlite3 -readonly "$TMP/ra.sqlite" "$1"; }
api() { ik_api carol "$AUD" GET "/api/v1/certificates$1" >/dev/null; }
ui() { curl -s --cacert "$TMP/tls.pem" -b "$TMP/jar.carol" -H "Accept-Language: $1" -o "$TMP/page" "$BASE/ui/certs$2"; }

for f in revoked suspended; do
	api "?filter=$f"
	[ "$(ik_json 'd["total"]')" = "$(raw "SELECT COUNT(*) FROM certificates WHERE state = '$f'")" ] &&
		[ "$(ik_json 'd["total_capped"]')" = False ] || ik_fail "$f count: $(head -c 300 "$TMP/body")"
done
api ""; [ "$(ik_json 'd["total"]')" = 2000 ] || ik_fail "all: $(ik_json 'd["total"], d["total_capped"]')"
ik_ok "state counts are exact, from the kept counters"

api "?cn=dev"
[ "$(ik_json 'd["total"]')" = 1000 ] && [ "$(ik_json 'd["total_capped"]')" = True ] &&
	[ "$(ik_json 'len(d["items"])')" = 100 ] || ik_fail "capped search: $(head -c 300 "$TMP/body")"
api "?cn=0001234"
[ "$(ik_json 'd["total"]')" = 1 ] && [ "$(ik_json 'd["total_capped"]')" = False ] &&
	ik_json 'd["items"][0]["cn"]' | grep -q '^dev-0001234-' || ik_fail "one row: $(head -c 300 "$TMP/body")"
want=$(raw "SELECT COUNT(*) FROM certificates WHERE cn LIKE '%OSAKA%'")
api "?cn=OSAKA"; [ "$(ik_json 'd["total"]')" = "$want" ] || ik_fail "osaka: $want, $(head -c 300 "$TMP/body")"
ui ja "?cn=dev"; grep -q '1000 件以上' "$TMP/page" || ik_fail "ja page: no 'more than'"
ui en "?cn=dev"; grep -q 'More than 1000 certificates match' "$TMP/page" || ik_fail "en page: no 'more than'"
ui en "?cn=0001234"; grep -q '>1 certificates match' "$TMP/page" && ! grep -q 'More than' "$TMP/page" ||
	ik_fail "en page: exact count"
ik_ok "a search counts up to 1 000: total_capped in JSON, 'more than' on the page (ja, en)"

api "?cn=de"; [ "$(ik_json 'd["total_capped"]')" = True ] || ik_fail "prefix de: $(head -c 300 "$TMP/body")"
api "?cn=ev"; [ "$(ik_json 'd["total"]')" = 0 ] || ik_fail "'ev' is no prefix: $(head -c 300 "$TMP/body")"
api "?cn=ev-"; [ "$(ik_json 'd["total_capped"]')" = True ] || ik_fail "'ev-' substring: $(head -c 300 "$TMP/body")"
ui ja "?cn=de"; grep -q '前方一致' "$TMP/page" || ik_fail "ja page: no prefix hint"
ui en "?cn=dev"; ! grep -q 'matches the start' "$TMP/page" || ik_fail "en page: prefix hint for 3 characters"
ik_ok "1-2 characters: the start of the CN (the page says so); 3 or more: anywhere"

from=$(raw "SELECT not_before FROM certificates ORDER BY id LIMIT 1 OFFSET 700")
to=$(( from + 36000 ))  # rows are 94 s apart: about 380
want=$(raw "SELECT COUNT(*) FROM certificates WHERE not_before >= $from AND not_before < $to")
api "?issued_from=$from&issued_to=$to&sort=not_before&limit=100"
[ "$(ik_json 'd["total"]')" = "$want" ] && [ "$want" -gt 0 ] || ik_fail "date range: $want, $(head -c 300 "$TMP/body")"
ik_json "all($from <= __import__('calendar').timegm(__import__('time').strptime(i['not_before'], '%Y-%m-%dT%H:%M:%SZ')) < $to for i in d['items'])" | grep -q True ||
	ik_fail "date range rows: $(head -c 300 "$TMP/body")"
ik_ok "a date range lists and counts exactly the rows issued in it"

# the list's items (written without jansson) are the certificates as GET /api/v1/certificates/ID
# shows them: the same members and values, revoked ones with their reason
for f in all revoked expired; do
	api "?filter=$f&limit=4"
	cp "$TMP/body" "$TMP/list.json"
	[ "$(ik_json 'len(d["items"])')" = 4 ] || ik_fail "$f: not 4 items: $(head -c 600 "$TMP/body")"
	for i in 0 1 2 3; do
		id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][int(sys.argv[2])]["id"])' "$TMP/list.json" "$i")
		ik_api carol "$AUD" GET "/api/v1/certificates/$id" >/dev/null
		python3 - "$TMP/list.json" "$i" "$TMP/body" "$f" <<'PY' || ik_fail "$f item $i (id $id): list and show differ"
import json, sys
item = json.load(open(sys.argv[1]))["items"][int(sys.argv[2])]
show = json.load(open(sys.argv[3]))
show = show.get("certificate", show)
want = {"id", "cn", "state", "validity_days", "not_before", "not_after", "current", "created",
        "updated", "serial", "device_id", "user_id"}
if item["state"] in ("revoked", "suspended"):
    want.add("reason")
assert set(item) == want, (sorted(item), sorted(want))
assert all(item[k] == show[k] for k in item), (item, show)
assert sys.argv[4] == "all" or item["state"] == {"valid": "active"}.get(sys.argv[4], sys.argv[4])
PY
	done
done
ik_ok "the list's JSON items equal the certificate as shown alone (members, values, reason)"
