#!/usr/bin/env bash
# The administrators' officer pages (/ui/officers, /ui/officers/{id}) binding an officer's
# login certificate ([ra] cert_login) over real HTTP: a real signer on SoftHSM issues the
# certificates through the RA, an administrator binds one by serial through the page (CSRF
# form), and curl --cert logs the officer in over the RA's real TLS; unbound through the page
# it no longer logs in.  Refused, with nothing bound: an officer or auditor (403), a missing
# or wrong CSRF token (403), a malformed or unknown serial, another device's revoked
# certificate, one not chaining to cert_login_ca, a certificate bound to someone else, an
# unknown officer, cert_login off; typed input is escaped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/certlogin.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
cl_start_ra
bind() { # bind WHO CSRF OFFICER_ID SERIAL [lang]
	page "$1" "${5:-ja}" POST "/ui/officers/$3/certificate" --data-urlencode "csrf=$2" \
		--data-urlencode "serial=$4"
}
unbind() { # unbind WHO CSRF OFFICER_ID [CERT_ID (olivia's)]
	page "$1" ja POST "/ui/officers/$3/certificate/delete" --data-urlencode "csrf=$2" \
		--data-urlencode "cert=${4:-$OLIVIA_CERT}"
}
nothing_bound() { # nothing_bound OFFICER_ID WHAT: the API reads no binding
	local s
	s=$(ik_api admin "$ADM" GET "/api/v1/officers/$1/certificate")
	ik_expect 404 not_found "$s" "$2: nothing may be bound"
}

issue_cert op-olivia; OLIVIA_CERT=$CID; OLIVIA_SERIAL=$SERIAL
s=$(certlogin op-olivia); ik_expect 401 bad_certificate "$s" "a certificate bound to nobody"

# ---- who sees the pages ----
s=$(page admin ja GET /ui/certs); ik_expect 200 - "$s" "certs page (admin)"
has 'href="/ui/officers"' "officers link for an administrator"
s=$(page olivia ja GET /ui/certs); hasnt 'href="/ui/officers"' "no officers link for an officer"
s=$(page admin ja GET /ui/officers); ik_expect 200 - "$s" "officers list"
has "href=\"/ui/officers/$OLIVIA_ID\"" "olivia listed"; has '>olivia<' "olivia's login"; has "登録担当者" "role in Japanese"
s=$(page admin en GET /ui/officers); has "Login certificate serial" "officers list in English"
for who in olivia carol; do
	s=$(page $who ja GET /ui/officers); ik_expect 403 - "$s" "officers list as $who"
	s=$(page $who ja GET "/ui/officers/$OLIVIA_ID"); ik_expect 403 - "$s" "officer page as $who"
done
s=$(ik_req GET "/ui/officers/$OLIVIA_ID"); ik_expect 303 - "$s" "officer page without a session"
s=$(page admin ja GET /ui/officers/9999); ik_expect 404 - "$s" "unknown officer"
s=$(page admin ja GET "/ui/officers/$OLIVIA_ID"); ik_expect 200 - "$s" "olivia's page"
has 'id="no-login-cert"' "nothing bound yet"; has "action=\"/ui/officers/$OLIVIA_ID/certificate\"" "bind form"
has "ログイン用証明書が紐付けられていません" "nothing bound, in Japanese"
ik_ok "officer pages: administrators only (officer, auditor 403; no session -> login), link in the nav"

# ---- refusals: nothing is bound ----
s=$(page admin ja POST "/ui/officers/$OLIVIA_ID/certificate" --data-urlencode "serial=$OLIVIA_SERIAL")
ik_expect 403 - "$s" "bind without CSRF"
s=$(bind admin "${ADM}x" "$OLIVIA_ID" "$OLIVIA_SERIAL"); ik_expect 403 - "$s" "bind with a wrong CSRF"
s=$(bind admin "$OFF" "$OLIVIA_ID" "$OLIVIA_SERIAL"); ik_expect 403 - "$s" "bind with another session's CSRF"
s=$(bind olivia "$OFF" "$OLIVIA_ID" "$OLIVIA_SERIAL"); ik_expect 403 - "$s" "bind by an officer (own CSRF)"
s=$(bind carol "$AUD" "$OLIVIA_ID" "$OLIVIA_SERIAL"); ik_expect 403 - "$s" "bind by an auditor (own CSRF)"
nothing_bound "$OLIVIA_ID" "CSRF and role refusals"
s=$(certlogin op-olivia); ik_expect 401 bad_certificate "$s" "still bound to nobody"
ik_ok "bind: missing / wrong / another session's CSRF, officer, auditor -> 403, nothing bound"

