#!/usr/bin/perl
# procsample.pl: where the CPU of a benchmark step goes, from /proc alone.
#
#   perl bench/procsample.pl OUT INTERVAL CLIENT_ROOT_PID SRC_PM_PID TGT_PM_PID \
#        [SRC_CONNINFO TGT_CONNINFO]
#
# Every INTERVAL seconds until SIGTERM, reads /proc/PID/stat (utime+stime)
# of three sets of processes:
#   - the client tree: descendants of CLIENT_ROOT_PID (pgcarry, pg_dump,
#     pg_restore, psql, ...), by program name;
#   - each server's postmaster children: backends by their process title
#     ("postgres: USER DB HOST(PORT) COPY", update_process_title), which
#     names the command running, and by the client program at the other end
#     of their TCP connection (its port, found among the client tree's
#     sockets in /proc/net/tcp); with a connection string for each server
#     (psql, $PSQL), the statement each active backend runs, from
#     pg_stat_activity at each sample, tells a COPY in (FROM STDIN) from a
#     COPY out (TO STDOUT: on the target, the verification read-back);
#     parallel workers count for their leader;
#     checkpointer, walwriter, background writer and autovacuum for
#     themselves;
# and charges each process's CPU since the previous sample to one phase
# (what it was doing: the command in its title now, or before if it is
# idle now).  On SIGTERM writes OUT, tab-separated:
#   cpu  PHASE  KIND  TICKS     CPU per phase and process kind
#   wall PHASE  SECONDS         time during which the phase used any CPU
#   seen KIND   TICKS           all CPU seen per kind (server kinds: src, tgt)
#   samples N
# CPU of processes that lived less than one interval is not seen; the
# caller compares with its own totals (rusage, the postmaster's reaped
# children) and reports the rest as such.
use strict;
use warnings;
use IPC::Open2;
use Time::HiRes qw(sleep time);

my ($out, $interval, $root, $src_pm, $tgt_pm, $src_ci, $tgt_ci) = @ARGV;
die "usage: procsample.pl OUT INTERVAL ROOT SRC_PM TGT_PM\n" unless defined $tgt_pm;

my (%last_ticks, %last_phase, %cpu, %wall, %seen, %backend_client);
my $samples = 0;
my $stop = 0;
$SIG{TERM} = sub { $stop = 1 };
$SIG{INT} = sub { $stop = 1 };

# A psql session per server, asked at each sample which statement each
# active backend runs: server -> [pid of psql, in, out, its backend pid].
my %activity_conn;
sub activity_open {
	my ($server, $ci) = @_;
	return unless defined $ci && $ci ne '';
	my $psql = $ENV{PSQL} // 'psql';
	my ($in, $outp);
	my $pid = eval { open2($outp, $in, $psql, '-X', '-q', '-At', '-F', "\t", '-d', $ci) } or return;
	$in->autoflush(1);
	print $in "SELECT pg_backend_pid();\n";
	my $me = <$outp>;
	return unless defined $me;
	chomp $me;
	$activity_conn{$server} = [$pid, $in, $outp, $me];
}
# backend pid -> its statement (blanks made one space), active ones only.
sub activity {
	my ($server) = @_;
	my %q;
	my $c = $activity_conn{$server} or return \%q;
	my ($pid, $in, $outp) = @$c;
	print $in "SELECT pid, regexp_replace(left(query, 300), '\\s+', ' ', 'g') FROM pg_stat_activity "
	  . "WHERE state = 'active' AND pid <> pg_backend_pid();\n\\echo __end__\n";
	while (defined(my $l = <$outp>)) {
		chomp $l;
		last if $l eq '__end__';
		my ($p, $query) = split /\t/, $l, 2;
		$q{$p} = $query // '' if defined $p && $p =~ /^\d+$/;
	}
	return \%q;
}

