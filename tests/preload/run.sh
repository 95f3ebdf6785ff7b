#!/usr/bin/env bash
# tests/preload/run.sh - real programs on build/host/libkheap.so.
#
# Each program runs twice, on the C library's malloc and with
# LD_PRELOAD=build/host/libkheap.so, and passes when both runs exit alike,
# print the same output (or write the same file), and the preloaded run
# printed no "kheap:" report.  The programs cover what a malloc meets in
# practice: an interpreter (python3), a threaded sort, a compiler (gcc,
# whose object file must be the same byte for byte), git, awk and sed,
# a shell that forks for every command substitution, and a program whose
# fork handler allocates while the allocator holds its lock.  Then the
# contract checks (tests/preload/api.c) in release and in debug mode
# (KHEAP_DEBUG=1), the purge check with eager purging too, and python3
# once more in debug mode.
#
# Prints "PASS name" or "FAIL name: why" per check; tests/run.sh counts them.
# Takes about 15 s here.
set -uo pipefail
cd "$(dirname "$0")/../.."
lib=$PWD/build/host/libkheap.so
api=build/host/preload_api
logdir=build/test-logs/preload
mkdir -p "$logdir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -f $lib || ! -x $api ]]; then
	echo "FAIL preload: $lib or $api missing (make preload)"
	exit 0
fi

# run_pair NAME CMD...: stdout to $work/NAME.{ref,pre}, stderr to the logs.
run_pair() {
	local name=$1
	shift
	timeout 120 "$@" > "$work/$name.ref" 2> "$logdir/$name.ref.err"
	echo $? > "$work/$name.ref.status"
	LD_PRELOAD=$lib timeout 120 "$@" > "$work/$name.pre" 2> "$logdir/$name.pre.err"
	echo $? > "$work/$name.pre.status"
}

# verdict NAME: compare the two runs' exit status, stdout and reports.
verdict() {
	local name=$1 a=$work/$1.ref b=$work/$1.pre ref pre
	ref=$(cat "$a.status") pre=$(cat "$b.status")
	if [[ $ref != "$pre" ]]; then
		echo "FAIL preload/$name: exit status $pre on libkheap, $ref on libc (log: $logdir/$name.pre.err)"
	elif grep -q '^kheap:' "$logdir/$name.pre.err"; then
		echo "FAIL preload/$name: $(grep -m1 '^kheap:' "$logdir/$name.pre.err")"
	elif [[ ! -s $a ]]; then
		echo "FAIL preload/$name: no output to compare (log: $logdir/$name.ref.err)"
	elif ! cmp -s "$a" "$b"; then
		echo "FAIL preload/$name: output differs ($(cmp "$a" "$b" 2>&1 | head -1))"
	elif [[ $ref != 0 ]]; then
		echo "FAIL preload/$name: exit status $ref in both runs (log: $logdir/$name.ref.err)"
	else
		echo "PASS preload/$name"
	fi
}

check() { # NAME CMD...: run_pair, then verdict on stdout
	run_pair "$@"
	verdict "$1"
}

cat > "$work/compute.py" <<'EOF'
# Allocation-heavy work whose result is deterministic: dicts, lists,
# strings of every size, big integers, a JSON round trip.
import hashlib, json
d = {}
for i in range(60000):
    d["key%d" % i] = [i, str(i) * (i % 50), {"x": i * i}]
for i in range(0, 60000, 3):
    del d["key%d" % i]
s = json.dumps(d, sort_keys=True)
back = json.loads(s)
words = sorted(set(s.split('"')))
big = 1
for i in range(1, 1200):
    big *= i
print(len(d), len(s), len(words), back == d)
print(hashlib.sha256(s.encode()).hexdigest())
print(str(big)[:40], len(str(big)))
EOF

# A deterministic text: 200000 lines of words from a linear congruential generator.
awk 'BEGIN { x = 1; for (i = 0; i < 200000; i++) { line = "";
	for (j = 0; j < 1 + i % 7; j++) { x = (x * 1103515245 + 12345) % 2147483648;
		line = line sprintf("w%x ", x % 50000) }
	print line i } }' > "$work/text"

cat > "$work/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[24]; int value; };
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
int main(void)
{
	struct node *head = NULL;
	char *names[1000];
	for (int i = 0; i < 1000; i++) {
		struct node *n = malloc(sizeof(*n));
		snprintf(n->name, sizeof(n->name), "node-%d", (i * 7919) % 1000);
		n->value = i;
		n->next = head;
		head = n;
		names[i] = strdup(n->name);
	}
	qsort(names, 1000, sizeof(names[0]), cmp);
	printf("%s %s %s\n", names[0], names[500], names[999]);
	long sum = 0;
	while (head) {
		struct node *n = head;
		sum += n->value * (long)strlen(n->name);
		head = n->next;
		free(n);
	}
	printf("%ld\n", sum);
	return 0;
}
EOF

check python3 python3 "$work/compute.py"
check sort sort "$work/text"
check sort-parallel sort --parallel=2 -S 4M -k2 "$work/text"
check gcc-object sh -c 'gcc -O2 -g -c "$1" -o "$2" && cat "$2"' sh "$work/prog.c" "$work/prog.o"
gcc -O2 -o "$work/prog" "$work/prog.c" &&
	check gcc-built-program "$work/prog"
check git-log git --no-pager log --stat -p -n 15
check awk awk '{ for (i = 1; i < NF; i++) n[$i]++ } END { for (w in n) if (n[w] > 8) print w, n[w] }' "$work/text"
check sed sed -E 's/w([0-9a-f]+) w([0-9a-f]+)/\2-\1/g; /00/d' "$work/text"
check bash-forks bash -c 'for i in $(seq 200); do x=$(echo "$i" | tr 0-9 a-j); printf "%s " "$x"; done; echo'
check fork-handler-allocates build/host/preload_atfork

# Debug mode: the same work with red zones and poisoning; nothing may be reported.
KHEAP_DEBUG=1 check python3-debug python3 "$work/compute.py"

# The contract checks print their own PASS/FAIL lines.
LD_PRELOAD=$lib timeout 120 "$api" 2> "$logdir/api.err" ||
	echo "FAIL preload/api: exit status $? (log: $logdir/api.err)"
{ KHEAP_MAGAZINES=0 LD_PRELOAD=$lib timeout 120 "$api" 2> "$logdir/api-locked.err" ||
	echo "FAIL preload/api without magazines: exit status $? (log: $logdir/api-locked.err)"; } |
	sed -E 's#^(PASS|FAIL|SKIP) preload/api/#&no-magazines/#'
KHEAP_PURGE_EAGER=1 LD_PRELOAD=$lib timeout 120 "$api" purge 2> "$logdir/api-eager.err" ||
	echo "FAIL preload/api purge: exit status $? (log: $logdir/api-eager.err)"
KHEAP_DEBUG=1 LD_PRELOAD=$lib timeout 120 "$api" debug 2> "$logdir/api-debug.err" ||
	echo "FAIL preload/api debug: exit status $? (log: $logdir/api-debug.err)"