s=$(bind admin "$ADM" "$OLIVIA_ID" 'zz<b>q'); ik_expect 400 - "$s" "a malformed serial"
has "シリアル番号の形式が正しくありません" "malformed serial message"
has 'value="zz&lt;b&gt;q"' "typed serial escaped back into the form"; hasnt 'zz<b>q' "typed serial raw"
s=$(bind admin "$ADM" "$OLIVIA_ID" ''); ik_expect 400 - "$s" "an empty serial"
s=$(bind admin "$ADM" "$OLIVIA_ID" 'abcdef0123456789'); ik_expect 404 - "$s" "an unknown serial"
has "シリアル番号 abcdef0123456789 の証明書は、この RA では発行されていません" "unknown serial message"
s=$(bind admin "$ADM" "$OLIVIA_ID" 'abcdef0123456789' en); ik_expect 404 - "$s" "an unknown serial (en)"
has "This RA issued no certificate with serial abcdef0123456789" "unknown serial message in English"
issue_cert op-other; OTHER_CERT=$CID; OTHER_SERIAL=$SERIAL
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$OTHER_CERT/revoke" '{}'); ik_expect 202 - "$s" "revoke the other device's certificate"
wait_request "$(ik_json 'd["request_id"]')"
s=$(bind admin "$ADM" "$OLIVIA_ID" "$OTHER_SERIAL"); ik_expect 409 - "$s" "another device's revoked certificate"
has "この証明書は「失効」のため紐付けできません" "revoked certificate message"
s=$(bind admin "$ADM" "$OLIVIA_ID" "$OTHER_SERIAL" en); has "This certificate is revoked" "revoked message in English"
nothing_bound "$OLIVIA_ID" "bad, unknown or revoked serial"
ik_ok "bind: malformed (escaped back), empty, unknown serial, another device's revoked certificate -> a clear page, nothing bound"

# ---- bind through the page, then log in with the certificate ----
TYPED=$(printf '%s' "00$OLIVIA_SERIAL" | tr a-f A-F | sed 's/../&:/g; s/:$//')
s=$(bind admin "$ADM" "$OLIVIA_ID" "$TYPED"); ik_expect 303 - "$s" "bind olivia's certificate ($TYPED)"
grep -qi "^location: /ui/officers/$OLIVIA_ID?done=bound" "$TMP/hdr" || ik_fail "redirect after binding: $(grep -i location "$TMP/hdr")"
s=$(page admin ja GET "/ui/officers/$OLIVIA_ID?done=bound"); ik_expect 200 - "$s" "olivia's page after binding"
has "証明書を紐付けました" "bound message"; has "$OLIVIA_SERIAL" "serial shown"; has ">op-olivia</a>" "CN shown"
has "href=\"/ui/certs/$OLIVIA_CERT\"" "link to the certificate"; has '<span class="badge s-active">有効</span>' "state shown"
has "/certificate/delete" "unbind form"; hasnt 'id="no-login-cert"' "no 'nothing bound'"
s=$(ik_api admin "$ADM" GET "/api/v1/officers/$OLIVIA_ID/certificate"); ik_expect 200 - "$s" "API reads the page's binding"
[ "$(ik_json 'd["certificate_id"]')" = "$OLIVIA_CERT" ] || ik_fail "bound certificate $(ik_json 'd["certificate_id"]') != $OLIVIA_CERT"
s=$(page admin ja GET /ui/officers); has "$OLIVIA_SERIAL" "serial in the officers list"
s=$(certlogin op-olivia); ik_expect 200 - "$s" "certificate login after binding through the page"
[ "$(ik_json 'd["officer"]["login"]')" = olivia ] || ik_fail "logged in as $(ik_json 'd["officer"]["login"]')"
s=$(ik_req GET /ui -b "$TMP/jar.cert"); ik_expect 200 - "$s" "dashboard in the certificate session"
s=$(ik_api admin "$ADM" GET "/api/v1/history?op=officer_cert_bound&order=desc"); ik_expect 200 - "$s" "history"
[ "$(ik_json 'd["items"][0]["actor"]')" = admin ] && [ "$(ik_json 'd["items"][0]["target"]')" = olivia ] \
	|| ik_fail "history officer_cert_bound: $(head -c 400 "$TMP/body")"
