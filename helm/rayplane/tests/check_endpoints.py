"""helm test: run in the release's namespace by templates/tests/test-endpoints.yaml (stdlib only)."""
import os
import sys
import urllib.error
import urllib.request


def status(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return f"unreachable ({error})"


failures = []
if "DASHBOARD_URL" in os.environ:
    jobs = os.environ["DASHBOARD_URL"] + "/api/jobs/"
    token = os.environ.get("RAY_TOKEN")
    if token:
        got = status(jobs)
        if got != 401:
            failures.append(f"{jobs} without the Ray token: {got}, expected 401")
    got = status(jobs, token)
    if got != 200:
        failures.append(f"{jobs} with the Ray token: {got}, expected 200")
for url in os.environ.get("HEALTH_URLS", "").split():
    got = status(url)
    if got != 200:
        failures.append(f"{url}: {got}, expected 200")
for failure in failures:
    print(f"FAIL {failure}")
print("ok" if not failures else f"{len(failures)} check(s) failed")
sys.exit(1 if failures else 0)
