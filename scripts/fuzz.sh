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
# any failed. A crasher is written to pkg/testdata/fuzz/Name/: commit it with
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

ran=0
failed=()
for rel in "${pkgs[@]}"; do
	if ! list=$(go test -list '^Fuzz' "$rel"); then
		echo "fuzz: listing fuzz targets in $rel failed:" >&2
		echo "$list" >&2
		failed+=("$rel (go test -list)")
		continue
	fi
	for name in $(grep -E '^Fuzz[A-Za-z0-9_]*$' <<<"$list" || true); do
		echo "=== fuzz $rel $name for $FUZZTIME"
		ran=$((ran + 1))
		if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$rel"; then
			failed+=("$rel $name")
		fi
	done
done

if ((ran == 0 && ${#failed[@]} == 0)); then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
if ((${#failed[@]})); then
	echo "fuzz: ${#failed[@]} failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $ran targets ran $FUZZTIME each, no failures"
