#!/usr/bin/env bash
# The administrators' officer pages beyond one certificate and 100 officers, over real HTTP
# with a real signer on SoftHSM: /ui/officers in pages (108 officers made with inkan-rad
# add-officer) and filtered by login; an officer with two login certificates (one bound by
# serial, one by uploading its PEM), logging in with each over the RA's real TLS, one
# unbound (401 with it, the other still logs in); binding by PEM refused for garbage, two
# certificates, another CA, an Inkan certificate this RA never recorded, a mail (no
# clientAuth) certificate, a revoked one, an expired one (faketime), in Japanese and
# English; CSRF and the administrator role on every new form and API call.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/certlogin.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
for i in $(seq -w 1 105); do # op001..op105: 108 officers with admin, olivia, carol
	printf '%s\n' "$OFFICER_PW" | inkan-rad add-officer -c "$TMP/ra.conf" --login "op$i" --role officer >/dev/null \
		|| ik_fail "add-officer op$i"
done
cl_start_ra
rows() { grep -c '<tr><td><a href="/ui/officers/' "$TMP/body"; }

# ---- the list: pages and the login filter ----
s=$(page admin ja GET /ui/officers); ik_expect 200 - "$s" "officers, page 1"
[ "$(rows)" = 100 ] || ik_fail "page 1 has $(rows) rows, want 100"
has '>admin<' "admin on page 1"; has '>op097<' "op097 on page 1"; hasnt '>op098<' "op098 not on page 1"
has "担当者 108 人 (1 / 2 ページ)" "count in Japanese"; has 'href="/ui/officers?page=2"' "link to page 2"
s=$(page admin en GET '/ui/officers?page=2'); ik_expect 200 - "$s" "officers, page 2"
[ "$(rows)" = 8 ] || ik_fail "page 2 has $(rows) rows, want 8"
has '>op098<' "op098 on page 2"; has '>op105<' "op105 (officer 108) on page 2"; hasnt '>admin<' "admin not on page 2"
has "108 officers, page 2 of 2" "count in English"; has 'href="/ui/officers?page=1"' "link back to page 1"
s=$(page admin en GET '/ui/officers?page=3&limit=50'); ik_expect 200 - "$s" "page 3 of 50"
[ "$(rows)" = 8 ] || ik_fail "page 3 of 50 has $(rows) rows"; has 'href="/ui/officers?page=2&amp;limit=50"' "limit kept in the links"
ik_ok "officers in pages of 100: page 2 shows officers 101-108, counts, links (limit kept)"

s=$(page admin en GET '/ui/officers?q=OP01'); ik_expect 200 - "$s" "filter OP01"
[ "$(rows)" = 10 ] || ik_fail "filter OP01: $(rows) rows, want 10 (op010..op019)"
has '>op019<' "op019 matches"; hasnt '>op001<' "op001 does not"; has "10 officers, page 1 of 1" "filtered count"
s=$(page admin en GET '/ui/officers?q=op&limit=20&page=2'); ik_expect 200 - "$s" "filter op, page 2 of 20"
[ "$(rows)" = 20 ] || ik_fail "op page 2: $(rows) rows"; has '>op021<' "op021 on page 2 of 20"
has 'href="/ui/officers?page=3&amp;q=op&amp;limit=20"' "filter kept in the links"
s=$(page admin en GET '/ui/officers?q=%25'); ik_expect 200 - "$s" "filter %"
has "No officer&#39;s login matches." "% is literal"; has "0 officers" "no match counted"
s=$(page admin ja GET '/ui/officers?q=%3Cb%3Ex%22'); ik_expect 200 - "$s" "filter with markup"
has 'value="&lt;b&gt;x&quot;"' "filter escaped back into the form"; hasnt '<b>x"' "filter raw"
ik_ok "filter by login substring (case ignored, % literal, kept in page links, escaped)"

