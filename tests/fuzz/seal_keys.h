/* Fixed test-only keys (public: made for this file, they protect nothing) shared by
 * tests/fuzz/fuzz_seal.c and the seed-corpus check in tests/unit/test_batch_seal.c: the
 * batch envelope key (RSA-3072), the content key and batch id, and the two device keys
 * the seeds in tests/fuzz/corpus/fuzz_seal were sealed from (fuzz_seal -gen_seeds). */
#ifndef IK_FUZZ_SEAL_KEYS_H
#define IK_FUZZ_SEAL_KEYS_H

#include <stdint.h>

#define FZS_BATCH 42

static const uint8_t FZS_CEK[32] = {
	0x49, 0x4b, 0x42, 0x32, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e,
	0x74, 0x20, 0x6b, 0x65, 0x79, 0x20, 0x28, 0x74, 0x65, 0x73, 0x74, 0x20, 0x6f, 0x6e, 0x6c, 0x79,
};

static const char FZS_ENVELOPE_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIG/AIBADANBgkqhkiG9w0BAQEFAASCBuYwggbiAgEAAoIBgQDRL3MVuglMCsY6\n"
	"qMpCKjAvumIw7tSz2QRQmaeB5qwBwfwRz3RXBa5B/c8p3ekgoD6TJoUixBkn/aGK\n"
	"uoh//MT4+edhUzPwMuvKnaTIaPHUPsSIJgv/RIZRDCh4xwxbtUVfWunB/zHc+GB9\n"
	"DOKxuLQ0AuXWBH6aK/Hzar6AlFKG4rnxk7KrNR3RGtQ9FY4Ziw2CkgM8MFNcahDR\n"
	"lPrKMvFoWsP8IcGpWyOwoN4NNpu9EMvqJv751HZ9zTVmk5c3lDIcz5ZNiGJcLior\n"
	"G/om2QF/cnGIQFvNbTsq/j4motJ9wIjEFdZyGsh+B3pm8rrAX+ndQoVZfXKtxapm\n"
	"RZWvoq/kteucfZ81NDfPMIWFz/U7R8PhxmrWmI3uGmgFEia8VuvxC06qEHzs5+Gm\n"
	"7YeiZ2EeC73c014ofksq99OwZ3dmKlZU+bHZbNMMfXh8t68jQ7OP7aL5jnGgYDbw\n"
	"WNevUvorJFWGzlG46KAl+lZdW4Aa+3XCPIAm8IV0yYAD0QIbb6kCAwEAAQKCAYAG\n"
	"iXUPOMERn0SSkLPBXZAj7a8j2FLNS/rWifayGINHishVxiXcklDfvw66QDUIz/kk\n"
	"oA+JBpfCqCpkK3AYj82X+jdA01jMKMs1ibeci6sC9vMtTgMR9xI7diXNoGrCcue4\n"
	"Ex868L6eKSTaw4xSAXOgLHcCOSG7r6Pf93X8jqYFkRA+fF8Y+o/z+OKpBgNqyO2j\n"
	"Juzy9I+mU6oy4nTz3KOunyeAuY1TvYVf/6bwwsQbJGs65f0R0ZHiXIdOrU4MbpUT\n"
	"ysPwy5db1ZaZgu1NGCJU1GQFPthjY7sfEYTQRW3Ya4nznZb7FWf5LCl2lx5JGDfg\n"
	"5EqfD+EH9aOXl2O/iWqMuvfl0gMmx98brma//BLnuu78sCKtp00VZlsYLs6zDjMR\n"
	"RnYvwoQA4JPo+/TpTZjbT+y3At1tlMxguq+X+d+cmtXMkro++VhqtNZXHP7lK+5s\n"
	"roau7u1nj6P6/oKpOcFzPYvFGaKRMsYMOEID6+fbywWFla9NIw1PjG6+hbxZgAEC\n"
	"gcEA/f0Xw1QOWy/if2SCcJ80MVSFuIHwTE92q/goicCqaXfjiBj3MwNuxiXkKK9T\n"
	"xfzfhVazp1hUCfcZsqPUix8mCANGTyzKHb5WV0dvl1SYjbOmtblXPlMYbxBIVhlp\n"
	"bMpA+SD11NwEz3h+PRCqp0JlY57vC8rwPjnr/kPZdPU/NaQRNcHqM6B+3gB0W1C9\n"
	"oSRPv4+DPAuOX09xGb5otRzo40xaphjFzvWGXQ4JNqGkmE4Z1HMNkjCs0B8x+4a2\n"
	"D2hlAoHBANLXhxhDTxNf+ciGnbWL369G0JtitzmZ9CVxmWOaZFkcWVcLjCmK9+Vd\n"
	"QeYwyvOS6zRmYUbVG6j5HwxCVkbeRxgCETQTtf4VJQY4yCIhADPZRjgpJ98GHeic\n"
	"D9274RPv5wi5ag4d/7DcyjfhIFLUtp1TzfMV39v9IHvR7+ZDRWE3+DIm7W9ZZ6zU\n"
	"4qL8MTzE8Ly/tA7PWHFvVIJKugKou6f4GowIlo9IMekihaD8YoxRMdpi1jp0ilFy\n"
	"hKm68CR79QKBwBIbONZz55IYl8z9HU9qCg56OA4vNTI7d/pKdplbYsqiAVZycSzx\n"
	"0bPOf7VmylIS9NxMkgIcCeGr++kAROamEdAAa8K5Lq9wIjeWoB3pqfZwGDJcRBvt\n"
	"UJCaWI3Kwfk/ceJQtzW1eaJQtK8lwQSrdw7jBaeRkA7fkjNOIvJziU4JpDBw4oFL\n"
	"r7+jyKe52crjC8xcLr7ZFA03XJi5Oj2vEesiRlQQ8AkQ98MqfP2oCFPTPYQnr4/8\n"
	"aFVt4+JKeDAhAQKBwB/E8As84SZnOMj5V7wqRlsvzXEMb9VTGFGoC1fRxLsUpXWT\n"
	"PNxpny7FXY+k3H/VLHGp15CHvfI5D2+Wc0+cYJQCg7sYGT0ezIRie+2AkXo+i/Ec\n"
	"anCViF4rXcyoaaLKbEKJRay44nUw35uJ5Yf1m0qbfRXavu9z9bgSixZkHokmmNRd\n"
	"vzse+ps1PK0YWQbyGeAm9qegoI//GXnEbsDF0fjeTom5JY6Tb0nUtNPsE6FW/q8M\n"
	"Y4FNXCYnnkvA6jxlHQKBwGn8Gxg9CYIATiE/G4Cb8FiAoi6ZgneiCANVMt3WDIX/\n"
	"1nX3A69c8CNhW7mjiC2YU/2EPLcgo+dxFDVJ8xJefaOZV8K8qL/XvZCsm8v8uMil\n"
	"YkX8UUQvff+YFOdD2T48/KVXp0FN5UVb5HMaLCih1N8WRB1hVw/bcFIEMg55dQij\n"
	"Mwxa5+8mRfvYWBxgpiIntoRf/f1aRQ/2JmrWaZZ+6VY8TjUbjiILwuQlZRQX3XaO\n"
	"9w+SzCe+30xew2xBNQxZPg==\n"
	"-----END PRIVATE KEY-----\n";

static const char FZS_DEVICE_P256_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgra6cJhYNMTrFg884\n"
	"3wXwdkanTGoKJDv5U69ooXaNPmqhRANCAASJgh8Z9wjBhFwNPrU4nZx1T6eCULMV\n"
	"8mfBz9Qgd7uDDfcVTp9r3QSJidZDWc4k0L52u76Frjv428gUDV+05+O9\n"
	"-----END PRIVATE KEY-----\n";

static const char FZS_DEVICE_P384_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDA4Kro7ulrf6FJ1uNeX\n"
	"PsuM8la1GxbxEa8LcRrwks39q/qAhXozOjXs9aBwP+P5kvuhZANiAASrOwvDNDLf\n"
	"taoGtE3kTJILdiG3KsuuzCdAiroK1IM09y0i5w2Nkb5Sc+/+hQVmxhQz2OhwHCIQ\n"
	"sRH38xb3H/upKz54fcFfw9yKv540t0z2bgN/hK34+L0V4THrUh6P5Ss=\n"
	"-----END PRIVATE KEY-----\n";

#endif
