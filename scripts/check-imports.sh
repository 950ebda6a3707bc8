#!/usr/bin/env bash
# check-imports.sh enforces the import rules of STYLE.md part (c): the package
# dependency table, the single mmap-go file, and where `unsafe` may appear.
#
# Usage: scripts/check-imports.sh        (from anywhere inside the module)
#
# It prints one line per violation and exits 1 if there is any. Packages that
# do not exist yet produce no `go list` lines and so pass. Only non-test
# imports are checked against the table (tests may import internal/testutil);
# the `unsafe` and mmap-go rules are checked on every .go file, tests and
# build-tagged files included.
set -euo pipefail

cd "$(dirname "$0")/.."
MOD=$(go list -m)

# --- 1. The dependency table -------------------------------------------------
#
# One rule per line: IMPORTER  KIND  ITEMS...
#   IMPORTER  a module-relative package; "pkg" also covers pkg/sub/...,
#             "internal/*" means every package under internal/.
#   deny      none of ITEMS may be imported ("Must not import" column).
#   allow     imports of module packages must be among ITEMS ("May import"
#             column); "-" means no module package at all.
#   nopublic  no public (non-internal) module package may be imported.
#   ITEMS     module-relative paths, or "ext:PATH" for a std or external
#             path; each also covers its sub-packages.
rules=$(cat <<'EOF'
*                 deny      internal/testutil
internal/atomicx  allow     -
internal/*        nopublic
internal/proto    allow     internal/atomicx
internal/wake     allow     internal/atomicx
internal/testutil allow     internal/atomicx
internal/testhook allow     -
shm               deny      ring status worker pool internal/proto
shm               allow     -
ring              deny      shm status worker pool internal/wake ext:golang.org/x/sys ext:syscall
ring              allow     internal/atomicx
status            deny      shm ring worker pool
status            allow     internal/atomicx
codec             deny      ext:unsafe ext:golang.org ext:github.com
codec             allow     -
worker            deny      pool cmd
worker            allow     shm ring status codec internal/atomicx internal/proto internal/wake internal/testhook
pool              deny      shm ring internal
pool              allow     worker status codec
cmd/shmbench      deny      internal
cmd/shmbench      allow     pool worker status ring
EOF
)
# The first rule: internal/testutil is imported only by _test.go files (and so
# never appears in a package's non-test imports), except by itself.

table_out=$(
	go list -e -f '{{.ImportPath}}: {{join .Imports " "}}' ./... |
		awk -v mod="$MOD" -v rules="$rules" '
		function covers(prefix, path) {
			return path == prefix || index(path, prefix "/") == 1
		}
		function importer_matches(pat, pkg) {
			if (pat == "*") return 1
			if (pat ~ /\/\*$/) return index(pkg, mod "/" substr(pat, 1, length(pat) - 1)) == 1
			return covers(mod "/" pat, pkg)
		}
		function item_path(it) {
			if (index(it, "ext:") == 1) return substr(it, 5)
			return mod "/" it
		}
		function item_name(it) { return index(it, "ext:") == 1 ? substr(it, 5) : it }
		function ours(p) { return p == mod || index(p, mod "/") == 1 }
		function internal(p) { return covers(mod "/internal", p) }
		function rel(p) { return p == mod ? "(root)" : substr(p, length(mod) + 2) }
		BEGIN {
			n = split(rules, lines, "\n")
			for (i = 1; i <= n; i++) {
				nf = split(lines[i], f, /[ \t]+/)
				if (nf < 2) continue
				nr++
				r_pat[nr] = f[1]; r_kind[nr] = f[2]; r_items[nr] = ""
				for (j = 3; j <= nf; j++) r_items[nr] = r_items[nr] (j > 3 ? " " : "") f[j]
			}
		}
		{
			pkg = $0; sub(/: .*$/, "", pkg); sub(/:$/, "", pkg)
			rest = $0; sub(/^[^:]*:[ ]?/, "", rest)
			ni = split(rest, imps, " ")
			for (r = 1; r <= nr; r++) {
				if (!importer_matches(r_pat[r], pkg)) continue
				if (pkg == mod "/internal/testutil" && r_pat[r] == "*") continue
				ni_items = split(r_items[r], items, " ")
				for (k = 1; k <= ni; k++) {
					imp = imps[k]
					if ((pkg, imp) in reported) continue
					msg = ""
					if (r_kind[r] == "deny") {
						for (j = 1; j <= ni_items; j++)
							if (covers(item_path(items[j]), imp)) {
								if (r_pat[r] == "*")
									msg = "internal/testutil is for _test.go files only"
								else
									msg = r_pat[r] " must not import " item_name(items[j])
							}
					} else if (r_kind[r] == "allow" && ours(imp)) {
						ok = 0
						for (j = 1; j <= ni_items; j++)
							if (items[j] != "-" && covers(item_path(items[j]), imp)) ok = 1
						if (!ok)
							msg = r_pat[r] " may import only " (r_items[r] == "-" ? "std and external packages, nothing of ours" : "(of ours) " r_items[r])
					} else if (r_kind[r] == "nopublic" && ours(imp) && !internal(imp)) {
						msg = "internal packages must not import public packages"
					}
					if (msg != "") {
						printf "%s imports %s: %s\n", rel(pkg), ours(imp) ? rel(imp) : imp, msg
						reported[pkg, imp] = 1
					}
				}
			}
		}' | sort -u
)

# --- 2. Per-file rules: mmap-go and unsafe ------------------------------------
#
# imports_of FILE prints "ALIAS PATH" for each import of a Go file ("-" when
# there is no alias). It reads the import declarations only, not the body.
imports_of() {
	awk '
		function emit(s) {
			sub(/\/\/.*$/, "", s)
			if (s !~ /"/) return
			alias = "-"
			if (match(s, /^[ \t]*[A-Za-z_.][A-Za-z0-9_]*[ \t]+"/)) {
				alias = s; sub(/^[ \t]*/, "", alias); sub(/[ \t].*$/, "", alias)
			}
			p = s; sub(/^[^"]*"/, "", p); sub(/".*$/, "", p)
			print alias, p
		}
		/^import[ \t]*\(/ { inblock = 1; next }
		inblock && /^[ \t]*\)/ { inblock = 0; next }
		inblock { emit($0); next }
		/^import[ \t]/ { s = $0; sub(/^import[ \t]+/, "", s); emit(s); next }
		/^(func|type|var|const)[ \t(]/ { exit }
	' "$1"
}

file_out=""
add() { file_out+="$1"$'\n'; }

while IFS= read -r f; do
	f=${f#./}
	base=${f##*/}
	while read -r alias path; do
		case $path in
		github.com/edsrzf/mmap-go | github.com/edsrzf/mmap-go/*)
			[[ $f == shm/mmap_linux.go ]] ||
				add "$f imports $path: only shm/mmap_linux.go may import mmap-go"
			;;
		unsafe)
			if [[ $f == internal/atomicx/* && $f != internal/atomicx/*/* ]]; then
				:
			elif [[ $f == shm/*_linux.go && $f != shm/*/* ]]; then
				: # the mapping file
			elif [[ $base == layout.go ]]; then
				[[ $alias == - ]] ||
					add "$f imports unsafe as $alias: a layout.go must import it unaliased (the unsafe.Pointer grep relies on it)"
			else
				add "$f imports unsafe: only internal/atomicx, the shm mapping file (shm/*_linux.go) and layout.go files may"
			fi
			;;
		esac
	done < <(imports_of "$f")
	if [[ $base == layout.go ]]; then
		# Only the compile-time Sizeof/Offsetof/Alignof are allowed here.
		while IFS= read -r hit; do
			add "$f:${hit%%:*}: ${hit#*:} in a layout.go: only unsafe.Sizeof/Offsetof/Alignof are allowed there, never unsafe.Pointer"
		done < <(sed 's://.*$::' "$f" | grep -n -o -E 'unsafe\.[A-Za-z_][A-Za-z0-9_]*' | grep -v -E ':unsafe\.(Sizeof|Offsetof|Alignof)$' || true)
	fi
done < <(find . \( -name .git -o -name testdata -o -name vendor -o -name '_*' -o -name '.?*' \) -prune -o -type f -name '*.go' -print | sort)

out=$(printf '%s\n%s' "$table_out" "$file_out" | sed '/^$/d')
if [[ -n $out ]]; then
	echo "check-imports: import rules of STYLE.md part (c) broken:" >&2
	sed 's/^/  /' <<<"$out" >&2
	exit 1
fi
echo "check-imports: ok"