s=$(page admin en GET '/ui/officers?page=99'); ik_expect 200 - "$s" "page past the end"
has "108 officers, page 2 of 2" "clamped to the last page"; has '>op105<' "last page shown"
s=$(page admin en GET '/ui/officers?limit=1000'); ik_expect 200 - "$s" "limit over 100"
[ "$(rows)" = 100 ] || ik_fail "limit 1000 clamped: $(rows) rows"
s=$(page admin en GET '/ui/officers?limit=0'); [ "$(rows)" = 1 ] || ik_fail "limit 0 clamped to 1: $(rows) rows"
for bad in 'page=0' 'page=-1' 'page=abc' 'page=1x' 'page=12345678901'; do
	s=$(page admin en GET "/ui/officers?$bad"); ik_expect 400 - "$s" "$bad"
	has "The page number (page) must be a whole number from 1." "$bad message"
done
s=$(page admin ja GET '/ui/officers?page=0'); has "ページ番号 (page) は 1 以上の整数" "bad page in Japanese"
s=$(page admin en GET '/ui/officers?limit=x'); ik_expect 400 - "$s" "limit=x"; has "page size (limit)" "limit message"
s=$(page admin en GET "/ui/officers?q=$(printf 'x%.0s' $(seq 1 65))"); ik_expect 400 - "$s" "filter of 65 bytes"
has "The login filter (q)" "long filter message"
s=$(page admin en GET '/ui/officers?q=a%0Ab'); ik_expect 400 - "$s" "filter with a newline"
for who in olivia carol; do
	s=$(page $who ja GET '/ui/officers?page=2'); ik_expect 403 - "$s" "page 2 as $who"
	s=$(page $who ja GET '/ui/officers?q=op'); ik_expect 403 - "$s" "filter as $who"
done
s=$(ik_req GET '/ui/officers?page=2'); ik_expect 303 - "$s" "page 2 without a session"
ik_ok "bad page/limit type or filter -> 400 naming the parameter; page past the end and limit out of 1..100 clamped; officer, auditor 403"

# ---- two login certificates for one officer ----
bind_serial() { # WHO CSRF OFFICER_ID SERIAL
	page "$1" ja POST "/ui/officers/$3/certificate" --data-urlencode "csrf=$2" --data-urlencode "serial=$4"
}
bind_file() { # WHO CSRF OFFICER_ID FILE [LANG]: multipart upload of FILE
	page "$1" "${5:-ja}" POST "/ui/officers/$3/certificate/pem" -F "csrf=$2" -F "pemfile=@$4" -F "pem="
}
bind_text() { # WHO CSRF OFFICER_ID FILE [LANG]: FILE's text pasted into the form
	page "$1" "${5:-ja}" POST "/ui/officers/$3/certificate/pem" -F "csrf=$2" -F "pem=<$4"
}
unbind() { # WHO CSRF OFFICER_ID CERT_ID
	page "$1" ja POST "/ui/officers/$3/certificate/delete" --data-urlencode "csrf=$2" --data-urlencode "cert=$4"
}
nbound() { # OFFICER_ID: how many login certificates the API lists
	ik_api admin "$ADM" GET "/api/v1/officers/$1/certificates" >/dev/null
	ik_json 'len(d["items"])'
}

