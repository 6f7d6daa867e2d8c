/* mail: the sender thread and the RA's mail-signing identity.
 *
 * Identity: at the first start the RA makes an EC P-256 key in a 0600 file beside its
 * config ([mail] key) and asks the signer (ISSUE, [mail] profile, a usage = email profile)
 * for a certificate whose CN is [mail] from; it is kept in [mail] cert.  The request id is
 * derived from the key and the day, so a retry after a crash gets the same certificate.
 * It is asked again when the certificate is missing, does not match the key, or has run
 * out.  Until there is one, mails wait in the queue.
 *
 * Rotation (ra_mailer_rotate, run by the scheduler): at two thirds of the certificate's
 * life the RA makes a new key, has the signer issue its certificate, writes both beside
 * the old ones and renames them into place (key first: a crash in between leaves a key
 * whose certificate the next start asks for again, under the same request id), and only
 * then swaps the identity the sender signs with.  Until the swap the old one signs; if any
 * step fails the old one stays and the next run tries again.  Never unsigned.
 *
 * Sending: claim the oldest due mail, compose and sign it, run the sendmail command with
 * the message on stdin (fork/exec, no shell), mark it sent — or put it back with a delay
 * doubling from retry_min to retry_max.  A mail is never dropped. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "mail.h"
#include "publish.h"
#include "signer_client.h"

extern char **environ;

#define MAIL_IDLE_MS 1000
#define IDENTITY_RETRY 30          /* seconds between tries to get the signing certificate */
#define OUTPUT_KEEP 400            /* bytes of the command's output kept for last_error */

struct ra_mailer {
	ra_app *app;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	pthread_mutex_t idlock;    /* id and identity_until: the sender signs, rotation swaps */
	ra_mail_identity id;
	int64_t identity_next;     /* next try to load/obtain it */
	int64_t identity_until;    /* its end: obtain a new one from here on */
	atomic_uint_fast64_t sent, failed;
	atomic_int identity_ok;
};

int ra_mail_enabled(const ra_app *app)
{
	return app != NULL && app->cfg != NULL && app->cfg->mail.from[0] != '\0';
}

/* ---- the sendmail command ---- */

static void child(char *const argv[], int in_fd, int out_fd, const sigset_t *mask)
{
	/* only async-signal-safe calls between fork and exec */
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	close_range(3, ~0u, 0);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(argv[0], argv, environ);
	_exit(127);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's I/O until it exits or the deadline passes: msg into in_fd (closed when all
 * is written), its output into keep.  *off gets how much was written.  1 when it exited
 * (*status), 0 on timeout or a poll failure (the child is then killed and reaped). */
typedef struct pump {
	pid_t pid;
	int in_fd, out_fd;
	const uint8_t *msg;
	size_t len, off;
	char keep[OUTPUT_KEEP + 1];
	size_t kept;
} pump;

static void pump_read(pump *p)
{
	char buf[512];
	ssize_t r = read(p->out_fd, buf, sizeof(buf));

	if (r <= 0) {
		close(p->out_fd);
		p->out_fd = -1;
		return;
	}
	if ((size_t)r > OUTPUT_KEEP - p->kept)
		r = (ssize_t)(OUTPUT_KEEP - p->kept);
	memcpy(p->keep + p->kept, buf, (size_t)r);
	p->kept += (size_t)r;
}

static void pump_write(pump *p)
{
	ssize_t w = write(p->in_fd, p->msg + p->off, p->len - p->off);

	if (w > 0)
		p->off += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) || p->off == p->len) {
		close(p->in_fd);
		p->in_fd = -1;
	}
}

