#!/usr/bin/env bash
# compare --json: one JSON document on stdout; a table that differs and has
# a primary key lists the keys of the rows that differ (on one side only,
# or different), checked against this script's own record of the rows it
# changed on the target; at most 100 keys per list, with the full count;
# a table without a primary key is reported without keys.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src shop "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
                 INSERT INTO items SELECT g, 'item ' || g, g * 1.25 FROM generate_series(1, 2000) g;
                 CREATE TABLE stock (region text, n int, qty int, PRIMARY KEY (region, n));
                 INSERT INTO stock SELECT r, g, g FROM unnest(ARRAY['eu', 'us', 'Ås']) r, generate_series(1, 50) g;
                 CREATE TABLE notes (body text);
                 INSERT INTO notes SELECT 'note ' || g FROM generate_series(1, 100) g;
                 CREATE TABLE same (id int PRIMARY KEY); INSERT INTO same SELECT generate_series(1, 10)"
# The target as pg_dump and psql make it, not pgcarry.
pg_sql dst postgres "CREATE DATABASE shop"
PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres shop \
	| PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir dst)" -p "$(pg_port dst)" -U postgres -d shop >/dev/null

run_pgcarry compare --json --source "$(pg_uri src)" --target "$(pg_uri dst)" shop
is "$RC" 0 "compare --json of equal databases exits 0"
is "$(perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>); print $d->{equal} ? "equal" : "differ", " $d->{problems} ", scalar(grep { $_->{kind} eq "table" } @{$d->{objects}})' <<<"$OUT")" \
	"equal 0 4" "equal databases: equal, no problem, every table listed"

# What this script changes on the target, and so expects to be named.
pg_sql dst shop "DELETE FROM items WHERE id IN (5, 600);
                 UPDATE items SET price = price + 1 WHERE id = 7;
                 INSERT INTO items VALUES (2001, 'extra', 1);
                 UPDATE stock SET qty = 0 WHERE region = 'Ås' AND n = 3;
                 DELETE FROM stock WHERE region = 'us' AND n = 50;
                 UPDATE notes SET body = 'changed' WHERE body = 'note 9'"
run_pgcarry compare --json --source "$(pg_uri src)" --target "$(pg_uri dst)" shop
is "$RC" 3 "compare --json with differences exits 3"
summary() {
	perl -MJSON::PP -e '
		my $d = JSON::PP->new->canonical->decode(join "", <STDIN>);
		print "equal=", ($d->{equal} ? 1 : 0), " problems=$d->{problems}\n";
		for my $o (sort { $a->{name} cmp $b->{name} } grep { $_->{kind} eq "table" } @{$d->{objects}}) {
			my $k = $o->{keys};
			my $keys = !$k ? "no keys" : join("; ", "pk=" . join(",", @{$k->{primary_key}}),
				map { my $l = $k->{$_}; "$_=$l->{count}:" . join(",", map { JSON::PP->new->canonical->encode($_) } @{$l->{keys}}) }
				qw(only_on_source only_on_target rows_differ));
			print "$o->{name} $o->{status} $o->{source}/$o->{target}: $keys\n";
		}' <<<"$1"
}
got=$(summary "$OUT")
want='equal=0 problems=3
public.items different 2000/1999: pk=id; only_on_source=2:{"id":5},{"id":600}; only_on_target=1:{"id":2001}; rows_differ=1:{"id":7}
public.notes different 100/100: no keys
public.same ok 10/10: no keys
public.stock different 150/149: pk=region,n; only_on_source=1:{"n":50,"region":"us"}; only_on_target=0:; rows_differ=1:{"n":3,"region":"Ås"}'
is "$got" "$want" "each difference named by its primary key, as this script changed them"
like "$ERR" 'table public.items differs' "the differences are also logged on stderr"

# Many differences: the count is whole, the keys stop at 100.
pg_sql dst shop "UPDATE items SET name = name || '!' WHERE id BETWEEN 1000 AND 1249"
run_pgcarry compare --json --source "$(pg_uri src)" --target "$(pg_uri dst)" shop
is "$RC" 3 "compare --json exits 3"
is "$(perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>); my ($o) = grep { $_->{name} eq "public.items" } @{$d->{objects}}; my $l = $o->{keys}{rows_differ}; print "$l->{count} ", scalar(@{$l->{keys}})' <<<"$OUT")" \
	"251 100" "251 rows differ: all counted, 100 keys listed"

run_pgcarry compare --json --bogus
is "$RC" 2 "a bad option with --json exits 2"

done_testing
