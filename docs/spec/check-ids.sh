#!/bin/sh
# Checks the requirement IDs of docs/spec (README §3): each defined exactly once,
# every cited ID defined, and the README table equal to the body (ID and level).
set -eu
cd "$(dirname "$0")"
body="00-general.md 01-node.md system-*.md"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0

# Definitions: "**XXX-NNN** (MUST|SHOULD)" at the start of a line.
grep -hoE '^\*\*(GEN|NOD|IDN|SVC|AGG|SEL|MON|SEC)-[0-9]{3}\*\* \((MUST|SHOULD)\)' $body \
  | sed -E 's/^\*\*([A-Z]{3}-[0-9]{3})\*\* \(([A-Z]+)\)/\1 \2/' | sort > "$tmp/defs"
dups=$(cut -d' ' -f1 "$tmp/defs" | uniq -d)
[ -z "$dups" ] || { echo "defined more than once: $dups"; fail=1; }

# Every ID mentioned anywhere must be defined.
grep -hoE '(GEN|NOD|IDN|SVC|AGG|SEL|MON|SEC)-[0-9]{3}' $body README.md | sort -u > "$tmp/cited"
cut -d' ' -f1 "$tmp/defs" | sort -u > "$tmp/ids"
undef=$(comm -23 "$tmp/cited" "$tmp/ids")
[ -z "$undef" ] || { echo "cited but not defined: $undef"; fail=1; }

# README table rows "| XXX-NNN | LEVEL | ..." must equal the definitions.
grep -oE '^\| (GEN|NOD|IDN|SVC|AGG|SEL|MON|SEC)-[0-9]{3} \| (MUST|SHOULD) ' README.md \
  | sed -E 's/^\| ([A-Z]{3}-[0-9]{3}) \| ([A-Z]+) /\1 \2/' | sort > "$tmp/table"
if ! diff "$tmp/defs" "$tmp/table" > "$tmp/diff"; then
  echo "README table differs from the body (< body, > table):"; cat "$tmp/diff"; fail=1
fi

# Statements carrying a requirement ID must contain the keyword of their level.
awk '/^\*\*[A-Z]{3}-[0-9]{3}\*\* \(MUST\)/ && !/MUST/ {print FILENAME": "$0}' $body > "$tmp/kw" || true
[ ! -s "$tmp/kw" ] || { echo "level keyword missing:"; cat "$tmp/kw"; fail=1; }

for p in GEN NOD IDN SVC AGG SEL MON SEC; do
  printf '%s %s MUST %s SHOULD\n' "$p" "$(grep -c "^$p-[0-9]* MUST" "$tmp/defs" || true)" \
    "$(grep -c "^$p-[0-9]* SHOULD" "$tmp/defs" || true)"
done
[ "$fail" -eq 0 ] && echo "OK: $(wc -l < "$tmp/defs") requirement IDs consistent"
exit "$fail"
