# Sourced by integration tests: paths, data lookup and small assertions.
set -eu
: "${SD_SRCDIR:?run through make check}"
: "${SD_BIN:?run through make check}"
: "${SD_DATA:?run through make check}"
export LC_ALL=C TZ=UTC
PATH="$SD_BIN:$PATH"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sd-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASS=0
FAIL=0

# data REL: absolute path of a shared data file; missing data fails the test.
data() {
    if [ ! -e "$SD_DATA/$1" ]; then
        echo "FAIL: missing test data $SD_DATA/$1" >&2
        exit 1
    fi
    printf '%s\n' "$SD_DATA/$1"
}

ok() { PASS=$((PASS + 1)); echo "ok $PASS - $*"; }
fail() { FAIL=$((FAIL + 1)); echo "not ok - $*" >&2; }

# check NAME COMMAND...: run, record pass/fail by exit status.
check() {
    name=$1; shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}

finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