issue_cert op-old; OLD=$CID; OLD_SERIAL=$SERIAL
issue_cert op-new; NEW=$CID; NEW_SERIAL=$SERIAL
NEW_FP=$(openssl x509 -in "$TMP/op-new.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr A-F a-f)
s=$(page admin ja GET "/ui/officers/$OLIVIA_ID"); has 'id="bind-pem"' "PEM form"; has 'enctype="multipart/form-data"' "upload form"

# refusals on the PEM form: CSRF and role; nothing bound
s=$(page admin ja POST "/ui/officers/$OLIVIA_ID/certificate/pem" -F "pemfile=@$TMP/op-new.pem"); ik_expect 403 - "$s" "PEM bind without CSRF"
s=$(bind_file admin "${ADM}x" "$OLIVIA_ID" "$TMP/op-new.pem"); ik_expect 403 - "$s" "PEM bind with a wrong CSRF"
s=$(bind_file admin "$OFF" "$OLIVIA_ID" "$TMP/op-new.pem"); ik_expect 403 - "$s" "PEM bind with another session's CSRF"
s=$(bind_file olivia "$OFF" "$OLIVIA_ID" "$TMP/op-new.pem"); ik_expect 403 - "$s" "PEM bind by an officer"
s=$(bind_file carol "$AUD" "$OLIVIA_ID" "$TMP/op-new.pem"); ik_expect 403 - "$s" "PEM bind by an auditor"
[ "$(nbound "$OLIVIA_ID")" = 0 ] || ik_fail "bound after refused PEM binds"
ik_ok "PEM bind: missing / wrong / another session's CSRF, officer, auditor -> 403, nothing bound"

s=$(bind_serial admin "$ADM" "$OLIVIA_ID" "$OLD_SERIAL"); ik_expect 303 - "$s" "bind the old device's certificate by serial"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/op-new.pem"); ik_expect 303 - "$s" "bind the new device's certificate by PEM upload"
grep -qi "^location: /ui/officers/$OLIVIA_ID?done=bound" "$TMP/hdr" || ik_fail "redirect after PEM bind"
[ "$(nbound "$OLIVIA_ID")" = 2 ] || ik_fail "olivia has $(nbound "$OLIVIA_ID") bindings, want 2"
s=$(page admin ja GET "/ui/officers/$OLIVIA_ID"); ik_expect 200 - "$s" "olivia's page"
has "$OLD_SERIAL" "old serial shown"; has "$NEW_SERIAL" "new serial shown"
has "$(echo "$NEW_FP" | tr A-F a-f)" "the new certificate's SHA-256 fingerprint shown"
has "name=\"cert\" value=\"$OLD\"" "unbind form of the old"; has "name=\"cert\" value=\"$NEW\"" "unbind form of the new"
s=$(page admin ja GET '/ui/officers?q=olivia'); has "$OLD_SERIAL" "old serial in the list"; has "$NEW_SERIAL" "new serial in the list"
s=$(certlogin op-old); ik_expect 200 - "$s" "login with the old certificate"
[ "$(ik_json 'd["officer"]["login"]')" = olivia ] || ik_fail "old certificate logs in as $(ik_json 'd["officer"]["login"]')"
s=$(certlogin op-new); ik_expect 200 - "$s" "login with the new certificate"
[ "$(ik_json 'd["officer"]["login"]')" = olivia ] || ik_fail "new certificate logs in as $(ik_json 'd["officer"]["login"]')"
s=$(bind_text admin "$ADM" "$OLIVIA_ID" "$TMP/op-new.pem"); ik_expect 409 - "$s" "the same certificate again"
has "この証明書はすでにこの担当者に紐付けられています" "already bound message"
s=$(bind_text admin "$ADM" "$CAROL_ID" "$TMP/op-new.pem"); ik_expect 409 - "$s" "olivia's certificate for carol"
has "別の担当者のログイン用証明書" "bound elsewhere message"
ik_ok "two login certificates (serial and PEM upload), both shown with fingerprint, both log in over mTLS"

# unbind one: refusals first
s=$(page admin ja POST "/ui/officers/$OLIVIA_ID/certificate/delete" --data-urlencode "cert=$OLD"); ik_expect 403 - "$s" "unbind without CSRF"
s=$(unbind admin "${ADM}x" "$OLIVIA_ID" "$OLD"); ik_expect 403 - "$s" "unbind with a wrong CSRF"
s=$(unbind admin "$OFF" "$OLIVIA_ID" "$OLD"); ik_expect 403 - "$s" "unbind with another session's CSRF"
s=$(unbind olivia "$OFF" "$OLIVIA_ID" "$OLD"); ik_expect 403 - "$s" "unbind by an officer"
s=$(unbind carol "$AUD" "$OLIVIA_ID" "$OLD"); ik_expect 403 - "$s" "unbind by an auditor"
s=$(unbind admin "$ADM" "$OLIVIA_ID" ""); ik_expect 400 - "$s" "unbind without cert"; has "紐付けを解除する証明書 (cert)" "missing cert message"
s=$(unbind admin "$ADM" "$OLIVIA_ID" "x1"); ik_expect 400 - "$s" "unbind with a bad cert"
s=$(unbind admin "$ADM" "$CAROL_ID" "$OLD"); ik_expect 404 - "$s" "unbind olivia's certificate from carol"
has "この証明書はこの担当者に紐付けられていません" "not bound message"
[ "$(nbound "$OLIVIA_ID")" = 2 ] || ik_fail "a refused unbind changed something"
s=$(unbind admin "$ADM" "$OLIVIA_ID" "$OLD"); ik_expect 303 - "$s" "unbind the old certificate"
[ "$(nbound "$OLIVIA_ID")" = 1 ] || ik_fail "after unbinding one: $(nbound "$OLIVIA_ID")"
s=$(certlogin op-old); ik_expect 401 bad_certificate "$s" "the unbound old certificate"
s=$(certlogin op-new); ik_expect 200 - "$s" "the new certificate still logs in"
s=$(ik_api admin "$ADM" GET "/api/v1/history?op=officer_cert_unbound&order=desc"); ik_expect 200 - "$s" "history"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["items"][0]; sys.exit(0 if e["target"]=="olivia" and ("\"certificate_id\":%s" % sys.argv[2]) in e["detail"] else 1)' "$TMP/body" "$OLD" \
	|| ik_fail "history of the unbind: $(head -c 400 "$TMP/body")"
ik_ok "unbind one (CSRF, administrators, cert required, another officer's -> 404): 401 with it, the other still logs in; history names it"

# ---- PEM refusals, with the reason in the page's language ----
printf 'not a certificate\n' > "$TMP/garbage.pem"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/garbage.pem"); ik_expect 400 - "$s" "garbage"
has "1 枚の証明書 (PEM または DER) として読み取れません" "garbage message"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/garbage.pem" en); has "This is not one certificate in PEM" "garbage message in English"
cat "$TMP/op-old.pem" "$TMP/ca/issuing-ca.pem" > "$TMP/two.pem"
s=$(bind_text admin "$ADM" "$OLIVIA_ID" "$TMP/two.pem"); ik_expect 400 - "$s" "two certificates"
s=$(page admin ja POST "/ui/officers/$OLIVIA_ID/certificate/pem" -F "csrf=$ADM" -F "pem="); ik_expect 400 - "$s" "nothing given"
has "証明書ファイルを選ぶか" "nothing given message"
s=$(page admin ja POST "/ui/officers/$OLIVIA_ID/certificate/pem" -F "csrf=$ADM" -F "pemfile=@$TMP/op-old.pem" -F "pem=<$TMP/op-old.pem")
ik_expect 400 - "$s" "file and text"; has "どちらか一方" "file and text message"
head -c 20000 /dev/zero | tr '\0' 'A' > "$TMP/big.pem"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/big.pem"); ik_expect 400 - "$s" "20 kB of text"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=Other-CA \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$TMP/other-ca.key" -out "$TMP/other-ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=olivia \
	-keyout "$TMP/other.key" -out "$TMP/other.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' > "$TMP/other.ext"
openssl x509 -req -in "$TMP/other.csr" -CA "$TMP/other-ca.pem" -CAkey "$TMP/other-ca.key" \
	-set_serial "0x$OLD_SERIAL" -days 30 -extfile "$TMP/other.ext" -out "$TMP/other.pem" 2>/dev/null
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/other.pem"); ik_expect 409 - "$s" "another CA (an RA serial)"
has "この証明書は紐付けできません: この RA がログイン用に信頼する発行 CA (cert_login_ca) が発行した証明書ではありません。" "another CA in Japanese"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/other.pem" en)
has "This certificate cannot be bound: it was not issued by the issuing CA that this RA trusts for login" "another CA in English"

ik_issue direct olivia-direct >/dev/null 2>&1 || ik_fail "signctl issue"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/direct.pem"); ik_expect 404 - "$s" "an Inkan certificate this RA never recorded"
has "この RA にはこの証明書そのものの記録がありません" "unknown to the RA message"
ik_issue mailcert olivia@example.org --profile mail >/dev/null 2>&1 || ik_fail "signctl issue (mail profile)"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/mailcert.pem"); ik_expect 409 - "$s" "a certificate without clientAuth"
has "クライアント認証用 (拡張鍵用途 clientAuth) の証明書ではありません" "no clientAuth in Japanese"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/mailcert.pem" en); has "it is not for client authentication" "no clientAuth in English"

s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$OLD/revoke" '{}'); ik_expect 202 - "$s" "revoke the old certificate"
wait_request "$(ik_json 'd["request_id"]')"
s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/op-old.pem"); ik_expect 409 - "$s" "a revoked certificate by PEM"
has "この証明書は「失効」のため紐付けできません" "revoked message"
[ "$(nbound "$OLIVIA_ID")" = 1 ] || ik_fail "a refused PEM bind changed something: $(nbound "$OLIVIA_ID")"
ik_ok "PEM refused, nothing bound: garbage, two certificates, none, both, too long (400); another CA, no clientAuth, revoked (409); not recorded by this RA (404); reasons in ja and en"

# ---- the API: list, bind by pem, unbind one ----
PEMJ=$(python3 -c 'import json,sys; print(json.dumps({"pem": open(sys.argv[1]).read()}))' "$TMP/op-old.pem")
s=$(ik_api admin "$ADM" GET "/api/v1/officers/$OLIVIA_ID/certificates"); ik_expect 200 - "$s" "list"
[ "$(ik_json 'd["items"][0]["serial"]')" = "$NEW_SERIAL" ] || ik_fail "listed serial"
[ "$(ik_json 'd["items"][0]["sha256"]')" = "$(echo "$NEW_FP" | tr -d :)" ] || ik_fail "listed fingerprint $(ik_json 'd["items"][0]["sha256"]')"
s=$(ik_api olivia "$OFF" GET "/api/v1/officers/$OLIVIA_ID/certificates"); ik_expect 403 forbidden "$s" "list as an officer"
issue_cert op-third; THIRD=$CID
PEMJ=$(python3 -c 'import json,sys; print(json.dumps({"pem": open(sys.argv[1]).read()}))' "$TMP/op-third.pem")
s=$(ik_api carol "$AUD" POST "/api/v1/officers/$OLIVIA_ID/certificate" "$PEMJ"); ik_expect 403 forbidden "$s" "API PEM bind by an auditor"
s=$(ik_req POST "/api/v1/officers/$OLIVIA_ID/certificate" -b "$TMP/jar.admin" "${J[@]}" --data "$PEMJ"); ik_expect 403 csrf "$s" "API PEM bind without CSRF"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$OLIVIA_ID/certificate" '{"pem":"junk"}'); ik_expect 400 bad_pem "$s" "API garbage PEM"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$OLIVIA_ID/certificate" "{\"pem\":\"x\",\"certificate_id\":$THIRD}"); ik_expect 400 bad_field "$s" "both pem and certificate_id"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$OLIVIA_ID/certificate" '{"pem":5}'); ik_expect 400 bad_field "$s" "pem not a string"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$OLIVIA_ID/certificate" "$(python3 -c 'import json,sys; print(json.dumps({"pem": open(sys.argv[1]).read()}))' "$TMP/other.pem")")
ik_expect 409 not_bindable "$s" "API another CA"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$OLIVIA_ID/certificate" "$PEMJ"); ik_expect 200 - "$s" "API bind by PEM"
[ "$(ik_json 'd["certificate_id"]')" = "$THIRD" ] || ik_fail "API PEM bind bound $(ik_json 'd["certificate_id"]')"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$OLIVIA_ID/certificate" "$PEMJ"); ik_expect 409 already_bound "$s" "API the same again"
[ "$(nbound "$OLIVIA_ID")" = 2 ] || ik_fail "API: $(nbound "$OLIVIA_ID") bound"
s=$(ik_api admin "$ADM" DELETE "/api/v1/officers/$OLIVIA_ID/certificate?certificate_id=x"); ik_expect 400 bad_query "$s" "API unbind with a bad id"
s=$(ik_api olivia "$OFF" DELETE "/api/v1/officers/$OLIVIA_ID/certificate?certificate_id=$THIRD"); ik_expect 403 forbidden "$s" "API unbind by an officer"
s=$(ik_api admin "$ADM" DELETE "/api/v1/officers/$OLIVIA_ID/certificate?certificate_id=$THIRD"); ik_expect 200 - "$s" "API unbind one"
s=$(ik_api admin "$ADM" DELETE "/api/v1/officers/$OLIVIA_ID/certificate?certificate_id=$THIRD"); ik_expect 404 not_found "$s" "API unbind it twice"
[ "$(nbound "$OLIVIA_ID")" = 1 ] || ik_fail "API unbind one: $(nbound "$OLIVIA_ID") left"
s=$(certlogin op-new); ik_expect 200 - "$s" "the new certificate after the API unbind of another"
ik_ok "API: list with fingerprints, bind by pem (refusals: role, CSRF, garbage, both, another CA, twice), unbind one by certificate_id"

