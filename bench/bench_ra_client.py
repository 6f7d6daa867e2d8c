#!/usr/bin/env python3
"""bench_ra_client: the HTTP side of bench/bench_ra.sh, against a running inkan-rad.
The officer password comes on stdin (never argv).  Subcommands print one line of numbers.

  singles BASE CA N THREADS      N users+devices and THREADS logins (not timed), then N
                                 POST .../certificates with a CSR over THREADS keep-alive
                                 connections; timed until
                                 the RA holds N more active certificates: "secs posted_secs"
                                 (posted_secs: until the last POST was answered)
  batch BASE CA N                POST /api/v1/batches, timed until finished:
                                 "secs done failed create_secs" (create_secs: the POST alone);
                                 with IK_CPU_PIDS="PID ..." then, per PID, its CPU seconds
                                 over the whole batch and after the POST (/proc/PID/stat)
  revoke BASE CA HTTPBASE ISSUER.pem K
                                 K times: revoke one active certificate through the API,
                                 then poll the CRL over HTTP (If-None-Match) and OCSP, at
                                 once, until both show it: "median_ms worst_ms" (and
                                 each part's median and worst on stderr; with
                                 IK_REVOKE_DUMP=1 every revocation's parts too, in order)
  p12 BASE CA FORMAT K THREADS   K download credentials (not timed), then K downloads of
                                 that format over THREADS connections: "ms_per_file wall_s"
"""
import http.client, json, os, signal, ssl, subprocess, sys, threading, time, urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

PW = sys.stdin.readline().rstrip("\n")


class Conn:
    def __init__(self, base, ca):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx)
        self.cookie, self.csrf = "", ""

    def req(self, method, path, body=None, ctype="application/json"):
        h = {"Cookie": self.cookie, "X-CSRF-Token": self.csrf}
        if body is not None:
            h["Content-Type"] = ctype
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        for attempt in range(3):
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                return r.status, data, r
            except (http.client.HTTPException, ConnectionError):
                self.c.close()
                self.c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx)
        raise RuntimeError(f"{method} {path}: connection keeps failing")

    def login(self, who="olivia"):
        st, data, r = self.req("POST", "/api/v1/login", {"login": who, "password": PW})
        if st != 200:
            raise RuntimeError(f"login {who}: {st} {data[:200]}")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("inkan_session="):
                self.cookie = v.split(";")[0]
        self.csrf = json.loads(data)["csrf"]
        return self

    def json(self, method, path, body=None, want=(200, 201, 202)):
        st, data, _ = self.req(method, path, body)
        if st not in want:
            raise RuntimeError(f"{method} {path}: {st} {data[:300]}")
        return json.loads(data)


def logged_in(base, ca):
    return Conn(base, ca).login()


def active_count(c):
    return c.json("GET", "/api/v1/counters")["by_state"]["active"]


def parallel(fn, items, threads):
    chunks = [items[i::threads] for i in range(threads)]
    errs = []

    def run(ch):
        try:
            fn(ch)
        except Exception as e:  # reported below
            errs.append(e)
    ts = [threading.Thread(target=run, args=(ch,)) for ch in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]


def make_devices(base, ca, n, threads, tag):
    out = []
    lock = threading.Lock()

    def work(ids):
        c = logged_in(base, ca)
        for i in ids:
            u = c.json("POST", "/api/v1/users", {"external_id": f"{tag}-{i}"})
            d = c.json("POST", f"/api/v1/users/{u['id']}/devices", {"name": "laptop"})
            with lock:
                out.append((i, d["id"]))
    parallel(work, list(range(n)), threads)
    return sorted(out)


def csrs(n):
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(16)]
    res = []
    for i in range(n):
        b = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"single-{i:07d}")]))
        res.append(b.sign(keys[i % 16], hashes.SHA256()).public_bytes(
            serialization.Encoding.PEM).decode())
    return res


