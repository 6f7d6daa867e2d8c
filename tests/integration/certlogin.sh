# certlogin.sh: officers' login certificates in the integration tests, sourced after lib.sh
# (ik_setup, ik_start_signer and ik_ra_officers done).
#   cl_start_ra               the RA with cert_login on (its settings in CL); the admin's, olivia's and carol's
#                             sessions (ADM, OFF, AUD), OLIVIA_ID, CAROL_ID, J (JSON header)
#   issue_cert NAME [days]    a client certificate issued through the RA for a key made here:
#                             $TMP/NAME.key, $TMP/NAME.pem; sets CID and SERIAL (lowercase hex)
#   certlogin NAME [curl args]  POST /api/v1/login/certificate with it (jar $TMP/jar.cert)
#   page WHO LANG METHOD PATH [curl args]   a page in WHO's session, in LANG
#   has TEXT WHAT / hasnt TEXT WHAT         the last body holds TEXT, or not
J=(-H 'Content-Type: application/json')

cl_start_ra() {
	local s
	CL="cert_login = on
cert_login_ca = $TMP/ca/bundle.pem"
	ik_start_ra "$CL"
	ADM=$(ik_login admin "$ADMIN_PW")
	OFF=$(ik_login olivia "$OFFICER_PW")
	AUD=$(ik_login carol "$AUDITOR_PW")
	s=$(ik_api olivia "$OFF" GET /api/v1/whoami); OLIVIA_ID=$(ik_json 'd["officer"]["id"]')
	s=$(ik_api carol "$AUD" GET /api/v1/whoami); CAROL_ID=$(ik_json 'd["officer"]["id"]')
}

page() {
	local who=$1 lang=$2 m=$3 p=$4; shift 4
	ik_req "$m" "$p" -b "$TMP/jar.$who" -H "Accept-Language: $lang" "$@"
}
has() { grep -qF -- "$1" "$TMP/body" || ik_fail "$2: no '$1' in: $(sed 's/<[^>]*>/ /g' "$TMP/body" | tr -s ' \n' ' ' | head -c 800)"; }
hasnt() { ! grep -qF -- "$1" "$TMP/body" || ik_fail "$2: '$1' should not be there"; }

wait_request() {
	for _ in $(seq 1 100); do
		ik_api carol "$AUD" GET "/api/v1/requests/$1" >/dev/null
		[ "$(ik_json 'd["state"]')" = done ] && return 0
		sleep 0.1
	done
	ik_fail "request $1 not done: $(cat "$TMP/body")"
}

issue_cert() {
	local name=$1 days=${2:-30} s u d csr
	s=$(ik_api olivia "$OFF" POST /api/v1/users "{\"external_id\":\"$name\"}"); ik_expect 201 - "$s" "user $name"
	u=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$u/devices" '{"name":"laptop"}'); ik_expect 201 - "$s" "device of $name"
	d=$(ik_json 'd["id"]')
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
		-keyout "$TMP/$name.key" -out "$TMP/$name.csr" 2>/dev/null
	csr=$(python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "validity_days": int(sys.argv[2])}))' "$TMP/$name.csr" "$days")
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$d/certificates" "$csr"); ik_expect 202 - "$s" "issue $name"
	CID=$(ik_json 'd["certificate_id"]')
	wait_request "$(ik_json 'd["request_id"]')"
	s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$CID"); ik_expect 200 - "$s" "certificate of $name"
	SERIAL=$(ik_json 'd["serial"]')
	s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$CID/pem"); ik_expect 200 - "$s" "PEM of $name"
	cp "$TMP/body" "$TMP/$name.pem"
}

certlogin() {
	local name=$1; shift
	ik_req POST /api/v1/login/certificate "${J[@]}" --data '{}' -c "$TMP/jar.cert" \
		--cert "$TMP/$name.pem" --key "$TMP/$name.key" "$@"
}
