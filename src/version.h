/* version.h: pgcarry's version. */
#ifndef PGCARRY_VERSION_H
#define PGCARRY_VERSION_H
#define PGCARRY_VERSION "0.1.0"
#endif