ik_ok "bind by serial through the page (colons, upper case, leading 00 accepted); the officer logs in with it over mTLS; history"

s=$(bind admin "$ADM" "$CAROL_ID" "$OLIVIA_SERIAL"); ik_expect 409 - "$s" "olivia's certificate for carol"
has "別の担当者のログイン用証明書" "bound elsewhere message"
nothing_bound "$CAROL_ID" "bound elsewhere"

# ---- unbind through the page ----
s=$(page admin ja POST "/ui/officers/$OLIVIA_ID/certificate/delete" --data x=1); ik_expect 403 - "$s" "unbind without CSRF"
s=$(unbind admin "${ADM}x" "$OLIVIA_ID"); ik_expect 403 - "$s" "unbind with a wrong CSRF"
s=$(unbind olivia "$OFF" "$OLIVIA_ID"); ik_expect 403 - "$s" "unbind by an officer"
s=$(certlogin op-olivia); ik_expect 200 - "$s" "still bound after refused unbinds"
s=$(unbind admin "$ADM" "$OLIVIA_ID"); ik_expect 303 - "$s" "unbind"
s=$(page admin ja GET "/ui/officers/$OLIVIA_ID?done=unbound"); has "紐付けを解除しました" "unbound message"
has 'id="no-login-cert"' "nothing bound after unbinding"
nothing_bound "$OLIVIA_ID" "after unbinding"
s=$(certlogin op-olivia); ik_expect 401 bad_certificate "$s" "the unbound certificate no longer logs in"
s=$(unbind admin "$ADM" "$OLIVIA_ID"); ik_expect 404 - "$s" "unbind twice"
has "この証明書はこの担当者に紐付けられていません" "nothing to unbind message"
s=$(bind admin "$ADM" 9999 "$OLIVIA_SERIAL"); ik_expect 404 - "$s" "bind for an unknown officer"
s=$(unbind admin "$ADM" 9999); ik_expect 404 - "$s" "unbind for an unknown officer"
ik_ok "unbind through the page (CSRF, administrators only); the certificate no longer logs in; twice, unknown officer -> 404 page"
ik_stop_ra

# ---- an active certificate that does not chain to cert_login_ca ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=Other-CA \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$TMP/other-ca.key" -out "$TMP/other-ca.pem" 2>/dev/null
ik_start_ra "cert_login = on
cert_login_ca = $TMP/other-ca.pem"
ADM=$(ik_login admin "$ADMIN_PW"); OFF=$(ik_login olivia "$OFFICER_PW"); AUD=$(ik_login carol "$AUDITOR_PW")
s=$(bind admin "$ADM" "$OLIVIA_ID" "$OLIVIA_SERIAL"); ik_expect 409 - "$s" "a certificate not chaining to cert_login_ca"
has "この証明書は紐付けできません" "not bindable message"
nothing_bound "$OLIVIA_ID" "not chaining to cert_login_ca"
ik_stop_ra
ik_ok "an active certificate that does not chain to cert_login_ca -> 409 page naming why, nothing bound"

# ---- cert_login off: the page says so and refuses ----
ik_start_ra ""
ADM=$(ik_login admin "$ADMIN_PW")
s=$(page admin ja GET "/ui/officers/$OLIVIA_ID"); ik_expect 200 - "$s" "officer page with cert_login off"
has "証明書ログイン ([ra] cert_login) が有効になっていない" "off notice"; hasnt 'id="bind"' "no bind form when off"
s=$(bind admin "$ADM" "$OLIVIA_ID" "$OLIVIA_SERIAL"); ik_expect 409 - "$s" "bind with cert_login off"
nothing_bound "$OLIVIA_ID" "cert_login off"
ik_stop_ra
ik_ok "cert_login off: the page says so, no form, a bind is refused (409)"
