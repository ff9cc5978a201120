"""The layout's rules that a reader of docs/architecture.md relies on: the web app never imports the research code,
and no script edits ``sys.path`` (everything runs as modules from the repository root)."""

import ast
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

ROOT = Path(settings.BASE_DIR)
WEB_APP = ("alzaware", "accounts", "assessments", "audit", "mri")
OUR_CODE = (*WEB_APP, "training", "benchmarks", "tests", "models")
RESEARCH = {"training", "benchmarks"}


def python_files(folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imported_packages(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


class LayoutTests(SimpleTestCase):
    def test_the_web_app_never_imports_training_or_benchmarks(self):
        found = {str(path.relative_to(ROOT)): sorted(set(imported_packages(path)) & RESEARCH)
                 for path in python_files(WEB_APP)}
        self.assertEqual({path: names for path, names in found.items() if names}, {})

    def test_no_python_file_edits_sys_path(self):
        edit = "sys.path." + "insert"  # split, so this file does not find itself
        offenders = [str(path.relative_to(ROOT)) for path in python_files(OUR_CODE) if edit in path.read_text()]
        self.assertEqual(offenders, [])

    def test_it_reads_every_kind_of_import(self):
        # The checks above would pass on nothing found: the reader must see both forms.
        self.assertEqual(set(imported_packages(ROOT / "manage.py")) & {"os", "sys"}, {"os", "sys"})
        self.assertIn("django_tasks_db", set(imported_packages(ROOT / "assessments/management/commands/task_worker.py")))