static int pump_run(pump *p, int64_t deadline, int *status)
{
	for (;;) {
		struct pollfd fds[2];
		int nfds = 0;
		int64_t left = deadline - mono_ms();

		if (left <= 0)
			break;
		if (p->out_fd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
		if (p->in_fd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = p->in_fd, .events = POLLOUT };
		if (nfds == 0) {   /* both pipes done: wait for the exit */
			if (waitpid(p->pid, status, WNOHANG) == p->pid)
				return 1;
			(void)poll(NULL, 0, 20);
			continue;
		}
		if (poll(fds, (nfds_t)nfds, left > 1000 ? 1000 : (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nfds; i++) {
			if (fds[i].revents == 0)
				continue;
			if (fds[i].fd == p->out_fd)
				pump_read(p);
			else if (fds[i].fd == p->in_fd)
				pump_write(p);
		}
	}
	kill(p->pid, SIGKILL);
	(void)waitpid(p->pid, status, 0);
	return 0;
}

ik_status ra_sendmail_run(char *const argv[], const uint8_t *msg, size_t len,
    unsigned timeout_s, char *why, size_t whysz)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, status = 0;
	sigset_t block, old;
	pump p;
	ik_status st = IK_ERR_IO;

	why[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.in_fd = p.out_fd = -1;
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(why, whysz, "pipe: %s", strerror(errno));
		goto out;
	}
	/* a write to a command that quit must not kill the RA: SIGPIPE blocked meanwhile */
	pthread_sigmask(SIG_BLOCK, &block, &old);
	p.pid = fork();
	if (p.pid == 0)
		child(argv, in[0], out[1], &old);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (p.pid < 0) {
		snprintf(why, whysz, "fork: %s", strerror(errno));
		goto restore;
	}
	p.in_fd = in[1];
	p.out_fd = out[0];
	in[1] = out[0] = -1;
	p.msg = msg;
	p.len = len;
	(void)fcntl(p.in_fd, F_SETFL, O_NONBLOCK);
	if (len == 0) {
		close(p.in_fd);
		p.in_fd = -1;
	}
	if (!pump_run(&p, mono_ms() + (int64_t)timeout_s * 1000, &status)) {
		snprintf(why, whysz, "%s did not finish within %u s (killed)", argv[0], timeout_s);
		goto restore;
	}
	p.keep[p.kept] = '\0';
	for (size_t i = 0; i < p.kept; i++)
		if ((unsigned char)p.keep[i] < 0x20 || p.keep[i] == 0x7f)
			p.keep[i] = ' ';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && p.off == len)
		st = IK_OK;
	else if (WIFEXITED(status))
		snprintf(why, whysz, "%s exited with status %d%s%s", argv[0], WEXITSTATUS(status),
		    p.kept ? ": " : "", p.keep);
	else
		snprintf(why, whysz, "%s ended by signal %d", argv[0],
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
restore:
	{
		struct timespec zero = { 0, 0 };
		sigset_t pending;
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&block, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (p.in_fd >= 0)
		close(p.in_fd);
	if (p.out_fd >= 0)
		close(p.out_fd);
	return st;
}

/* ---- the signing identity ---- */

static void identity_clear(ra_mail_identity *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	memset(id, 0, sizeof(*id));
}

/* The key file: made (0600, O_EXCL) when missing; refused when others may read it. */
static ik_status key_load(const char *path, EVP_PKEY **out)
{
	struct stat sb;
	FILE *f;
	int fd;
	EVP_PKEY *k;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
			return IK_ERR_CRYPTO;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
			ik_log(LOG_ERR, "mail: cannot create the signing key %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			EVP_PKEY_free(k);
			return IK_ERR_IO;
		}
		if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
		    fsync(fileno(f)) != 0) {
			fclose(f);
			unlink(path);
			EVP_PKEY_free(k);
			return IK_ERR_IO;
		}
		fclose(f);
		ik_log(LOG_NOTICE, "mail: made the mail-signing key %s", path);
		*out = k;
		return IK_OK;
	}
	if (fd < 0) {
		ik_log(LOG_ERR, "mail: cannot open the signing key %s: %s", path, strerror(errno));
		return IK_ERR_IO;
	}
	if (fstat(fd, &sb) != 0 || (sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
		ik_log(LOG_ERR, "mail: %s must be owned by the RA's user and not readable by group "
		    "or others (chmod 600)", path);
		close(fd);
		return IK_ERR_CONFIG;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return IK_ERR_IO;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		ik_log(LOG_ERR, "mail: %s is not a PEM private key", path);
		return IK_ERR_CONFIG;
	}
	*out = k;
	return IK_OK;
}

static X509 *cert_load(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static int64_t cert_end(const X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static int64_t cert_start(const X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The certificate is ours: our key, the from address as rfc822Name, not run out. */
static int cert_good(const ra_mailer *m, X509 *x, EVP_PKEY *k, int64_t now)
{
	return x != NULL && X509_check_private_key(x, k) == 1 &&
	    X509_check_email(x, m->app->cfg->mail.from, 0, 0) == 1 && cert_end(x) > now;
}

/* PEM of x (and of k when not NULL) written beside path as path.new (0600 for the key),
 * synced, then renamed into place: the key first. */
static ik_status pem_save(const char *path, EVP_PKEY *k, X509 *x)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, k != NULL ? 0600 : 0644);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return IK_ERR_IO;
	}
	if ((k != NULL ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_X509(f, x)) != 1 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return IK_ERR_IO;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return IK_ERR_IO;
	}
	return IK_OK;
}

static ik_status cert_issue(ra_mailer *m, EVP_PKEY *k, int64_t now, X509 **out)
{
	const ra_mail_config *mc = &m->app->cfg->mail;
	uint8_t *spki = NULL, digest[32], day[8];
	unsigned dlen = 0;
	int n;
	proto_issue req;
	proto_issue_reply rep;
	proto_error err;
	ik_buf reply;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const uint8_t *p;
	ik_status st = IK_ERR_CRYPTO;

	*out = NULL;
	memset(&req, 0, sizeof(req));
	memset(&err, 0, sizeof(err));
	ik_buf_init(&reply, PROTO_MAX_REPLY);
	if ((n = i2d_PUBKEY(k, &spki)) <= 0 || md == NULL)
		goto out;
	for (int i = 0; i < 8; i++)
		day[i] = (uint8_t)((uint64_t)(now / 86400) >> (56 - 8 * i));
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, "inkan-rad mail-signing", 22) != 1 ||
	    EVP_DigestUpdate(md, spki, (size_t)n) != 1 || EVP_DigestUpdate(md, day, 8) != 1 ||
	    EVP_DigestFinal_ex(md, digest, &dlen) != 1)
		goto out;
	for (int i = 0; i < 16; i++)
		snprintf(req.request_id + 2 * i, 3, "%02x", digest[i]);
	snprintf(req.profile, sizeof(req.profile), "%s", mc->profile);
	req.spki = spki;
	req.spki_len = (size_t)n;
	req.nattrs = 1;
	req.attrs[0].type = PROTO_ATTR_CN;
	if (strlen(mc->from) >= sizeof(req.attrs[0].value)) {
		st = IK_ERR_CONFIG;
		goto out;
	}
	memcpy(req.attrs[0].value, mc->from, strlen(mc->from) + 1);
	req.not_after = (uint64_t)now + (uint64_t)mc->cert_days * 86400u;
	if (m->app->signer == NULL) {
		st = IK_ERR_IO;
		goto out;
	}
	if ((st = ra_signer_issue(m->app->signer, &req, &reply, &rep, &err)) != IK_OK) {
		ik_log(LOG_WARNING, "mail: the signer did not issue the mail-signing certificate "
		    "(profile %s, CN %s): %s %s", mc->profile, mc->from, ik_status_str(st), err.detail);
		goto out;
	}
	p = rep.cert;
	if ((*out = d2i_X509(NULL, &p, (long)rep.cert_len)) == NULL) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	ik_log(LOG_NOTICE, "mail: the signer issued a mail-signing certificate for %s", mc->from);
	st = IK_OK;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(spki);
	ik_buf_cleanup(&reply);
	return st;
}