sub slurp {
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# pid -> [comm, ppid, ticks]
sub scan_procs {
	my %p;
	opendir(my $d, '/proc') or return \%p;
	while (defined(my $e = readdir $d)) {
		next unless $e =~ /^\d+$/;
		my $s = slurp("/proc/$e/stat") // next;
		next unless $s =~ /^\d+ \((.*)\) (.*)$/s;
		my ($comm, $rest) = ($1, $2);
		my @f = split ' ', $rest;
		# after "pid (comm) ": state ppid ... utime is field 14, stime 15 (1-based, whole line)
		$p{$e} = [$comm, $f[1], $f[11] + $f[12]];
	}
	closedir $d;
	return \%p;
}

# Local TCP port -> client program, for the sockets of the client tree.
sub client_ports {
	my ($procs, $clients) = @_;
	my %inode_prog;
	for my $pid (@$clients) {
		opendir(my $d, "/proc/$pid/fd") or next;
		while (defined(my $fd = readdir $d)) {
			my $l = readlink("/proc/$pid/fd/$fd") // next;
			$inode_prog{$1} = $procs->{$pid}[0] if $l =~ /^socket:\[(\d+)\]/;
		}
		closedir $d;
	}
	my %port;
	for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
		open(my $fh, '<', $f) or next;
		<$fh>;
		while (<$fh>) {
			my @c = split;
			next unless defined $c[9] && exists $inode_prog{$c[9]};
			my (undef, $lport) = split /:/, $c[1];
			$port{hex $lport} = $inode_prog{$c[9]};
		}
		close $fh;
	}
	return \%port;
}

sub client_kind {
	my ($comm) = @_;
	return 'pgcarry' if $comm =~ /^pgcarry/;
	return 'pg_dump' if $comm eq 'pg_dump';
	return 'pg_restore' if $comm eq 'pg_restore';
	return 'other clients';
}

# The phase of a backend from its command tag, server and client program.
sub backend_phase {
	my ($server, $tag, $client, $query) = @_;
	return undef if $tag =~ /^idle/ || $tag eq '';
	$tag =~ s/ waiting$//;
	if ($tag eq 'COPY') {
		my $to = defined $query && $query =~ /\bTO\s+STDOUT\b/i;
		return 'verification read-back (target)' if $server eq 'tgt' && $to;
		return $server eq 'src' ? 'data: COPY out (source)' : 'data: COPY in (target)';
	}
	return 'CREATE DATABASE' if $tag =~ /^CREATE DATABASE/;
	return 'TRUNCATE, DELETE (before a load)' if $server eq 'tgt' && $tag =~ /^(TRUNCATE|DELETE)/;
	return 'index and constraint builds' if $tag =~ /^(CREATE INDEX|ALTER TABLE|CLUSTER|REINDEX)/;
	return 'ANALYZE / VACUUM' if $tag =~ /^(ANALYZE|VACUUM)/;
	return 'materialized view refresh' if $tag =~ /^REFRESH/;
	if ($tag =~ /^(SELECT|FETCH|DECLARE CURSOR)/) {
		return 'pg_dump runs (schema reads)' if $client eq 'pg_dump' && $server eq 'src';
		# pgcarry's check of the schema it made: pg_dump of the target
		return 'verification: pg_dump of the target schema' if $client eq 'pg_dump';
		return $server eq 'tgt' ? 'verification read-back (target)' : 'reads on the source (catalog, hashing)';
	}
	return 'pre-data DDL' if $server eq 'tgt' && $tag =~ /^(CREATE|ALTER|COMMENT|GRANT|REVOKE|SET|SELECT)/;
	return "other statements (target): $tag" if $server eq 'tgt';
	return 'other statements (source)';
}

activity_open('src', $src_ci);
activity_open('tgt', $tgt_ci);
my %own_backend = map { $_->[3] => 1 } values %activity_conn;

