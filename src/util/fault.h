/*
 * fault.h: fault injection for the test build, to prove that the tests
 * catch a lost or changed row.
 *
 * In the test build (make check-faults: -DPGCARRY_FAULTS) the environment
 * variable PGCARRY_FAULT names one fault; the code that carries a promise
 * has a one-line hook per fault:
 *
 *     FAULT_ONCE("copy-drop-row", res->hash.rows == 1) { ...skip the row... }
 *
 * FAULT_IF(name, cond) runs its statement every time cond holds and the
 * fault is the one named; FAULT_ONCE(name, cond) only the first time in the
 * process; FAULT_DO(call) makes a call that checks the fault's name
 * itself (fault_change_copy_byte).  A fault that fired appends its name to the file named by
 * PGCARRY_FAULT_LOG (when set), so that the runner (tests/lib/faults.sh)
 * knows the fault was exercised.  In every other build both macros are
 * `if (0)` and the hooks compile to nothing.
 *
 * The list of faults and the tests that must catch them is kept in
 * tests/lib/faults.sh.
 */
#ifndef PGCARRY_FAULT_H
#define PGCARRY_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef PGCARRY_FAULTS
#define FAULT_IF(name, cond) if ((cond) && fault_hit(name))
#define FAULT_ONCE(name, cond) if ((cond) && fault_once(name))
#define FAULT_DO(call) ((void) (call))
#else
#define FAULT_IF(name, cond) if (0)
#define FAULT_ONCE(name, cond) if (0)
#define FAULT_DO(call) ((void) 0)
#endif

/* True when PGCARRY_FAULT names this fault (and the build has faults);
 * records the fault as fired.  Thread-safe. */
bool fault_hit(const char *name);

/* As fault_hit, but true only the first time it would be true in this
 * process.  Thread-safe. */
bool fault_once(const char *name);

/*
 * Changes one byte of one value of a COPY row (text format, or binary when
 * binary), once per process: the last byte of the row's last non-empty
 * value, when it is an ASCII digit or letter, becomes the next one
 * ('9' -> '0', 'z' -> 'a'), so that the row stays valid input.  The first
 * message of a binary COPY (the file header before the row) is handled.
 * Returns true when it changed the row; records the fault "name" as fired
 * then.  Does nothing unless PGCARRY_FAULT names name.
 */
bool fault_change_copy_byte(const char *name, char *row, size_t len, bool binary);

#endif
