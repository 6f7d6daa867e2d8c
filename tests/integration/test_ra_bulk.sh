#!/usr/bin/env bash
# Bulk files through the RA: dry run, "abort the whole file" (the default) and "valid rows
# only", errors with row and column — from the parser and from the store (over the quota, a
# device that already holds a certificate, an unknown serial) — and a failed file leaving
# the database byte-for-byte as it was.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
OFF=$(ik_login olivia "$OFFICER_PW")
ADM=$(ik_login admin "$ADMIN_PW")

upload() { # upload QUERY FILE
	ik_req POST "/api/v1/bulk?$1" -b "$TMP/jar.olivia" -H "X-CSRF-Token: $OFF" \
		-H 'Content-Type: text/csv' --data-binary @"$2"
}
snapshot() { sqlite3 "$TMP/ra.sqlite" .dump | grep -v '^INSERT INTO history\|INSERT INTO sessions\|UPDATE' ; }
users() { ik_api olivia "$OFF" GET /api/v1/users >/dev/null; ik_json 'len(d["items"])'; }

printf 'user,email,device,common_name,validity_days\n' > "$TMP/good.csv"
printf 'u1,u1@example.jp,pc,u1-pc,30\nu2,u2@example.jp,pc,u2-pc,\n"u3",u3@example.jp,"phone, work",u3-phone,90\n' >> "$TMP/good.csv"

# dry run: everything checked, nothing stored
before=$(snapshot)
s=$(upload 'kind=issue&dry_run=1' "$TMP/good.csv"); ik_expect 200 - "$s" "dry run"
[ "$(ik_json 'd["stored"]')" = False ] && [ "$(ik_json 'len(d["results"])')" = 3 ] || ik_fail "dry run reply: $(cat "$TMP/body")"
[ "$(snapshot)" = "$before" ] || ik_fail "dry run changed the database"
ik_ok "dry run: 3 rows would be registered; nothing stored"

# abort mode: one bad row -> 422 with every error, nothing stored
printf 'user,email,device,common_name\nu1,u1@example.jp,pc,u1-pc\nu2,not-an-email,pc,u2-pc\nu3,u3@example.jp,pc,u1-pc\n' > "$TMP/bad.csv"
s=$(upload 'kind=issue' "$TMP/bad.csv"); ik_expect 422 - "$s" "abort mode with errors"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(3, 'email')" || ik_fail "email error not at row 3: $(cat "$TMP/body")"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(4, 'common_name')" || ik_fail "duplicate CN not at row 4"
[ "$(snapshot)" = "$before" ] || ik_fail "a refused file changed the database"
ik_ok "abort mode: errors named by row and column (3 email, 4 duplicate CN); database unchanged"

# Japanese headers, BOM, TSV: registered with one-time credentials
printf '\xef\xbb\xbfユーザーID\tメールアドレス\t端末名\tコモンネーム\t氏名\n' > "$TMP/ja.tsv"
printf 'u1\tu1@example.jp\tpc\tu1-pc\t山田 一郎\nu2\tu2@example.jp\tpc\tu2-pc\t佐藤 花子\n' >> "$TMP/ja.tsv"
s=$(upload 'kind=issue&format=tsv' "$TMP/ja.tsv"); ik_expect 200 - "$s" "TSV upload"
[ "$(ik_json 'd["registered"]')" = 2 ] || ik_fail "TSV registered: $(cat "$TMP/body")"
ik_json 'd["results"][0]["download"]["login"]' | grep -q '^dl-' || ik_fail "no download credential in results"
L1=$(ik_json 'd["results"][0]["download"]["login"]'); P1=$(ik_json 'd["results"][0]["download"]["password"]')
L2=$(ik_json 'd["results"][1]["download"]["login"]'); P2=$(ik_json 'd["results"][1]["download"]["password"]')
[ "$(users)" = 2 ] || ik_fail "users after TSV"
ik_ok "TSV with a BOM and Japanese headers: 2 registered, each with a one-time credential"

# valid-rows mode: a parser error and a store error skipped, the rest stored
printf 'user,email,device,common_name\nu1,u1@example.jp,pc,u1-pc-again\nu4,bad,pc,u4-pc\nu5,u5@example.jp,pc,u5-pc\n' > "$TMP/mixed.csv"
s=$(upload 'kind=issue&mode=valid' "$TMP/mixed.csv"); ik_expect 200 - "$s" "valid-rows mode"
[ "$(ik_json 'd["registered"]')" = 1 ] || ik_fail "valid mode registered: $(cat "$TMP/body")"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(2, 'device')" || ik_fail "store error not at row 2: $(cat "$TMP/body")"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(3, 'email')" || ik_fail "email error not at row 3"
[ "$(users)" = 3 ] || ik_fail "users after valid mode: $(users)"
ik_ok "valid-rows mode: row 2 (device already has a certificate) and row 3 (email) skipped, row 4 stored"

# quota: the store's refusal aborts the whole file
s=$(ik_api admin "$ADM" GET /api/v1/counters); used=$(ik_json 'd["issued"]')
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"quota\":\"$((used + 1))\"}"); ik_expect 200 - "$s" "set quota"
printf 'user,email,device,common_name\nu6,u6@example.jp,pc,u6-pc\nu7,u7@example.jp,pc,u7-pc\n' > "$TMP/quota.csv"
before=$(snapshot)
s=$(upload 'kind=issue' "$TMP/quota.csv"); ik_expect 422 - "$s" "over quota"
ik_json 'd["errors"]' | grep -q 'contracted' || ik_fail "quota error: $(cat "$TMP/body")"
[ "$(snapshot)" = "$before" ] || ik_fail "over-quota file changed the database"
ik_ok "over the quota: whole file refused at row 3, database unchanged"

