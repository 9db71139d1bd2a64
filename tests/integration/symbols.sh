#!/bin/sh
# The library exports exactly the symbols in lib/libstardust.sym, each with a
# man3 page (a page of its own or a .so link to its family page).
. "$SD_SRCDIR/tests/integration/lib.sh"
so="$SD_BUILDDIR/lib/.libs/libstardust.so"
[ -f "$so" ] || { echo "FAIL: $so not built" >&2; exit 1; }
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -v '^_' | sort > "$TMP/exported"
grep -v '^#' "$SD_SRCDIR/lib/libstardust.sym" | sed '/^$/d' | sort > "$TMP/expected"
if diff -u "$TMP/expected" "$TMP/exported"; then ok "exported symbols match lib/libstardust.sym"
else fail "exported symbols differ from lib/libstardust.sym (diff above)"; fi
bad=$(grep -v '^sd_' "$TMP/exported" || true)
expect_eq "every exported symbol has the sd_ prefix" "$bad" ""
missing=""
while read -r sym; do
    [ -f "$SD_SRCDIR/man/man3/$sym.3" ] || [ -f "$SD_SRCDIR/man/man3/$sym.3.in" ] || missing="$missing $sym"
done < "$TMP/exported"
expect_eq "every exported symbol has a man3 page" "$missing" ""
# Every public header compiles on its own, as C and as C++.
for h in "$SD_SRCDIR"/include/stardust/*.h; do
    name=$(basename "$h")
    printf '#include <stardust/%s>\nint sd_test_unit;\n' "$name" > "$TMP/h.c"
    check "$name compiles standalone (C11)" \
        ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$SD_SRCDIR/include" -I"$SD_BUILDDIR/include" -c "$TMP/h.c" -o "$TMP/h.o"
    if command -v c++ >/dev/null 2>&1; then
        cp "$TMP/h.c" "$TMP/h.cc"
        check "$name compiles as C++" \
            c++ -Wall -Wextra -Werror -I"$SD_SRCDIR/include" -I"$SD_BUILDDIR/include" -c "$TMP/h.cc" -o "$TMP/h.o"
    fi
done
finish
