#!/usr/bin/env bash
# The mechanical style checks, run as a ctest: banned functions, C++ comments, line length,
# trailing whitespace and tabs in weft's C sources.
set -u
root=${1:-.}
cd "$root" || exit 1
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h')
fails=0
report() { echo "$1"; fails=$((fails + 1)); }
for f in $files; do
    # Banned: unbounded copies and formatting, and parsers that cannot report errors.
    grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|strncpy)\(' "$f" |
        while IFS= read -r l; do echo "$f:$l: banned function"; done | grep . && fails=$((fails + 1))
    grep -nE '(^|[^:"])//' "$f" | while IFS= read -r l; do
        echo "$f:$l: use /* */ comments"; done | grep . && fails=$((fails + 1))
    awk -v f="$f" 'length($0) > 100 { printf "%s:%d: line longer than 100 columns\n", f, NR; bad=1 }
                   /[ \t]+$/ { printf "%s:%d: trailing whitespace\n", f, NR; bad=1 }
                   /\t/ { printf "%s:%d: tab character\n", f, NR; bad=1 }
                   END { exit bad }' "$f" || fails=$((fails + 1))
done
big=$(for f in $files; do n=$(wc -l <"$f"); [ "$n" -gt 800 ] && echo "$f ($n lines)"; done)
[ -n "$big" ] && report "files past 800 lines; split them: $big"
[ "$fails" -eq 0 ] && echo "lint: clean" || echo "lint: $fails problems"
[ "$fails" -eq 0 ]
