/* api: the route tables of the JSON API files (one per resource); main.c hands each to
 * ra_http_add_routes. */
#ifndef RA_API_H
#define RA_API_H

#include <stddef.h>
#include "http.h"

/* api_auth.c: /healthz, /api/v1/login, logout, whoami, password, tokens */
extern const ra_route ra_api_auth_routes[];
extern const size_t ra_api_auth_nroutes;

#endif
