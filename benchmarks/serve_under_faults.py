"""The server as `make serve` runs it (gunicorn, two workers, SQLite, the task worker), under the faults of
issue 25: ten account deletions at once, then `kill -9` of everything during six volume uploads, a restart and
the sweep. Prints figures as JSON lines; a fresh database and media folder in a temporary folder.

``python -m benchmarks.serve_under_faults [SECONDS]`` (a few minutes; it loads the model in each server process),
SECONDS before the kill (8 by default); ``python -m benchmarks.serve_under_faults predict``: 70 predictions at
once with one token against the 30/hour limit, counted over both server processes.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.fixtures import scan_files

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "a-Long-pass-phrase-42"


def environment(folder, **extra):
    return {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3", "MEDIA_ROOT": f"{folder}/media",
            "CACHE_LOCATION": f"{folder}/cache", "DEBUG": "0", "SECRET_KEY": "benchmark-only-" + "x" * 40,
            "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "SECURE_COOKIES": "0",
            "SECURE_PROXY_SSL_HEADER": "0", "NUM_PROXIES": "0", "HOST": f"127.0.0.1:{PORT}",
            "GUNICORN_WORKERS": "2", "LOGIN_FAILURE_LIMIT": "1000", **extra}


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def start(env, log):
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "alzaware/gunicorn.conf.py"], cwd=ROOT,
                              env=env, stdout=log, stderr=log, start_new_session=True)
    worker = subprocess.Popen([sys.executable, "manage.py", "task_worker", "--interval", "0.5"], cwd=ROOT, env=env,
                              stdout=log, stderr=log, start_new_session=True)
    for _ in range(300):
        try:
            if requests.get(f"{BASE}/healthz", timeout=10).status_code == 200:
                return server, worker
        except requests.RequestException:
            pass
        time.sleep(1)
    stop([server, worker])
    raise SystemExit("the server did not start")


def stop(processes, sig=signal.SIGTERM):
    for process in processes:
        os.killpg(process.pid, sig)
    for process in processes:
        process.wait(timeout=60)


def signed_in(email):
    session = requests.Session()
    page = session.get(f"{BASE}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(f"{BASE}/accounts/login/", data={"username": email, "password": PASSWORD,
                                                  "csrfmiddlewaretoken": token}, headers={"Referer": BASE})
    return session


def csrf(session, path):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(f"{BASE}{path}").text).group(1)


def at_once(calls):
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i):
        barrier.wait()
        try:
            results[i] = calls[i]()
        except requests.RequestException as error:
            results[i] = type(error).__name__
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def make_patients(env, count, prefix):
    code = ("from accounts.models import Patient, User\n"
            f"for i in range({count}):\n"
            f"    u = User.objects.create_user(email=f'{prefix}{{i}}@example.com', password='{PASSWORD}')\n"
            "    Patient.objects.create(user=u, date_of_birth='1950-01-01', sex='F')\n")
    done = manage(env, "shell", "-c", code)
    assert done.returncode == 0, done.stderr


def erasures(env):
    make_patients(env, 10, "erase")
    sessions = [signed_in(f"erase{i}@example.com") for i in range(10)]
    tokens = [csrf(one, "/accounts/delete/") for one in sessions]
    statuses = at_once([lambda s=s, t=t: s.post(f"{BASE}/accounts/delete/", headers={"Referer": BASE},
                                                data={"password": PASSWORD, "csrfmiddlewaretoken": t}).status_code
                        for s, t in zip(sessions, tokens)])
    left = manage(env, "shell", "-c", "from accounts.models import User; "
                  "print(User.objects.filter(email__startswith='erase').count())").stdout.strip().splitlines()[-1]
    return {"check": "ten erasures at once", "statuses": statuses, "accounts_left": int(left)}


def state(env):
    code = ("import json; from assessments.sweeper import owned_names, stored_names, file_fields\n"
            "from django.core.files.storage import default_storage\n"
            "from django_tasks_db.models import DBTaskResult\n"
            "names = [n for f in sorted({f for _, _, f in file_fields()}) for n in stored_names(default_storage, f)]\n"
            "print(json.dumps({'files_without_row': len(set(names) - owned_names()), 'files': len(names),\n"
            "  'tasks': {s: DBTaskResult.objects.filter(status=s).count() for s in ('READY', 'RUNNING', "
            "'SUCCESSFUL', 'FAILED')}}))")
    done = manage(env, "shell", "-c", code)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def crash(env, kill_after):
    """Six volume uploads at once, everything killed with SIGKILL ``kill_after`` seconds in."""
    make_patients(env, 6, "upload")
    sessions = [signed_in(f"upload{i}@example.com") for i in range(6)]
    tokens = [csrf(one, "/assessments/new/") for one in sessions]
    volume = scan_files.mni_nifti_bytes(2, compressed=True)
    statuses = []

    def upload(session, token):
        try:
            answer = session.post(f"{BASE}/assessments/new/", headers={"Referer": BASE}, timeout=120,
                                  data={"csrfmiddlewaretoken": token}, files={"scan": ("brain.nii.gz", volume)})
            statuses.append(answer.status_code)
        except requests.RequestException as error:
            statuses.append(type(error).__name__)

    threads = [threading.Thread(target=upload, args=pair) for pair in zip(sessions, tokens)]
    for thread in threads:
        thread.start()
    time.sleep(kill_after)
    return threads, statuses


def predict_limit(env, calls=70):
    """``calls`` predictions with one token, spread over the server's processes: how many were let through."""
    make_patients(env, 1, "predict")
    token = requests.post(f"{BASE}/api/token/", json={"email": "predict0@example.com", "password": PASSWORD}).json()
    headers = {"Authorization": f"Token {token['token']}"}
    statuses = at_once([lambda: requests.post(f"{BASE}/api/predict", headers=headers, timeout=120,
                                              files={"file": ("note.txt", b"not a scan")}).status_code
                        for _ in range(calls)])
    return {"check": f"{calls} predictions at once against the 30/hour limit", "statuses":
            {str(status): statuses.count(status) for status in sorted(set(statuses), key=str)}}


def main_predict():
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "server.log", "w") as log:
        env = environment(folder)
        assert manage(env, "migrate", "--noinput").returncode == 0
        processes = start(env, log)
        try:
            print(json.dumps(predict_limit(env)), flush=True)
        finally:
            stop(processes)


def main():
    if sys.argv[1:2] == ["predict"]:
        return main_predict()
    kill_after = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    grace = 5
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "server.log", "w") as log:
        env = environment(folder, ORPHAN_GRACE_SECONDS=str(grace), TASK_LEASE_SECONDS=str(grace),
                          SWEEP_INTERVAL_SECONDS="2")
        assert manage(env, "migrate", "--noinput").returncode == 0
        processes = start(env, log)
        try:
            print(json.dumps(erasures(env)), flush=True)
            threads, statuses = crash(env, kill_after)
        finally:
            stop(processes, signal.SIGKILL)
        for thread in threads:
            thread.join()
        print(json.dumps({"check": f"kill -9 {kill_after} s into six volume uploads", "answers": statuses,
                          "after_the_kill": state(env)}), flush=True)
        processes = start(env, log)
        try:
            time.sleep(grace + 6)  # the grace period and lease, then a sweep (every 2 s) and the retried tasks
            print(json.dumps({"check": "restarted, after the grace period", "state": state(env)}), flush=True)
        finally:
            stop(processes)
        log.flush()
        errors = Path(folder, "server.log").read_text().count("Traceback")
        print(json.dumps({"check": "tracebacks in the server's log", "count": errors}), flush=True)


if __name__ == "__main__":
    main()
