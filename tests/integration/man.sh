#!/bin/sh
# Man pages are well-formed (mandoc -Tlint) and every tool has one.
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v mandoc >/dev/null || { echo "FAIL: mandoc missing (scripts/install-deps)" >&2; exit 1; }
for p in $(cd "$SD_BUILDDIR" && ls man/man*/*.[0-9] 2>/dev/null) ; do
    # A one-line ".so man3/family.3" link page: mandoc -Tlint always calls
    # .so fragile, so check that its target exists instead.
    if [ "$(wc -l < "$SD_BUILDDIR/$p")" -le 1 ] && grep -q '^\.so ' "$SD_BUILDDIR/$p"; then
        target=$(sed -n 's/^\.so //p' "$SD_BUILDDIR/$p")
        check "$p links to an existing page ($target)" test -f "$SD_BUILDDIR/man/$target"
        continue
    fi
    out=$(mandoc -Tlint -W warning "$SD_BUILDDIR/$p" 2>&1 || true)
    expect_eq "mandoc lint $p" "$out" ""
done
for t in "$SD_SRCDIR"/cli/sd-*.c; do
    tool=$(basename "$t" .c)
    check "$tool has a man page" test -f "$SD_BUILDDIR/man/man1/$tool.1"
done
finish