def cmd_singles(base, ca, n, threads):
    n, threads = int(n), int(threads)
    devs = make_devices(base, ca, n, threads, f"s{int(time.time())}")
    reqs = csrs(n)
    c = logged_in(base, ca)
    before = active_count(c)

    # each connection logs in before the clock starts (a login is a deliberately slow
    # scrypt check: not part of issuing)
    conns = [logged_in(base, ca) for _ in range(threads)]

    def work(items):
        w = conns.pop()
        for i, dev in items:
            w.json("POST", f"/api/v1/devices/{dev}/certificates", {"csr": reqs[i]})
    hook = start_hook()
    cpu0 = cpu_times()
    t0 = time.monotonic()
    parallel(work, devs, threads)
    t_posted = time.monotonic() - t0
    cpu1 = cpu_times()
    while active_count(c) < before + n:
        time.sleep(0.05)
    t_all = time.monotonic() - t0
    cpu2 = cpu_times()
    stop_hook(hook)
    report_cpu(n, cpu0, cpu1, cpu2)
    print(f"{t_all:.3f} {t_posted:.3f}")


# Optional, for bench/bench_ra_singles.sh (stderr only: bench_ra.sh reads stdout):
# INKAN_BENCH_PIDS="name:pid ..." reports each process's CPU time (utime + stime) per
# certificate over the POSTs and over the whole run; INKAN_BENCH_HOOK is a shell command
# started when the timed part starts and sent SIGINT when it ends (perf record, strace).
def cpu_times():
    t = os.times()  # this client's own CPU (all its threads): is it the bottleneck?
    out = {"client": t.user + t.system}
    for item in os.environ.get("INKAN_BENCH_PIDS", "").split():
        name, pid = item.split(":")
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def report_cpu(n, c0, c1, c2):
    for name in c0:
        print(f"cpu {name}: {(c1[name] - c0[name]) * 1e6 / n:.0f} us/cert during the POSTs, "
              f"{(c2[name] - c0[name]) * 1e6 / n:.0f} us/cert in all", file=sys.stderr)


def start_hook():
    cmd = os.environ.get("INKAN_BENCH_HOOK")
    if not cmd:
        return None
    p = subprocess.Popen(cmd, shell=True, start_new_session=True)
    time.sleep(0.5)  # let perf or strace attach
    return p


def stop_hook(p):
    if p is not None:
        os.killpg(p.pid, signal.SIGINT)
        p.wait()


