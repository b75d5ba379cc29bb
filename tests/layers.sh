#!/bin/sh
# Check the floor plan of docs/layout.md ("Layout: the floors of the tree"): which
# folder may include which.  Prints every offending #include as
#   FILE:LINE: #include "X": FLOOR may not include TARGET
# and exits 1 when there is one; otherwise prints one line and exits 0.
#
#   base/      base/ only (the ground includes nothing of ours)
#   model/     base/ model/
#   consumer/ detectors/ alerts/ (the three stages)
#              base/ model/ and their own folder: never each other,
#              config/, status/, sim/ or app/
#   status/    base/ model/ status/
#   sim/       base/ model/ sim/
#   config/    anything but app/ (it fills the stages' settings)
#   app/       anything (the top floor)
#   tests/ bench/  anything; nothing includes them or app/
cd "$(dirname "$0")/.." || exit 2

allowed() { # floor target -> 0 when allowed
    case "$1" in
    base) [ "$2" = base ]; return ;;
    model) case "$2" in base|model) return 0 ;; esac; return 1 ;;
    consumer|detectors|alerts|status|sim)
        case "$2" in base|model|"$1") return 0 ;; esac; return 1 ;;
    config) case "$2" in app|tests|bench) return 1 ;; esac; return 0 ;;
    app) case "$2" in tests|bench) return 1 ;; esac; return 0 ;;
    tests|bench) return 0 ;;
    esac
    return 1
}

out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
files=$(find base model consumer detectors alerts status sim config app \
             tests bench -name '*.[ch]' 2>/dev/null | sort)
for f in $files; do
    floor=${f%%/*}
    # quoted includes only: <...> are system and library headers
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
    while IFS= read -r line; do
        n=${line%%:*}
        inc=$(printf '%s\n' "$line" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
        case "$inc" in
        */*) target=${inc%%/*} ;;
        *) target=$floor ;; # a same-folder include
        esac
        if ! allowed "$floor" "$target"; then
            echo "$f:$n: #include \"$inc\": $floor/ may not include $target/"
        fi
    done
done >"$out" 2>&1 || true
if [ -s "$out" ]; then
    cat "$out"
    echo "layers: $(wc -l <"$out") include(s) break the floor plan (docs/layout.md)"
    exit 1
fi
echo "layers: every #include follows the floor plan"
