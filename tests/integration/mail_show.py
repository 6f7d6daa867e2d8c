"""Reads one mail written by smtp_sink.py and prints what a test asserts on, as JSON:
{"from", "to", "subject" (decoded), "message_id", "kind", "lang", "signed" (multipart/signed
with an application/pkcs7-signature part), "text" (the decoded text part), "attachments":
[{"name", "type", "text"}], "rcpt" (envelope)}.  Usage: mail_show.py FILE.eml"""
import email
import email.header
import json
import sys
from email import policy

path = sys.argv[1]
with open(path, "rb") as f:
    raw = f.read()
msg = email.message_from_bytes(raw, policy=policy.default)
out = {
    "from": str(msg["From"]),
    "to": str(msg["To"]),
    "subject": str(msg["Subject"]),
    "message_id": str(msg["Message-ID"]),
    "kind": str(msg["X-Inkan-Notice"]),
    "signed": msg.get_content_type() == "multipart/signed",
    "text": "",
    "lang": "",
    "attachments": [],
}
if out["signed"]:
    parts = msg.get_payload()
    out["signed"] = len(parts) == 2 and parts[1].get_content_type() in (
        "application/pkcs7-signature", "application/x-pkcs7-signature")
    content = parts[0]
else:
    content = msg
for part in content.walk():
    if part.is_multipart():
        continue
    if part.get_content_disposition() == "attachment":
        out["attachments"].append({"name": part.get_filename(), "type": part.get_content_type(),
                                   "text": part.get_payload(decode=True).decode("utf-8")})
    elif part.get_content_type() == "text/plain":
        out["text"] = part.get_payload(decode=True).decode("utf-8")
        out["lang"] = str(part.get("Content-Language", ""))
try:
    with open(path[:-4] + ".rcpt") as f:
        out["rcpt"] = [line.strip() for line in f if line.strip()]
except OSError:
    out["rcpt"] = []
print(json.dumps(out, ensure_ascii=False))
