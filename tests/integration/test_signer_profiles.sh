#!/usr/bin/env bash
# PROFILES end to end: inkan-signctl profiles against a real signer prints exactly the
# [profile.*] sections of the signer.conf it was started with (defaults filled in); the
# RA shows them on /ui/settings (ja/en) and as GET /api/v1/profiles to administrators only
# (403 for officers and auditors); with the signer stopped both say so and the page still works.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
cat >> "$TMP/signer.conf" <<CONF

[profile.tls]
usage = server
max_days = 90
backdate = 0
key_types = ec-p384 rsa
rsa_min_bits = 3072
subject_allowed = CN OU L
subject_required = CN OU
OU = Ops & <Infra>
crl_url = http://127.0.0.1:8080/crl/issuing-ca.crl
ca_issuers_url = http://127.0.0.1:8080/ca/issuing-ca.der
CONF
ik_start_signer

ik_signctl profiles > "$TMP/profiles.txt" || ik_fail "signctl profiles"
python3 - "$TMP/signer.conf" "$TMP/profiles.txt" <<'PY' || ik_fail "signctl profiles differs from signer.conf: $(cat "$TMP/profiles.txt")"
import configparser, sys
def load(path):
    c = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    c.optionxform = str
    c.read(path, encoding="utf-8")
    return c
conf, got = load(sys.argv[1]), load(sys.argv[2])
defaults = {"usage": "client", "max_days": "397", "backdate": "300",
            "key_types": "ec-p256 ec-p384 rsa", "rsa_min_bits": "2048",
            "subject_allowed": "CN", "subject_required": "CN", "ocsp_url": "", "ca_issuers_url": ""}
words = {"key_types", "subject_allowed", "subject_required"}
want = [s for s in conf.sections() if s.startswith("profile.")]
if got.sections() != want:
    sys.exit(f"sections {got.sections()} != {want}")
for s in want:
    exp = dict(defaults); exp.update(conf[s])
    have = dict(got[s])
    norm = lambda d: {k: (sorted(v.split()) if k in words else v.strip()) for k, v in d.items()}
    if norm(exp) != norm(have):
        sys.exit(f"[{s}]: want {norm(exp)}, got {norm(have)}")
print("profiles match", want)
PY
ik_ok "inkan-signctl profiles: every [profile.*] of signer.conf, values and defaults as configured"

# ---- the RA: settings page and API ----
ik_ra_officers
ik_start_ra
ADM=$(ik_login admin "$ADMIN_PW")
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")
page() {
	local who=$1 lang=$2 m=$3 p=$4; shift 4
	ik_req "$m" "$p" -b "$TMP/jar.$who" -H "Accept-Language: $lang" "$@"
}
has() { grep -qF -- "$1" "$TMP/body" || ik_fail "$2: no '$1' in: $(sed 's/<[^>]*>/ /g' "$TMP/body" | tr -s ' \n' ' ' | head -c 800)"; }
hasnt() { ! grep -qF -- "$1" "$TMP/body" || ik_fail "$2: '$1' should not be there"; }

s=$(page admin ja GET /ui/settings); ik_expect 200 - "$s" "settings page (ja)"
has 'id="signer-profiles"' "profiles table"
has "署名サーバーのプロファイル" "heading in Japanese"
has '<td class="mono">client<div class="aside">クライアント証明書に使用</div>' "client profile, marked as the RA's"
has '<td class="mono">mail</td>' "mail profile (no mail configured: not marked)"
hasnt "メール署名用証明書に使用" "mail profile marked without mail"
has '<td class="mono">tls</td>' "tls profile"
has "TLS サーバー (EKU serverAuth" "server usage"
has "メール署名 (EKU emailProtection" "email usage"
has "RSA 3072 ビット以上" "RSA size of tls"
has "90 日 (時計のずれに備え、開始を 0 秒前にできます)" "validity of tls"
has "397 日 (時計のずれに備え、開始を 300 秒前にできます)" "validity of client"
has "OU=Ops &amp; &lt;Infra&gt;" "fixed value, escaped"
hasnt "<Infra>" "raw fixed value"
has "O=Inkan Test" "fixed O"
has "http://127.0.0.1:8080/ocsp" "OCSP URL"
has "http://127.0.0.1:8080/ca/issuing-ca.der" "caIssuers URL"
[ "$(grep -o '<tr><td class="mono">' "$TMP/body" | wc -l)" = 3 ] || ik_fail "want 3 profile rows"
s=$(page admin en GET /ui/settings); ik_expect 200 - "$s" "settings page (en)"
has "Profiles of the signer" "heading in English"
has "RSA ≥ 3072 bits" "RSA size in English"
has "used for client certificates" "client marked in English"
ik_ok "/ui/settings: the signer's 3 profiles, every field, ja and en, values escaped"