# ---- at most 8 login certificates per officer ----
for i in 1 2 3 4 5 6 7 8; do
	issue_cert "carol-dev$i"
	s=$(ik_api admin "$ADM" POST "/api/v1/officers/$CAROL_ID/certificate" "{\"certificate_id\":$CID}"); ik_expect 200 - "$s" "carol's certificate $i"
done
issue_cert carol-dev9
s=$(bind_file admin "$ADM" "$CAROL_ID" "$TMP/carol-dev9.pem"); ik_expect 409 - "$s" "a ninth certificate by PEM"
has "すでに上限の 8 枚のログイン用証明書" "limit message"
s=$(ik_api admin "$ADM" POST "/api/v1/officers/$CAROL_ID/certificate" "{\"certificate_id\":$CID}"); ik_expect 409 too_many "$s" "a ninth certificate by the API"
[ "$(nbound "$CAROL_ID")" = 8 ] || ik_fail "carol has $(nbound "$CAROL_ID")"
ik_ok "at most 8 login certificates per officer: the ninth refused (page 409 with the limit, API too_many)"

# ---- an expired certificate by PEM: the RA run under faketime ----
if grep -q '^INKAN_SANITIZE:BOOL=ON' "$INKAN_BUILD/CMakeCache.txt" 2>/dev/null; then
	echo "skip - expired certificate under faketime (sanitizer build)"
