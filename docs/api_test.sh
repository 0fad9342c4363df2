#!/usr/bin/env bash
# Test of //docs:api: the HTML reference exists and has a page per layer; reports Doxygen's warnings.
set -euo pipefail

docs="${TEST_SRCDIR}/${TEST_WORKSPACE}/docs"
index="$docs/api/html/index.html"
warnings="$docs/api_warnings.txt"

[[ -s $index ]] || { echo "FAIL: $index is missing or empty"; exit 1; }
grep -q 'garage' "$index" || { echo "FAIL: $index does not mention garage"; exit 1; }
[[ -f $docs/api/html/files.html ]] || { echo "FAIL: no file list (were the headers read?)"; exit 1; }

count=$(grep -c 'warning:' "$warnings" || true)
echo "API reference generated; Doxygen reported $count warning(s)."
if [[ $count -gt 0 ]]; then
    sed 's/^/  /' "$warnings"
    if [[ ${GARAGE_DOCS_STRICT:-0} == 1 ]]; then
        echo "FAIL: GARAGE_DOCS_STRICT=1 and Doxygen reported warnings"
        exit 1
    fi
fi