my $t_prev = time;
while (1) {
	my $procs = scan_procs();
	my $now = time;
	my (%children);
	push @{$children{$procs->{$_}[1]}}, $_ for keys %$procs;
	# The client tree.
	my @clients;
	my @todo = @{$children{$root} // []};
	while (@todo) {
		my $p = shift @todo;
		next if $p == $$;
		push @clients, $p;
		push @todo, @{$children{$p} // []};
	}
	my $ports;
	my (%phase_used);
	my %label;    # pid -> [phase, kind]
	my %leader_phase;
	my @servers = (['src', $src_pm], ['tgt', $tgt_pm]);
	for my $sv (@servers) {
		my ($server, $pm) = @$sv;
		my $active = activity($server);
		for my $pid ($pm, @{$children{$pm} // []}) {
			next if $own_backend{$pid};
			my $title = slurp("/proc/$pid/cmdline") // next;
			$title =~ s/\0+$//;
			$title =~ s/\0/ /g;
			my ($phase, $kind) = (undef, $server eq 'src' ? 'source backends' : 'target backends');
			if ($pid == $pm) {
				($phase, $kind) = ('server background (WAL, checkpoints)', 'server background');
			} elsif ($title =~ /^postgres: (checkpointer|walwriter|background writer|startup|archiver|logical replication launcher|autovacuum launcher|stats collector)/) {
				($phase, $kind) = ('server background (WAL, checkpoints)', 'server background');
			} elsif ($title =~ /^postgres: autovacuum worker/) {
				($phase, $kind) = ('autovacuum', 'server background');
			} elsif ($title =~ /^postgres: parallel worker for PID (\d+)/) {
				$label{$pid} = ['@' . $1, $kind, $server];
				next;
			} elsif ($title =~ /^postgres: walsender/) {
				$phase = 'replication (walsender)';
			} elsif ($title =~ /^postgres: \S+ \S+ (\S+?)\((\d+)\)\s*(.*)$/ || $title =~ /^postgres: \S+ \S+ (\[local\])()\s*(.*)$/) {
				my ($cport, $tag) = ($2, $3);
				if (!exists $backend_client{$pid}) {
					$ports //= client_ports($procs, \@clients);
					$backend_client{$pid} = $cport ne '' && exists $ports->{$cport} ? client_kind($ports->{$cport}) : 'unknown';
				}
				$phase = backend_phase($server, $tag, $backend_client{$pid}, $active->{$pid});
				$phase //= $last_phase{$pid} // 'connection start (authentication), idle';
			} else {
				$phase = 'server background (WAL, checkpoints)';
				$kind = 'server background';
			}
			$label{$pid} = [$phase, $kind, $server];
			$leader_phase{$pid} = $phase;
		}
	}
	for my $pid (@clients) {
		my $k = client_kind($procs->{$pid}[0]);
		my $phase = $k eq 'pgcarry' ? 'pgcarry client' : $k eq 'other clients' ? 'other clients (psql, createdb, shells)' : "$k runs (client)";
		$label{$pid} = [$phase, $k, 'client'];
	}
	for my $pid (keys %label) {
		my ($phase, $kind, $server) = @{$label{$pid}};
		if ($phase =~ /^@(\d+)$/) {
			$phase = $leader_phase{$1} // 'parallel workers';
		}
		my $ticks = $procs->{$pid}[2];
		my $d = exists $last_ticks{$pid} ? $ticks - $last_ticks{$pid} : ($samples == 0 ? 0 : $ticks);
		$last_ticks{$pid} = $ticks;
		$last_phase{$pid} = $phase unless $phase eq 'connection start (authentication), idle';
		next if $d <= 0;
		$cpu{$phase}{$kind} += $d;
		$seen{$server eq 'client' ? $kind : $server} += $d;
		$phase_used{$phase} = 1;
	}
	if ($samples > 0) {
		$wall{$_} += $now - $t_prev for keys %phase_used;
	}
	$t_prev = $now;
	$samples++;
	# Forget processes that are gone.
	for my $pid (keys %last_ticks) {
		next if exists $procs->{$pid};
		delete $last_ticks{$pid};
		delete $last_phase{$pid};
		delete $backend_client{$pid};
	}
	last if $stop;
	sleep $interval;
}

for my $c (values %activity_conn) {
	close $c->[1];
	waitpid $c->[0], 0;
}
open(my $fh, '>', $out) or die "procsample: cannot write $out: $!\n";
for my $ph (sort keys %cpu) {
	printf $fh "cpu\t%s\t%s\t%d\n", $ph, $_, $cpu{$ph}{$_} for sort keys %{$cpu{$ph}};
}
printf $fh "wall\t%s\t%.2f\n", $_, $wall{$_} for sort keys %wall;
printf $fh "seen\t%s\t%d\n", $_, $seen{$_} for sort keys %seen;
print $fh "samples\t$samples\n";
close $fh;