static ik_status chain_load(ra_mailer *m, STACK_OF(X509) **out)
{
	ik_buf der;
	unsigned count = 0;
	const uint8_t *p;
	X509 *x;
	ik_status st;

	*out = NULL;
	if (m->app->publish == NULL)
		return IK_ERR_IO;
	ik_buf_init(&der, 64 * 1024);
	if ((st = ra_publish_ca(m->app->publish, 0, &der, &count)) != IK_OK &&
	    (st = ra_publish_refresh(m->app->publish)) == IK_OK)
		st = ra_publish_ca(m->app->publish, 0, &der, &count);
	if (st == IK_OK) {
		p = ik_buf_ptr(&der);
		x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&der));
		if (x == NULL || (*out = sk_X509_new_null()) == NULL || !sk_X509_push(*out, x)) {
			X509_free(x);
			st = IK_ERR_CRYPTO;
		}
	}
	ik_buf_cleanup(&der);
	return st;
}

/* Loads or obtains the identity; IK_OK when one is ready. */
static ik_status identity_ensure(ra_mailer *m, int64_t now)
{
	ra_mail_identity id;
	ik_status st;

	if (m->id.cert != NULL && now < m->identity_until)
		return IK_OK;
	if (now < m->identity_next)
		return IK_ERR_HSM_UNAVAILABLE;
	m->identity_next = now + IDENTITY_RETRY;
	memset(&id, 0, sizeof(id));
	if ((st = key_load(m->app->cfg->mail.key, &id.key)) != IK_OK)
		goto fail;
	id.cert = cert_load(m->app->cfg->mail.cert);
	if (!cert_good(m, id.cert, id.key, now)) {
		X509 *fresh = NULL;
		if ((st = cert_issue(m, id.key, now, &fresh)) != IK_OK) {
			if (id.cert == NULL || X509_check_private_key(id.cert, id.key) != 1 ||
			    cert_end(id.cert) <= now)
				goto fail;
			/* renewal failed: keep signing with the old one while it is valid */
		} else {
			X509_free(id.cert);
			id.cert = fresh;
			if (pem_save(m->app->cfg->mail.cert, NULL, fresh) != IK_OK)
				/* usable in memory; the next start asks again */
				ik_log(LOG_ERR, "mail: cannot write %s: %s", m->app->cfg->mail.cert,
				    strerror(errno));
		}
	}
	if ((st = chain_load(m, &id.chain)) != IK_OK)
		goto fail;
	identity_clear(&m->id);
	m->id = id;
	m->identity_until = cert_end(id.cert);
	atomic_store(&m->identity_ok, 1);
	return IK_OK;
fail:
	identity_clear(&id);
	if (m->id.cert != NULL && cert_end(m->id.cert) > now)
		return IK_OK; /* the old one still signs */
	atomic_store(&m->identity_ok, 0);
	return st == IK_OK ? IK_ERR_HSM_UNAVAILABLE : st;
}

