#!/usr/bin/env bash
# fuzz.sh runs every fuzz target in the module, one after another, each for
# FUZZTIME (default 30s).
#
# Usage: scripts/fuzz.sh [packages...]      (default ./...)
#        FUZZTIME=10s scripts/fuzz.sh
#
# Targets are found with `go test -list '^Fuzz'` in each package that has a
# `func Fuzz...` in a _test.go file. Each runs as
#   go test -run='^$' -fuzz='^Name$' -fuzztime=$FUZZTIME ./pkg
# A failing target does not stop the others; the script exits 1 at the end if
# any failed. A target that fails only with the Go fuzz coordinator's spurious
# "context deadline exceeded" (see fuzz_one) is run once more, and is not
# counted as a failure if that happens again. A crasher is written to pkg/testdata/fuzz/Name/: commit it with
# the fix, so that `make test` replays it from then on.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}

if (($# == 0)); then
	set -- ./...
fi

# Packages whose test files declare a fuzz target (a cheap grep first, so that
# packages without one are not compiled just to list nothing).
pkgs=()
root=$(go list -m -f '{{.Dir}}')
while read -r dir; do
	shopt -s nullglob
	tests=("$dir"/*_test.go)
	shopt -u nullglob
	((${#tests[@]})) || continue
	if grep -q -E '^func Fuzz[A-Z0-9_]' "${tests[@]}"; then
		if [[ $dir == "$root" ]]; then
			pkgs+=(.)
		else
			pkgs+=("./${dir#"$root"/}")
		fi
	fi
done < <(go list -f '{{.Dir}}' "$@")

# fuzz_one PKG NAME runs one target. It returns 0 when it passed, 2 when it
# failed only with the spurious "context deadline exceeded" of the Go fuzz
# coordinator (go1.26 and older: the -fuzztime deadline races the workers'
# shutdown under CPU load; no failing input is written), and 1 otherwise. A
# real failure, a crash or a hang, always writes its input to
# PKG/testdata/fuzz/NAME/, so that is what tells the two apart.
fuzz_one() {
	local pkg=$1 name=$2 corpus=$1/testdata/fuzz/$2 before after out rc=0
	before=$(ls "$corpus" 2>/dev/null || true)
	out=$(mktemp)
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1 | tee "$out" || rc=$?
	after=$(ls "$corpus" 2>/dev/null || true)
	if ((rc != 0)) && [[ $before == "$after" ]] &&
		grep -q -x -E '[[:space:]]*context deadline exceeded' "$out" &&
		! grep -q 'Failing input written' "$out"; then
		rc=2
	elif ((rc != 0)); then
		rc=1
	fi
	rm -f "$out"
	return "$rc"
}

ran=0
failed=()
flaked=()
for rel in "${pkgs[@]}"; do
	if ! list=$(go test -list '^Fuzz' "$rel"); then
		echo "fuzz: listing fuzz targets in $rel failed:" >&2
		echo "$list" >&2
		failed+=("$rel (go test -list)")
		continue
	fi
	for name in $(grep -E '^Fuzz[A-Za-z0-9_]*$' <<<"$list" || true); do
		ran=$((ran + 1))
		for attempt in 1 2; do
			echo "=== fuzz $rel $name for $FUZZTIME"
			rc=0
			fuzz_one "$rel" "$name" || rc=$?
			((rc == 2 && attempt == 1)) || break
			echo "fuzz: $rel $name: 'context deadline exceeded' at the end of -fuzztime and no failing input written: the go1.26 fuzz coordinator race (golang/go#75804), not a finding; running it again" >&2
		done
		case $rc in
		0) ;;
		2)
			echo "fuzz: $rel $name hit the coordinator race twice; counted as a flake, not a failure" >&2
			flaked+=("$rel $name")
			;;
		*) failed+=("$rel $name") ;;
		esac
	done
done

if ((ran == 0 && ${#failed[@]} == 0)); then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
if ((${#flaked[@]})); then
	echo "fuzz: ${#flaked[@]} ended twice with the fuzz coordinator deadline race (not counted as failures):"
	printf '  %s\n' "${flaked[@]}"
fi
if ((${#failed[@]})); then
	echo "fuzz: ${#failed[@]} failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $ran targets ran $FUZZTIME each, no failures"
