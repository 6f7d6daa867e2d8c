/* ceremony: the key-ceremony subcommands of inkan-ceremony. */
#ifndef IK_CEREMONY_H
#define IK_CEREMONY_H

#include "hsm.h"

typedef struct ceremony_demo_opts {
	const char *out;
	const char *token;
	const char *pin_file;
	const char *module;   /* NULL = default */
	hsm_keyalg alg;
	const char *org;
	const char *country;
} ceremony_demo_opts;

/* Exit status: 0 ok, 1 failure (message on stderr). */
int ceremony_demo(const ceremony_demo_opts *o);

#endif