/* ---- rotation ---- */

static void serial_text(const X509 *x, char *out, size_t outsz)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(out, outsz, "%s", hex != NULL ? hex : "?");
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	OPENSSL_free(hex);
	BN_free(bn);
}

/* A new key, its certificate and the chain, saved into place; *out gets the identity. */
static ik_status identity_new(ra_mailer *m, int64_t now, ra_mail_identity *out)
{
	const ra_mail_config *mc = &m->app->cfg->mail;
	ra_mail_identity id;
	ik_status st;

	memset(&id, 0, sizeof(id));
	if ((id.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	if ((st = cert_issue(m, id.key, now, &id.cert)) != IK_OK ||
	    (st = chain_load(m, &id.chain)) != IK_OK)
		goto out;
	if ((st = pem_save(mc->key, id.key, NULL)) != IK_OK ||
	    (st = pem_save(mc->cert, NULL, id.cert)) != IK_OK) {
		ik_log(LOG_ERR, "mail: cannot write the new signing key/certificate (%s, %s): %s",
		    mc->key, mc->cert, strerror(errno));
		goto out;
	}
	*out = id;
	memset(&id, 0, sizeof(id));
out:
	identity_clear(&id);
	return st;
}

ik_status ra_mailer_rotate(ra_mailer *m, int64_t now, int *rotated)
{
	ra_mail_identity fresh, old;
	char was[80], is[80], detail[256];
	int64_t from, until;
	ik_status st;

	*rotated = 0;
	pthread_mutex_lock(&m->idlock);
	from = m->id.cert != NULL ? cert_start(m->id.cert) : 0;
	until = m->id.cert != NULL ? cert_end(m->id.cert) : 0;
	if (m->id.cert != NULL)
		serial_text(m->id.cert, was, sizeof(was));
	pthread_mutex_unlock(&m->idlock);
	/* none yet (the sender obtains the first), or not two thirds through its life */
	if (until == 0 || until <= from || now < from + (until - from) / 3 * 2)
		return IK_OK;
	if ((st = identity_new(m, now, &fresh)) != IK_OK) {
		ik_log(LOG_WARNING, "mail: rotating the signing certificate %s (valid until %lld) "
		    "failed: %s; it keeps signing, tried again later", was, (long long)until,
		    ik_status_str(st));
		return st;
	}
	serial_text(fresh.cert, is, sizeof(is));
	pthread_mutex_lock(&m->idlock);
	old = m->id;
	m->id = fresh;
	m->identity_until = cert_end(fresh.cert);
	pthread_mutex_unlock(&m->idlock);
	identity_clear(&old);
	atomic_store(&m->identity_ok, 1);
	*rotated = 1;
	snprintf(detail, sizeof(detail), "{\"old_serial\":\"%s\",\"new_serial\":\"%s\","
	    "\"not_after\":%lld}", was, is, (long long)cert_end(fresh.cert));
	ik_log(LOG_NOTICE, "mail: new signing key and certificate %s (was %s)", is, was);
	if ((st = ra_history_append(m->app->store, "system", "", "mail_cert_rotated", detail)) !=
	    IK_OK)
		ik_log(LOG_ERR, "mail: cannot record the rotation in the history: %s",
		    ik_status_str(st));
	return st;
}

/* ---- the sender ---- */

static int64_t backoff(const ra_mail_config *mc, unsigned attempts)
{
	uint64_t d = mc->retry_min;

	for (unsigned i = 1; i < attempts && d < mc->retry_max; i++)
		d *= 2;
	return (int64_t)(d > mc->retry_max ? mc->retry_max : d);
}

ik_status ra_mailer_step(ra_mailer *m, int64_t now)
{
	const ra_mail_config *mc = &m->app->cfg->mail;
	char buf[RA_SENDMAIL_MAX], *argv[RA_SENDMAIL_ARGS + 1], why[RA_STORE_TEXT_MAX + 1];
	ra_mail mail;
	ik_buf msg;
	ik_status st;

	pthread_mutex_lock(&m->idlock);
	if ((st = identity_ensure(m, now)) != IK_OK ||
	    (st = ra_store_mail_claim(m->app->store, now, &mail)) != IK_OK) {
		pthread_mutex_unlock(&m->idlock);
		return st;
	}
	ik_buf_init(&msg, 8u * 1024 * 1024);
	st = ra_mail_compose(&mail, mc->from, now, &m->id, &msg); /* signed, or not sent */
	pthread_mutex_unlock(&m->idlock);
	if (st != IK_OK)
		snprintf(why, sizeof(why), "cannot compose the message: %s", ik_status_str(st));
	else if ((st = ra_sendmail_argv(mc->sendmail, buf, argv)) != IK_OK)
		snprintf(why, sizeof(why), "[mail] sendmail is not a command");
	else
		st = ra_sendmail_run(argv, ik_buf_ptr(&msg), ik_buf_remaining(&msg), mc->timeout,
		    why, sizeof(why));
	if (st == IK_OK) {
		atomic_fetch_add(&m->sent, 1);
		if ((st = ra_store_mail_sent(m->app->store, mail.id, now)) != IK_OK)
			ik_log(LOG_ERR, "mail %lld: handed to the command but cannot be marked sent (%s); "
			    "it goes out again after a restart with the same Message-ID",
			    (long long)mail.id, ik_status_str(st));
	} else {
		int64_t at = now + backoff(mc, mail.attempts);
		atomic_fetch_add(&m->failed, 1);
		ik_log(LOG_WARNING, "mail %lld (%s, attempt %u): %s; next try in %lld s",
		    (long long)mail.id, mail.kind, mail.attempts, why, (long long)(at - now));
		if (ra_store_mail_retry(m->app->store, mail.id, why, at) != IK_OK)
			ik_log(LOG_ERR, "mail %lld: cannot record the failure", (long long)mail.id);
		st = IK_ERR_IO;
	}
	ra_mail_clear(&mail);
	ik_buf_cleanup(&msg);
	return st;
}

static void *sender(void *arg)
{
	ra_mailer *m = arg;

	for (;;) {
		ik_status st;

		pthread_mutex_lock(&m->lock);
		if (m->stopping) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		pthread_mutex_unlock(&m->lock);
		st = ra_mailer_step(m, (int64_t)time(NULL));
		(void)ra_store_thread_reset(m->app->store);
		if (st == IK_OK)
			continue;
		pthread_mutex_lock(&m->lock);
		if (!m->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += MAIL_IDLE_MS / 1000;
			pthread_cond_timedwait(&m->wake, &m->lock, &ts);
		}
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

ik_status ra_mailer_start(ra_app *app, ra_mailer **out)
{
	ra_mailer *m;
	size_t n = 0;
	ik_status st;

	*out = NULL;
	if (!ra_mail_enabled(app))
		return IK_OK;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return IK_ERR_NOMEM;
	m->app = app;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->idlock, NULL);
	pthread_cond_init(&m->wake, NULL);
	if ((st = ra_store_mail_recover(app->store, &n)) != IK_OK) {
		ra_mailer_stop(m);
		return st;
	}
	if (n > 0)
		ik_log(LOG_WARNING, "mail: %zu mail(s) were being handed to the sendmail command when "
		    "the RA stopped; sending them again with the same Message-ID", n);
	if (pthread_create(&m->thread, NULL, sender, m) != 0) {
		ra_mailer_stop(m);
		return IK_ERR_NOMEM;
	}
	(void)pthread_setname_np(m->thread, "ra-mail");
	m->started = 1;
	*out = m;
	return IK_OK;
}

ik_status ra_mailer_new_manual(ra_app *app, ra_mailer **out)
{
	ra_mailer *m;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return IK_ERR_NOMEM;
	m->app = app;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->idlock, NULL);
	pthread_cond_init(&m->wake, NULL);
	*out = m;
	return IK_OK;
}

void ra_mailer_stop(ra_mailer *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	if (m->started)
		pthread_join(m->thread, NULL);
	identity_clear(&m->id);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->idlock);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void ra_mailer_kick(ra_mailer *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

void ra_mailer_stats(ra_mailer *m, ra_mail_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	out->sent = atomic_load(&m->sent);
	out->failed_attempts = atomic_load(&m->failed);
	out->identity_ok = atomic_load(&m->identity_ok);
}
