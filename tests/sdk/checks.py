"""One way for the client test scripts (tests/sdk/*.py, tests/dashboard/browser.py) to
run and count their checks: `check(name, fn)` runs one and prints ok or FAIL with the
traceback; `finish()` prints 'N passed, N failed' and exits non-zero on any failure."""
import sys
import traceback

passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}")
    except Exception:
        failed += 1
        print(f"FAIL {name}")
        traceback.print_exc()


def finish(prefix=""):
    print(f"{prefix}{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
