#!/usr/bin/env python3
"""Summarize one `bazel test` invocation from its Build Event Protocol JSON file.

Usage: bazel_test_report.py BUILD_EVENTS_JSON BAZEL_EXIT_CODE BAZEL_OUTPUT_LOG

Prints one line per test target (like Bazel's summary), then a last line `totals P F` that
scripts/test reads. The units counted are:

- the Catch2 test cases of each test target that ran, read from the summary that Catch2 prints
  at the end of its test.log ("All tests passed (...)" or "test cases: ..."); a test that ran
  without such a summary (a shell test, or a crash before it) counts as one unit;
- one failed unit per test target that did not build or has no result;
- one failed unit if any other target failed to build;
- one failed unit per package that failed to load (a BUILD file error: its targets are
  missing from the build events, so this is read from Bazel's console output);
- one failed unit if Bazel failed and nothing above explains it (e.g. a BUILD file error).

Only the events of this invocation are read, so stale logs of earlier runs never count. Catch2 v2
does not write Bazel's XML_OUTPUT_FILE, so test.xml has one case per target and is not used.
"""

import json
import re
import sys
from collections import defaultdict
from urllib.parse import unquote, urlparse

ALL_PASSED = re.compile(r"^All tests passed \(\d+ assertions? in (\d+) test cases?\)")
TABLE_ROW = re.compile(r"^test cases:\s*(\d+|- none -)(.*)$")
TABLE_COLUMN = re.compile(r"\|\s*(\d+) (failed as expected|passed|failed)\b")
PACKAGE_ERROR = re.compile(r"^ERROR: (?:package contains errors: (\S+)|error loading package '([^']*)')")

# Bazel exit codes: 0 success, 1 build failed, 3 some tests failed, 4 no tests found.
BUILD_FAILED, TESTS_FAILED, NO_TESTS = 1, 3, 4


def catch2_counts(log_path):
    """(passed, failed) test cases from the last Catch2 summary in a test log, or None."""
    counts = None
    try:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            for line in log:
                line = line.rstrip("\n")
                if m := ALL_PASSED.match(line):
                    counts = (int(m.group(1)), 0)
                elif m := TABLE_ROW.match(line):
                    total = 0 if m.group(1) == "- none -" else int(m.group(1))
                    failed = sum(int(n) for n, kind in TABLE_COLUMN.findall(m.group(2)) if kind == "failed")
                    counts = (total - failed, failed)
    except OSError:
        return None
    return counts


def file_path(uri):
    return unquote(urlparse(uri).path)


def display_log(path):
    """The test log as the user finds it: bazel-testlogs/<package>/<name>/test.log."""
    marker = "/testlogs/"
    return "bazel-testlogs/" + path.split(marker, 1)[1] if marker in path else path


def broken_packages(output_path):
    """Packages that Bazel's console output reports as failing to load."""
    packages = set()
    try:
        with open(output_path, encoding="utf-8", errors="replace") as output:
            for line in output:
                if m := PACKAGE_ERROR.match(line):
                    packages.add("//" + (m.group(1) or m.group(2)))
    except OSError:
        pass
    return sorted(packages)


def main(events_path, bazel_exit, output_path):
    kinds = {}                      # label -> rule kind, for every configured target
    completed = {}                  # label -> True (built) / False (failed or aborted)
    summaries = {}                  # test label -> overall status
    runs = defaultdict(dict)        # test label -> (run, shard) -> (attempt, status, log path)
    root_causes = []                # descriptions of aborted events and failed actions

    try:
        with open(events_path, encoding="utf-8") as f:
            events = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        print(f"NO RESULTS       cannot read Bazel's build events ({e})")
        print("totals 0 1")
        return

    for event in events:
        eid = event.get("id", {})
        if "targetConfigured" in eid and "configured" in event:
            kinds[eid["targetConfigured"]["label"]] = event["configured"].get("targetKind", "")
        if "targetCompleted" in eid:
            label = eid["targetCompleted"]["label"]
            ok = event.get("completed", {}).get("success", False) and "aborted" not in event
            completed[label] = completed.get(label, True) and ok
        if "aborted" in event:
            description = event["aborted"].get("description")
            if description and description not in root_causes:
                root_causes.append(description)
        if "actionCompleted" in eid and not event.get("action", {}).get("success", False):
            action = event.get("action", {})
            root_causes.append(f"{eid['actionCompleted'].get('label', '?')}: {action.get('type', 'action')} "
                               f"of {eid['actionCompleted'].get('primaryOutput', '?')} failed "
                               f"(exit {action.get('exitCode', '?')})")
        if "testResult" in eid and "testResult" in event:
            tid, result = eid["testResult"], event["testResult"]
            key = (tid.get("run", 1), tid.get("shard", 1))
            attempt = tid.get("attempt", 1)
            log = next((file_path(o["uri"]) for o in result.get("testActionOutput", [])
                        if o.get("name") == "test.log" and "uri" in o), None)
            if attempt >= runs[tid["label"]].get(key, (0,))[0]:
                runs[tid["label"]][key] = (attempt, result.get("status", "NO_STATUS"), log)
        if "testSummary" in eid and "testSummary" in event:
            summaries[eid["testSummary"]["label"]] = event["testSummary"].get("overallStatus", "NO_STATUS")

    tests = sorted(label for label, kind in kinds.items() if kind.endswith("_test rule"))
    passed = failed = 0
    lines = []
    for label in tests:
        status = summaries.get(label)
        if status is None:
            status = "FAILED_TO_BUILD" if completed.get(label) is False else "NO_STATUS"
        logs = [log for _, _, log in runs[label].values() if log]
        counts = [catch2_counts(log) for log in logs]
        if logs and all(c is not None for c in counts):
            p, f = sum(c[0] for c in counts), sum(c[1] for c in counts)
            detail = f"{p + f} test case{'s' if p + f != 1 else ''}" + (f", {f} failed" if f else "")
        else:
            p, f, detail = 0, 0, ""
        ok = status in ("PASSED", "FLAKY")
        if ok:
            p = max(p, 1) if f == 0 else p
        else:
            f = max(f, 1)       # a failed target counts as at least one failure
        passed, failed = passed + p, failed + f
        line = f"{status.replace('_', ' '):<16} {label}"
        if detail:
            line += f" ({detail})"
        if not ok and logs:
            line += "  log: " + ", ".join(display_log(log) for log in logs)
        lines.append(line)

    broken = sorted(label for label, ok in completed.items() if not ok and label not in tests)
    if broken:
        failed += 1
        lines.append(f"{'FAILED TO BUILD':<16} {', '.join(broken)}")

    for package in broken_packages(output_path):
        failed += 1
        lines.append(f"{'FAILED TO LOAD':<16} {package} (its targets were not built or tested)")

    if bazel_exit not in (0, TESTS_FAILED, NO_TESTS) and failed == 0:
        failed += 1
        lines.append(f"{'BAZEL FAILED':<16} bazel test exited with code {bazel_exit}")
    if bazel_exit == TESTS_FAILED and failed == 0:
        failed += 1
        lines.append(f"{'BAZEL FAILED':<16} bazel reported failed tests that the build events do not show")

    for cause in root_causes[:5]:
        lines.append(f"{'':<16} cause: {cause.splitlines()[0]}")
    if len(root_causes) > 5:
        lines.append(f"{'':<16} ... and {len(root_causes) - 5} more (see Bazel's errors above)")

    print("\n".join(lines))
    print(f"totals {passed} {failed}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
