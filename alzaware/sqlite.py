"""SQLite, the default database, set up to hold concurrent use: two gunicorn workers, their threads and the
task worker write to it at once.

Measured under `make serve` before (issue 25): ten account deletions at once gave four HTTP 500s ("database is
locked") and `createdoctor` failed six times in seven while the task worker ran. Three settings fix that:
- WAL journal: readers no longer block the writer, nor the writer the readers;
- a busy timeout: a writer waits for the one before it instead of failing at once;
- IMMEDIATE transactions: a transaction takes the write lock when it starts. A DEFERRED one that reads, then
  writes, cannot wait for the lock (SQLite refuses the upgrade at once to avoid a deadlock, whatever the
  timeout), which is where the 500s came from.
"""

SQLITE_ENGINE = "django.db.backends.sqlite3"
BUSY_TIMEOUT_SECONDS = 30
PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"


def for_concurrent_use(database):
    """``database`` (a DATABASES entry) with the options above when it is SQLite; others are left as they are."""
    if database.get("ENGINE") != SQLITE_ENGINE:
        return database
    options = database.setdefault("OPTIONS", {})
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("timeout", BUSY_TIMEOUT_SECONDS)
    options.setdefault("init_command", PRAGMAS)
    return database
