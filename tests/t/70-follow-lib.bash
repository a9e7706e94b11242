# 70-follow-lib.bash: what the follow tests share (sourced after
# tests/lib/harness.sh).

# follow_leftovers SERVER DB: what pgcarry's follow mode could leave on a
# server, read from its catalogs: "SLOTS/OBJECTS", the replication slots of
# the whole server, then the publications, subscriptions and pgcarry helper
# schemas of database DB.
follow_leftovers() {
	echo "$(pg_sql "$1" postgres "SELECT count(*) FROM pg_replication_slots")/$(pg_sql "$1" "$2" \
		"SELECT (SELECT count(*) FROM pg_publication) + (SELECT count(*) FROM pg_subscription)
		 + (SELECT count(*) FROM pg_namespace WHERE nspname = 'pgcarry_follow')")"
}

# follow_app_schema SERVER DB: the application's tables: accounts (3000
# rows), docs (a TOASTed body the application never updates), events
# (bigserial), ledger (REPLICA IDENTITY FULL, no key), a large object.
follow_app_schema() {
	pg_psql "$1" "$2" >/dev/null <<'SQL'
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 3000) g;
CREATE TABLE docs (id int PRIMARY KEY, hits int NOT NULL DEFAULT 0, body text);
ALTER TABLE docs ALTER body SET STORAGE EXTERNAL;
INSERT INTO docs SELECT g, 0, repeat(md5(g::text), 400) FROM generate_series(1, 40) g;
CREATE TABLE events (id bigserial PRIMARY KEY, account int, what text);
CREATE TABLE ledger (account int, amount int);
ALTER TABLE ledger REPLICA IDENTITY FULL;
INSERT INTO ledger SELECT g % 50, g FROM generate_series(1, 500) g;
SELECT lo_from_bytea(0, 'a large object');
SQL
}

# follow_writer_start SERVER DB: the application, in the background: small
# transactions on every table of follow_app_schema (inserts, updates,
# deletes) until follow_writer_stop.  A transaction that fails (a fence, a
# restart) is not retried.  Sets FOLLOW_WRITER.
follow_writer_start() {
	FOLLOW_WRITER_STOP=$T_TMP/stop-writer.$RANDOM
	_follow_writer "$1" "$2" "$FOLLOW_WRITER_STOP" &
	FOLLOW_WRITER=$!
}
follow_writer_stop() {
	touch "$FOLLOW_WRITER_STOP"
	wait "$FOLLOW_WRITER"
}
_follow_writer() {
	local i=0
	while [ ! -e "$3" ]; do
		i=$((i + 1))
		pg_psql "$1" "$2" >/dev/null 2>&1 <<SQL
BEGIN;
INSERT INTO events (account, what) VALUES ($((i % 3000 + 1)), 'tick $i');
UPDATE accounts SET balance = balance - 1 WHERE id = $((i % 3000 + 1));
UPDATE accounts SET balance = balance + 1 WHERE id = $(((i * 7) % 3000 + 1));
UPDATE docs SET hits = hits + 1 WHERE id = $((i % 40 + 1));
DELETE FROM events WHERE id = (SELECT min(id) FROM events) AND $((i % 5)) = 0;
INSERT INTO ledger VALUES ($((i % 50)), $i);
UPDATE ledger SET amount = amount + 1 WHERE account = $((i % 50)) AND amount = (SELECT min(amount) FROM ledger WHERE account = $((i % 50)));
DELETE FROM ledger WHERE account = $((i % 50)) AND amount = $((i - 40));
INSERT INTO accounts VALUES ($((100000 + i)), $i);
COMMIT;
SQL
	done
}

# follow_wait COND: true once the shell condition COND holds (within 60 s).
follow_wait() {
	for _ in $(seq 1 600); do eval "$1" && return 0; sleep 0.1; done
	return 1
}

# follow_hold SERVER DB SQL: a session holding what SQL takes, in an open
# transaction, until follow_release.
follow_hold() {
	coproc HOLDER { pg_psql "$1" "$2" 2>&1; }
	echo "BEGIN; $3; SELECT 'held';" >&"${HOLDER[1]}"
	read -r -t 20 _ <&"${HOLDER[0]}"
}
follow_release() {
	echo "ROLLBACK;" >&"${HOLDER[1]}"
	exec {HOLDER[1]}>&-
	wait "$HOLDER_PID" 2>/dev/null
}

# pg_restart NAME MODE: stops server NAME (fast: clean; immediate: as a
# crash, recovered at start) and starts it again on the same port.
pg_restart() {
	as_pg "$(pg_bindir "$1")/pg_ctl" -D "$T_TMP/$1/data" -m "$2" -w stop >/dev/null 2>&1
	as_pg "$(pg_bindir "$1")/pg_ctl" -D "$T_TMP/$1/data" -l "$T_TMP/$1/server.log" -w -t 60 start >/dev/null 2>&1
}
