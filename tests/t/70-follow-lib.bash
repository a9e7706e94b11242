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
