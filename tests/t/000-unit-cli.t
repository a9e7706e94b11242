#!/usr/bin/env bash
# Unit tests (C, TAP): see tests/unit/test_cli.c
exec "${PGCARRY_UNIT_DIR:-$(dirname "$0")/../../build/tests}/test_cli"