elif FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n1) && [ -n "$FAKETIME_LIB" ]; then
	issue_cert op-short 1
	ik_stop_ra
	ik_ra_config "${BASE##*:}" "$CL"
	FAKETIME="+2d" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$FAKETIME_LIB \
		inkan-rad -c "$TMP/ra.conf" >>"$TMP/rad.log" 2>&1 &
	RAD_PID=$!
	for _ in $(seq 1 100); do curl -sf --cacert "$TMP/tls.pem" "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
	ADM=$(ik_login admin "$ADMIN_PW")
	s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/op-short.pem"); ik_expect 409 - "$s" "an expired certificate by PEM"
	has "この証明書は紐付けできません: 有効期限が切れています。" "expired in Japanese"
	s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/op-short.pem" en); has "This certificate cannot be bound: it has expired." "expired in English"
	ik_stop_ra
	FAKETIME="-2d" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$FAKETIME_LIB \
		inkan-rad -c "$TMP/ra.conf" >>"$TMP/rad.log" 2>&1 &
	RAD_PID=$!
	for _ in $(seq 1 100); do curl -sf --cacert "$TMP/tls.pem" "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
	ADM=$(ik_login admin "$ADMIN_PW")
	s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/carol-dev9.pem"); ik_expect 409 - "$s" "a certificate not valid yet by PEM"
	has "この証明書は紐付けできません: まだ有効期間が始まっていません。" "not yet valid in Japanese"
	s=$(bind_file admin "$ADM" "$OLIVIA_ID" "$TMP/carol-dev9.pem" en); has "This certificate cannot be bound: it is not valid yet." "not yet valid in English"
	ik_stop_ra
	ik_ok "an expired certificate (RA clock 2 days on) and one not valid yet (2 days back) by PEM -> 409, the reason in ja and en (faketime)"
else
	ik_fail "faketime is not installed (firmware/debian-packages.txt)"
fi
ik_stop_ra