# encoding
printf 'user,email,device,common_name\nu8,u8@example.jp,pc,\x83\x65\x83\x58\x83\x67\n' > "$TMP/sjis.csv"
s=$(upload 'kind=issue' "$TMP/sjis.csv"); ik_expect 422 - "$s" "Shift_JIS"
grep -q 'not UTF-8' "$TMP/body" || ik_fail "Shift_JIS message: $(cat "$TMP/body")"
ik_ok "a Shift_JIS file is refused with a message that says so"

# revoke by file: make one certificate active by downloading it, then revoke it by serial
s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$L1\",\"secret\":\"$P1\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "download for the revoke test: $s"
s=$(ik_api olivia "$OFF" GET '/api/v1/certificates?filter=valid'); SER=$(ik_json 'd["items"][0]["serial"]')
printf 'serial,reason\n%s,keyCompromise\n0badc0ffee,superseded\n' "$SER" > "$TMP/revoke.csv"
before=$(snapshot)
s=$(upload 'kind=revoke' "$TMP/revoke.csv"); ik_expect 422 - "$s" "revoke with an unknown serial"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(3, 'serial')" || ik_fail "unknown serial not at row 3: $(cat "$TMP/body")"
[ "$(snapshot)" = "$before" ] || ik_fail "refused revoke file changed the database"
printf 'serial,reason\n%s,keyCompromise\n' "$(echo "$SER" | tr a-f A-F | sed 's/../&:/g; s/:$//')" > "$TMP/revoke.csv"
s=$(upload 'kind=revoke' "$TMP/revoke.csv"); ik_expect 200 - "$s" "revoke by file"
for _ in $(seq 1 40); do
	ik_api olivia "$OFF" GET '/api/v1/certificates?filter=revoked' >/dev/null
	[ "$(ik_json 'd["total"]')" = 1 ] && break
	sleep 0.05
done
[ "$(ik_json 'd["total"]')" = 1 ] || ik_fail "revoked by file: $(cat "$TMP/body")"
ik_ok "revoke by file: an unknown serial refuses the file; a colon-separated upper-case serial revokes"

# renew by file
printf 'common_name,validity_days,revoke_old\nu2-pc,30,yes\nno-such-cn,30,no\n' > "$TMP/renew.csv"
s=$(upload 'kind=renew&mode=valid&dry_run=1' "$TMP/renew.csv"); ik_expect 200 - "$s" "renew dry run"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(2, 'common_name')" || ik_fail "renew of a not-yet-downloaded certificate: $(cat "$TMP/body")"
ik_json '[(e["row"], e["column"]) for e in d["errors"]]' | grep -q "(3, 'common_name')" || ik_fail "renew of an unknown CN not refused: $(cat "$TMP/body")"
s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$L2\",\"secret\":\"$P2\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "download u2: $s"
before=$(snapshot)
s=$(upload 'kind=renew&dry_run=1' "$TMP/renew.csv"); ik_expect 422 - "$s" "renew dry run, abort mode, one bad row"
[ "$(snapshot)" = "$before" ] || ik_fail "renew dry run changed the database"
printf 'common_name,validity_days,revoke_old\nu2-pc,30,yes\n' > "$TMP/renew.csv"
s=$(upload 'kind=renew' "$TMP/renew.csv"); ik_expect 200 - "$s" "renew by file"
LR=$(ik_json 'd["results"][0]["download"]["login"]'); PR=$(ik_json 'd["results"][0]["download"]["password"]')
s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$LR\",\"secret\":\"$PR\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "download of the renewal: $s $(cat "$TMP/body")"
for _ in $(seq 1 40); do
	ik_api olivia "$OFF" GET '/api/v1/certificates?filter=revoked' >/dev/null
	[ "$(ik_json 'd["total"]')" = 2 ] && break
	sleep 0.05
done
[ "$(ik_json 'd["total"]')" = 2 ] || ik_fail "old u2 certificate not revoked after the renewal: $(cat "$TMP/body")"
s=$(ik_api olivia "$OFF" GET '/api/v1/certificates?filter=valid&cn=u2-pc'); [ "$(ik_json 'd["total"]')" = 1 ] || ik_fail "renewed u2 not valid"
printf 'serial,validity_days\n%s,30\n' "$SER" > "$TMP/renew.csv"
s=$(upload 'kind=renew' "$TMP/renew.csv"); ik_expect 422 - "$s" "renew a revoked certificate"
ik_ok "renew by file: dry run, errors by row, a credential per renewal; revoke_old=yes revokes the old one on download"

s=$(upload 'kind=bogus' "$TMP/revoke.csv"); ik_expect 400 bad_query "$s" "unknown kind"
s=$(ik_req POST '/api/v1/bulk?kind=issue' -b "$TMP/jar.carol" -H 'Content-Type: text/csv' --data-binary @"$TMP/good.csv")
[ "$s" = 401 ] || [ "$s" = 403 ] || ik_fail "bulk upload without officer rights: $s"
ik_ok "unknown kind refused; bulk needs an officer with CSRF"
