#!/usr/bin/env bash
# Unit tests (C, TAP): see tests/unit/test_ddl.c
exec "${PGCARRY_UNIT_DIR:-$(dirname "$0")/../../build/tests}/test_ddl"