def cpu_s(pid):
    """utime + stime of a process (its exited threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmd_batch(base, ca, n):
    # IK_CPU_PIDS="pid ...": each process's CPU seconds over the whole batch and after its
    # POST are printed too (after the four figures, two per pid)
    pids = os.environ.get("IK_CPU_PIDS", "").split()
    c = logged_in(base, ca)
    hook = start_hook()
    cpu0 = [cpu_s(p) for p in pids]
    t0 = time.monotonic()
    b = c.json("POST", "/api/v1/batches", {"count": int(n), "cn_pattern": f"b{int(t0 * 10) % 10**9}-%06d",
               "passphrase": "Batch passphrase 0123!"})
    t_created = time.monotonic() - t0
    cpu1 = [cpu_s(p) for p in pids]
    while True:
        s = c.json("GET", f"/api/v1/batches/{b['id']}")
        if s["state"] != "running":
            break
        time.sleep(0.05)
    t_all = time.monotonic() - t0
    cpu2 = [cpu_s(p) for p in pids]
    stop_hook(hook)
    cpu = "".join(f" {z - x:.2f} {z - y:.2f}" for x, y, z in zip(cpu0, cpu1, cpu2))
    print(f"{t_all:.3f} {s['done']} {s['failed']} {t_created:.3f}{cpu}")


def der_serial(serial_hex):
    """The DER INTEGER of a serial: what a CRL entry holds."""
    v = bytes.fromhex(serial_hex if len(serial_hex) % 2 == 0 else "0" + serial_hex)
    v = v.lstrip(b"\0") or b"\0"
    if v[0] & 0x80:
        v = b"\0" + v
    return bytes([2, len(v)]) + v


POLL_PAUSE = 0.01  # seconds between two polls of one poller


def poll_crl(h, needle, t0, state, fetch):
    """GET the CRL (If-None-Match: the last ETag seen, as a cache would) until it lists
    needle; the time it did."""
    while True:
        tf = time.monotonic()
        hdr = {"If-None-Match": state["etag"]} if state.get("etag") else {}
        h.request("GET", "/crl/issuing-ca.crl", headers=hdr)
        r = h.getresponse()
        body = r.read()
        if r.status == 200:
            fetch.append(time.monotonic() - tf)
            state["etag"] = r.getheader("ETag")
            if needle in body:
                return time.monotonic()
        elif r.status != 304:
            raise RuntimeError(f"CRL: HTTP {r.status}")
        if time.monotonic() - t0 > 30:
            raise RuntimeError("CRL: not listed after 30 s")
        time.sleep(POLL_PAUSE)


def poll_ocsp(h, oreq, t0):
    """POST the OCSP request until the answer is revoked; the time it was."""
    while True:
        h.request("POST", "/ocsp", body=oreq, headers={"Content-Type": "application/ocsp-request"})
        r = ocsp.load_der_ocsp_response(h.getresponse().read())
        if (r.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL and
                r.certificate_status == ocsp.OCSPCertStatus.REVOKED):
            return time.monotonic()
        if time.monotonic() - t0 > 30:
            raise RuntimeError("OCSP: not revoked after 30 s")
        time.sleep(POLL_PAUSE)


def to_revoke(base, ca, httpbase, k):
    """An officer's connection, the k newest valid certificates (this run issued them: the
    filled rows are older, and the signer's ledger does not know them), a plain HTTP
    connection for the CRL."""
    c = logged_in(base, ca)
    items = c.json("GET", f"/api/v1/certificates?filter=valid&sort=created&order=desc&limit={k}")["items"]
    if len(items) < k:
        raise RuntimeError(f"only {len(items)} valid certificates to revoke")
    u = urllib.parse.urlsplit(httpbase)
    return c, items, http.client.HTTPConnection(u.hostname, u.port)


def cmd_revoke(base, ca, httpbase, issuer_pem, k):
    k = int(k)
    issuer = x509.load_pem_x509_certificate(open(issuer_pem, "rb").read())
    c, items, hc = to_revoke(base, ca, httpbase, k)
    u = urllib.parse.urlsplit(httpbase)
    ho = http.client.HTTPConnection(u.hostname, u.port)
    times, parts, fetch, state = [], [], [], {}
    # IK_REVOKE_GAP=S: S seconds before each revocation (sporadic ones, as an officer makes
    # them, rather than one after the other)
    gap = float(os.environ.get("IK_REVOKE_GAP", "0"))
    for it in items:
        ser = it["serial"]
        time.sleep(gap)
        oreq = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            issuer_name_hash(issuer), issuer_key_hash(issuer), int(ser, 16),
            hashes.SHA1()).build().public_bytes(serialization.Encoding.DER)
        needle = der_serial(ser)
        got, errs = {}, []

        def run(name, fn, *args):
            try:
                got[name] = fn(*args)
            except Exception as e:  # reported below, with the serial
                errs.append(f"{name}: {e}")

        t0 = time.monotonic()
        c.json("POST", f"/api/v1/certificates/{it['id']}/revoke", {"reason": "keyCompromise"})
        t_api = time.monotonic()
        # the CRL and OCSP polled at once, each on its own connection: "both say so" is
        # the later of the two, neither waits behind the other's requests
        th = [threading.Thread(target=run, args=("crl", poll_crl, hc, needle, t0, state, fetch)),
              threading.Thread(target=run, args=("ocsp", poll_ocsp, ho, oreq, t0))]
        for t in th:
            t.start()
        for t in th:
            t.join()
        if errs:
            raise RuntimeError(f"{ser}: " + "; ".join(errs))
        times.append((max(got.values()) - t0) * 1000)
        parts.append(((t_api - t0) * 1000, (got["crl"] - t0) * 1000, (got["ocsp"] - t0) * 1000))
    times.sort()
    print(f"{times[len(times) // 2]:.0f} {times[-1]:.0f}")
    # where it went, for whoever reads stderr: each part's median / worst
    for i, what in enumerate(("API 202", "CRL lists it", "OCSP revoked")):
        v = sorted(p[i] for p in parts)
        print(f"  {what}: median {v[len(v) // 2]:.0f} ms, worst {v[-1]:.0f} ms", file=sys.stderr)
    if os.environ.get("IK_REVOKE_DUMP"):  # every revocation's parts, in order (ms)
        print("  each (API, CRL, OCSP): " + " ".join(f"{a:.0f}/{b:.0f}/{o:.0f}" for a, b, o in parts),
              file=sys.stderr)
    fetch.sort()
    print(f"  whole CRLs fetched: {len(fetch)}, each median {fetch[len(fetch) // 2] * 1000:.0f} "
          f"ms, worst {fetch[-1] * 1000:.0f} ms", file=sys.stderr)


def cmd_revoke_burst(base, ca, httpbase, k):
    """K revocations posted at once (as a bulk file or an incident would queue them), then the
    CRL over HTTP polled until it lists every one: the time from the first POST, and how many
    whole CRLs the RA fetched from the signer meanwhile (/metrics)."""
    k = int(k)
    c, items, hc = to_revoke(base, ca, httpbase, k)

    def fetches():  # /metrics is on the HTTPS port (an IP allow-list), not the plain one
        st, data, _ = c.req("GET", "/metrics")
        for line in data.decode().splitlines():
            if line.startswith("inkan_crl_fetches_total "):
                return int(line.split()[1])
        return 0  # an RA before the counter: the count prints as 0

    f0 = fetches()
    needles = [der_serial(it["serial"]) for it in items]
    t0 = time.monotonic()
    for it in items:
        c.json("POST", f"/api/v1/certificates/{it['id']}/revoke", {"reason": "keyCompromise"})
    t_posted = time.monotonic() - t0
    state = {}
    while True:
        hdr = {"If-None-Match": state["etag"]} if state.get("etag") else {}
        hc.request("GET", "/crl/issuing-ca.crl", headers=hdr)
        r = hc.getresponse()
        body = r.read()
        if r.status == 200:
            state["etag"] = r.getheader("ETag")
            if all(n in body for n in needles):
                break
        if time.monotonic() - t0 > 120:
            raise RuntimeError("CRL: not all listed after 120 s")
        time.sleep(POLL_PAUSE)
    t_all = time.monotonic() - t0
    print(f"{t_posted * 1000:.0f} {t_all * 1000:.0f} {fetches() - f0}")


def issuer_name_hash(issuer):
    d = hashes.Hash(hashes.SHA1())
    d.update(issuer.subject.public_bytes())
    return d.finalize()


def issuer_key_hash(issuer):
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    # the BIT STRING's contents: the last len(point) bytes of the SPKI
    pub = issuer.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint) \
        if isinstance(issuer.public_key(), ec.EllipticCurvePublicKey) else None
    if pub is None:
        raise RuntimeError("only EC issuers here")
    assert spki.endswith(pub)
    d = hashes.Hash(hashes.SHA1())
    d.update(pub)
    return d.finalize()


def cmd_p12(base, ca, fmt, k, threads):
    k, threads = int(k), int(threads)
    devs = make_devices(base, ca, k, min(threads, 8), f"p{fmt[0]}{time.time_ns() // 1000000}")
    c = logged_in(base, ca)
    creds = []
    for _, dev in devs:
        d = c.json("POST", f"/api/v1/devices/{dev}/certificates", {})["download"]
        creds.append((d["login"], d["password"]))
    took = []
    lock = threading.Lock()

    def work(items):
        w = Conn(base, ca)
        for login, secret in items:
            t = time.monotonic()
            st, data, _ = w.req("POST", "/download/p12", {
                "login": login, "secret": secret, "password": "Dl-pass-word 42!",
                "device": "other", "format": fmt})
            if st != 200 or len(data) < 200:
                raise RuntimeError(f"download: {st} {data[:200]}")
            with lock:
                took.append(time.monotonic() - t)
    t0 = time.monotonic()
    parallel(work, creds, threads)
    wall = time.monotonic() - t0
    print(f"{sum(took) / len(took) * 1000:.1f} {wall:.3f}")


if __name__ == "__main__":
    cmds = {"singles": cmd_singles, "batch": cmd_batch, "revoke": cmd_revoke,
            "revoke_burst": cmd_revoke_burst, "p12": cmd_p12}
    cmds[sys.argv[1]](*sys.argv[2:])
