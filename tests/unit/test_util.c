/* test_util.c: backoff arithmetic, row checksums, buffers, errors. */
#include "tap.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/rowhash.h"

#include <stdlib.h>
#include <string.h>

static void
test_backoff(void)
{
	TAP_EQ_INT(backoff_delay_ms(0, 100, 5000, 0), 50, "attempt 0, lowest jitter: half of base");
	TAP_EQ_INT(backoff_delay_ms(0, 100, 5000, 50), 100, "attempt 0, highest jitter: base");
	TAP_EQ_INT(backoff_delay_ms(3, 100, 5000, 0), 400, "attempt 3: ceiling 800, floor 400");
	TAP_EQ_INT(backoff_delay_ms(3, 100, 5000, 400), 800, "attempt 3: at most 800");
	TAP_EQ_INT(backoff_delay_ms(20, 100, 5000, 0), 2500, "capped: floor is half the cap");
	TAP_EQ_INT(backoff_delay_ms(60, 100, 5000, 2500), 5000, "capped: never above the cap");
	bool in_range = true;
	for (int a = 0; a < 40; a++)
		for (int i = 0; i < 50; i++)
		{
			int64_t d = backoff_delay_ms(a, 250, 4000, backoff_random());
			if (d < 125 || d > 4000)
				in_range = false;
		}
	TAP_OK(in_range, "random delays stay within [base/2, cap]");
	TAP_EQ_INT(backoff_delay_ms(2, 0, 100, 7), 0, "zero base means no wait");
}

static void
test_rowhash(void)
{
	rowhash a, b;
	rowhash_init(&a);
	rowhash_init(&b);
	rowhash_add(&a, "1\tx\n", 4);
	rowhash_add(&a, "2\ty\n", 4);
	rowhash_add(&b, "2\ty\n", 4);
	rowhash_add(&b, "1\tx\n", 4);
	TAP_OK(rowhash_equal(&a, &b), "order does not matter");
	rowhash_add(&a, "1\tx\n", 4);
	rowhash_add(&b, "3\tz\n", 4);
	TAP_OK(!rowhash_equal(&a, &b), "a duplicate row differs from another row");
	rowhash c;
	rowhash_init(&c);
	rowhash_add(&c, "1\tx\n", 4);
	rowhash_add(&c, "1\tx\n", 4);
	rowhash d;
	rowhash_init(&d);
	TAP_OK(!rowhash_equal(&c, &d), "two equal rows do not cancel out");

	rowhash p1, p2, whole;
	rowhash_init(&p1);
	rowhash_init(&p2);
	rowhash_init(&whole);
	rowhash_add(&p1, "a\n", 2);
	rowhash_add(&p2, "b\n", 2);
	rowhash_add(&whole, "b\n", 2);
	rowhash_add(&whole, "a\n", 2);
	rowhash_merge(&p1, &p2);
	TAP_OK(rowhash_equal(&p1, &whole), "parts merge into the whole");

	char hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(&whole, hex);
	TAP_EQ_INT(strlen(hex), 32, "hex is 32 digits");
	rowhash back;
	rowhash_init(&back);
	back.rows = whole.rows;
	TAP_EQ_INT(rowhash_parse_hex(&back, hex), 0, "hex parses");
	TAP_OK(rowhash_equal(&back, &whole), "hex round trip");
	TAP_EQ_INT(rowhash_parse_hex(&back, "xyz"), -1, "bad hex refused");

	rowhash_lines l;
	rowhash_lines_init(&l);
	rowhash_lines_feed(&l, "a\nb", 3);
	rowhash_lines_feed(&l, "\n", 1);
	TAP_OK(rowhash_equal(&l.hash, &whole), "lines split across feeds hash like rows");
	rowhash_lines_feed(&l, "tail", 4);
	TAP_EQ_INT(rowhash_lines_pending(&l), 4, "unterminated tail is pending");
	rowhash_lines_free(&l);
}

static void
test_buf_err(void)
{
	buf_t b = {0};
	buf_printf(&b, "%s-%d", "x", 42);
	buf_puts(&b, "!");
	TAP_EQ_STR(b.data, "x-42!", "buf_printf and buf_puts");
	char *s = buf_steal(&b);
	TAP_EQ_INT(b.len, 0, "steal empties the buffer");
	free(s);

	pgc_err e = PGC_ERR_INIT;
	err_set(&e, "first %d", 1);
	err_set(&e, "second");
	TAP_EQ_STR(e.message, "first 1", "the first error sticks");
	TAP_EQ_INT(e.exit_status, EXIT_FAIL, "default exit status is failure");
	err_prefix(&e, "table %s: ", "t");
	TAP_EQ_STR(e.message, "table t: first 1", "prefix");
	err_clear(&e);
	TAP_OK(!e.set, "clear empties");
}

int
main(void)
{
	test_backoff();
	test_rowhash();
	test_buf_err();
	return TAP_DONE();
}