s=$(page olivia ja GET /ui/settings); ik_expect 403 - "$s" "officer on the settings page"
hasnt "signer-profiles" "profiles shown to an officer"
s=$(page carol en GET /ui/settings); ik_expect 403 - "$s" "auditor on the settings page"
s=$(ik_api olivia "$OFF" GET /api/v1/profiles); ik_expect 403 - "$s" "officer on /api/v1/profiles"
s=$(ik_api carol "$AUD" GET /api/v1/profiles); ik_expect 403 - "$s" "auditor on /api/v1/profiles"
s=$(ik_req GET /api/v1/profiles); [ "$s" = 401 ] || [ "$s" = 403 ] || ik_fail "anonymous /api/v1/profiles: $s"
ik_ok "profiles: officers, auditors and anonymous refused (page and API)"

s=$(ik_api admin "$ADM" GET /api/v1/profiles); ik_expect 200 - "$s" "GET /api/v1/profiles"
[ "$(ik_json '[p["name"] for p in d["profiles"]]')" = "['client', 'mail', 'tls']" ] || ik_fail "names: $(cat "$TMP/body")"
[ "$(ik_json 'd["profiles"][2]["usage"], d["profiles"][2]["key_types"], d["profiles"][2]["rsa_min_bits"], d["profiles"][2]["max_days"], d["profiles"][2]["backdate"]')" = "('server', ['ec-p384', 'rsa'], 3072, 90, 0)" ] || ik_fail "tls: $(cat "$TMP/body")"
[ "$(ik_json 'd["profiles"][2]["subject_allowed"], d["profiles"][2]["subject_required"], d["profiles"][2]["subject_fixed"]')" = "(['CN', 'OU', 'L'], ['CN', 'OU'], {'OU': 'Ops & <Infra>'})" ] \
	|| ik_fail "tls subject: $(ik_json 'd["profiles"][2]')"
[ "$(ik_json 'd["profiles"][0]["subject_fixed"], d["profiles"][0]["ocsp_url"], d["profiles"][0]["ca_issuers_url"], d["profiles"][1]["usage"]')" = "({'O': 'Inkan Test', 'C': 'JP'}, 'http://127.0.0.1:8080/ocsp', None, 'email')" ] \
	|| ik_fail "client/mail: $(cat "$TMP/body")"
ik_ok "GET /api/v1/profiles: the same profiles as JSON"

# ---- the signer away: the page says so and still works ----
ik_stop_signer || ik_fail "signer stop"
s=$(page admin en GET /ui/settings); ik_expect 200 - "$s" "settings page, signer away"
has 'id="signer-profiles-away"' "away notice"
has "The signer could not be reached" "away text"
hasnt 'id="signer-profiles"' "no table when away"
has 'name="quota"' "settings form still there"
s=$(page admin ja GET /ui/settings); has "署名サーバーに接続できないため" "away text in Japanese"
s=$(ik_api admin "$ADM" GET /api/v1/profiles); ik_expect 503 signer_unavailable "$s" "API, signer away"
ik_ok "signer stopped: the page says so (ja/en) and still shows the settings; the API answers 503"
