#!/usr/bin/env bash
# lockexec against a real server: short transactions with SET LOCAL
# timeouts, retries while an application transaction holds a lock, the
# blocking session named when the budget runs out, statements that cannot
# run in a transaction.  The C side is tests/unit/test_schema.c (lockexec).
source "$(dirname "$0")/../lib/harness.sh"

pg_start db
PGCARRY_TEST_URI="$(pg_uri db)" "$UNIT_DIR/test_schema" lockexec
