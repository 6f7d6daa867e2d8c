/* pages: the route tables of the web pages (one file per screen family), which main.c hands
 * to ra_http_add_routes.  The frame they share is ui.h; they call the store and the
 * functions the JSON API uses (api.h), never SQL. */
#ifndef RA_PAGES_H
#define RA_PAGES_H

#include <stddef.h>
#include "buf.h"
#include "download.h"
#include "http.h"
#include "store.h"
#include "ui.h"

/* page_login.c: /login, /logout */
extern const ra_route ra_page_login_routes[];
extern const size_t ra_page_login_nroutes;
/* page_dash.c: /ui (dashboard) */
extern const ra_route ra_page_dash_routes[];
extern const size_t ra_page_dash_nroutes;
/* page_certs.c: /ui/certs (list, search, revoke / suspend / resume), /ui/certs/{id} */
extern const ra_route ra_page_certs_routes[];
extern const size_t ra_page_certs_nroutes;
/* page_users.c: /ui/users, /ui/users/{id}, /ui/devices/{id} (issue one) */
extern const ra_route ra_page_users_routes[];
extern const size_t ra_page_users_nroutes;
/* page_bulk.c: /ui/bulk (TSV/CSV upload, preview, confirm) */
extern const ra_route ra_page_bulk_routes[];
extern const size_t ra_page_bulk_nroutes;
/* page_batches.c: /ui/batches ("issue N more"), /ui/batches/{id}, /static/batches.js */
extern const ra_route ra_page_batches_routes[];
extern const size_t ra_page_batches_nroutes;
/* page_history.c: /ui/history */
extern const ra_route ra_page_history_routes[];
extern const size_t ra_page_history_nroutes;
/* page_account.c: /ui/account (own password) */
extern const ra_route ra_page_account_routes[];
extern const size_t ra_page_account_nroutes;
/* page_settings.c: /ui/settings (administrators) */
extern const ra_route ra_page_settings_routes[];
extern const size_t ra_page_settings_nroutes;
/* page_certlogin.c: /ui/officers, /ui/officers/{id} (login certificates; administrators) */
extern const ra_route ra_page_certlogin_routes[];
extern const size_t ra_page_certlogin_nroutes;
/* page_download.c: /download (end users) */
extern const ra_route ra_page_download_routes[];
extern const size_t ra_page_download_nroutes;
/* page_renew.c: /download/renew (the users' own renewal while the window is open) */
extern const ra_route ra_page_renew_routes[];
extern const size_t ra_page_renew_nroutes;

/* The end user's pieces that page_download.c lends page_renew.c. */
/* The root CA links; the install steps per platform (the iOS profile's too). */
void ra_page_dl_ca_links(ra_page *p);
void ra_page_dl_install(ra_page *p);
/* The new .p12 password (the settings' policy, strength hint) and its confirmation. */
void ra_page_dl_new_password(ra_page *p);
/* The device select and, for iPhone/iPad, the choice profile (profile=1) or .p12. */
void ra_page_dl_device(ra_page *p, const char *chosen, int profile);
/* The form's "file" for device into *profile; 0 for a value that is neither. */
int ra_page_dl_file_kind(const ra_req *r, const char *device, int *profile);
/* The catalog key for a policy refusal's why (pw.<rule>, else dl.weak; key is storage). */
const char *ra_page_dl_policy_key(const ra_req *r, const char *why, char *key, size_t keysz);
/* The HTTP status and message key of a refused download outcome. */
void ra_page_dl_outcome(ra_dl_outcome o, unsigned *status, const char **key);
/* The reply: the .p12 named name, or (profile) the .mobileconfig carrying it. */
void ra_page_dl_send(ra_req *r, const ik_buf *p12, const char *name, int profile);

/* Helpers the pages share (page_common.c). */
/* The state of a certificate as a badge. */
void ra_page_cert_state(ra_page *p, ra_cert_state st);
/* One row of a certificate table: [checkbox "id"], common name (link), state, serial,
 * issued, expires, device (link).  The header is ra_page_cert_head's. */
void ra_page_cert_row(ra_page *p, const ra_cert *c, int select);
/* A plain header for those rows (no sort links). */
void ra_page_cert_head(ra_page *p, int select);
/* The operation history entries as a table. */
void ra_page_history_table(ra_page *p, const ra_history_entry *rows, size_t n);
/* The {id} path segment as a positive number; otherwise a 400 page and 0. */
int ra_page_path_id(ra_req *r, int64_t *id);
/* A form field as a positive number (0 when absent or malformed). */
int64_t ra_page_form_id(const ra_req *r, const char *name);
/* page_batches.c: a batch's progress bar (batches.js moves it while the batch runs), its
 * state as a badge, and the script with a refresh for browsers without it. */
void ra_page_batch_live(ra_page *p, const ra_batch *b, uint64_t planned);
void ra_page_batch_state(ra_page *p, ra_batch_state st);
void ra_page_batch_script(ra_page *p, int running);
/* A store failure as an error page. */
void ra_page_store_error(ra_req *r, ik_status st);

#endif
