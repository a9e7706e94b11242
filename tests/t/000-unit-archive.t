#!/usr/bin/env bash
# Unit tests (C, TAP): see tests/unit/test_archive.c
exec "${PGCARRY_UNIT_DIR:-$(dirname "$0")/../../build/tests}/test_archive"
