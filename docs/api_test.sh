#!/usr/bin/env bash
# Test of //docs:api: the HTML reference exists and has a page per layer, and Doxygen reported no
# warning (an undocumented public entity, an undocumented parameter or return value, a broken @ref).
# Strict by default: any warning fails the test. `--test_env=GARAGE_DOCS_STRICT=0` only reports them.
set -euo pipefail

docs="${TEST_SRCDIR}/${TEST_WORKSPACE}/docs"
index="$docs/api/html/index.html"
warnings="$docs/api_warnings.txt"

[[ -s $index ]] || { echo "FAIL: $index is missing or empty"; exit 1; }
grep -q 'garage' "$index" || { echo "FAIL: $index does not mention garage"; exit 1; }
[[ -f $docs/api/html/files.html ]] || { echo "FAIL: no file list (were the headers read?)"; exit 1; }

count=$(grep -cE '(warning|error):' "$warnings" || true)
echo "API reference generated; Doxygen reported $count warning(s)."
if [[ $count -gt 0 ]]; then
    sed 's/^/  /' "$warnings"
    if [[ ${GARAGE_DOCS_STRICT:-1} != 0 ]]; then
        echo "FAIL: Doxygen reported $count warning(s) (listed above, and in bazel-bin/docs/api_warnings.txt)."
        echo "Document the entities they name; --test_env=GARAGE_DOCS_STRICT=0 reports them without failing."
        exit 1
    fi
    echo "GARAGE_DOCS_STRICT=0: warnings reported, not failing."
fi
