"""A plain `pip install .` (what k8s/image/Dockerfile runs) gives a package that imports and runs its CLI.

Every third-party module that platform/rayplane/ imports must come from a declared runtime dependency, not from
the [dev] extra that CI installs alongside it; a dev-only import passes every other test and breaks the image.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from tests_helpers import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
PACKAGE = REPO / "platform" / "rayplane"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level_imports(source: str) -> set[str]:
    """Top-level names of every absolute import in ``source``, including imports inside functions."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def undeclared(modules: set[str], declared: set[str]) -> dict[str, list[str]]:
    """Third-party modules none of whose installed distributions is in ``declared`` -> those distributions.

    A module no installed distribution provides maps to [] and counts as undeclared too.
    """
    providers = md.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"rayplane"}
    return {m: providers.get(m, []) for m in sorted(third_party)
            if not {canonical(d) for d in providers.get(m, [])} & declared}


def runtime_closure() -> set[str]:
    """Canonical names of the runtime dependencies and, as installed here, everything they require in turn."""
    seen: set[str] = set()
    pending = [Requirement(r) for r in PROJECT["dependencies"]]
    while pending:
        req = pending.pop()
        name = canonical(req.name)
        key = name + "".join(sorted(f"[{e}]" for e in req.extras))
        if key in seen:
            continue
        seen.update({key, name})
        for text in md.requires(req.name) or []:
            dep = Requirement(text)
            # A dependency counts when its marker holds here for no extra or for one of the extras asked for.
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in {"", *req.extras}):
                pending.append(dep)
    return {name for name in seen if "[" not in name}


RUNTIME = {canonical(Requirement(r).name) for r in PROJECT["dependencies"]}


def test_every_third_party_import_is_a_declared_runtime_dependency():
    imported: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for module in top_level_imports(path.read_text()):
            imported.setdefault(module, set()).add(str(path.relative_to(REPO)))
    missing = undeclared(set(imported), RUNTIME)
    assert not missing, "imported by rayplane but not in [project].dependencies:\n" + "\n".join(
        f"  {m} (distribution {dists or 'not installed'}) in {sorted(imported[m])}" for m, dists in missing.items())


def test_the_check_finds_a_dev_only_and_an_uninstalled_import():
    """The check above is only as good as its parsing: a lazy dev-only import and an unknown module fail it."""
    source = textwrap.dedent("""
        import os, yaml
        from . import sibling
        def later():
            from schemathesis import openapi
            import no_such_module_anywhere
    """)
    assert undeclared(top_level_imports(source), RUNTIME) == {"schemathesis": ["schemathesis"],
                                                            "no_such_module_anywhere": []}


def dev_only_modules() -> set[str]:
    """Importable top-level modules that only the [dev] extra brings: nothing in the runtime closure provides them."""
    runtime = runtime_closure()
    dev = {canonical(Requirement(r).name) for r in PROJECT["optional-dependencies"]["dev"]} - runtime
    providers = md.packages_distributions()
    return {module for module, dists in providers.items()
            if {canonical(d) for d in dists} & dev and not {canonical(d) for d in dists} & runtime}


# Installed as sitecustomize: every import of a blocked module (or one of its submodules) fails as if the
# module were not installed, the way it is in an image built with a plain `pip install .`.
BLOCKER = """
import importlib.abc, os, sys

class DevOnlyBlocker(importlib.abc.MetaPathFinder):
    blocked = set(os.environ["RAYPLANE_BLOCKED_MODULES"].split(","))

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (dev-only, blocked)", name=name)
        return None

sys.meta_path.insert(0, DevOnlyBlocker())
"""


def blocking_env(blocked: set[str], site_dir: Path) -> dict[str, str]:
    """The environment of a Python that cannot import ``blocked`` and imports rayplane from this checkout."""
    (site_dir / "sitecustomize.py").write_text(BLOCKER)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site_dir), str(REPO / "platform")]),
            "RAYPLANE_BLOCKED_MODULES": ",".join(sorted(blocked))}


def cli_without(blocked: set[str], site_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rayplane.cli.main", *args], cwd=REPO,
                          env=blocking_env(blocked, site_dir), capture_output=True, text=True, timeout=60)


def test_the_blocker_hides_dev_only_modules(tmp_path):
    blocked = dev_only_modules()
    # The dev tools themselves, and nothing the runtime needs (`k8s validate` needs the schema validators).
    assert {"pytest", "kmock", "schemathesis"} <= blocked
    assert not blocked & {"ray", "yaml", "click", "pydantic", "jsonschema", "kubernetes_validate", "torch"}
    env = blocking_env({"_pytest"}, tmp_path)

    def load(module: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True,
                              timeout=60)

    hidden = load("_pytest.python")
    assert hidden.returncode == 1 and "No module named '_pytest' (dev-only, blocked)" in hidden.stderr, hidden.stderr
    assert load("yaml").returncode == 0


def test_cli_help_and_validate_run_without_dev_dependencies(tmp_path):
    blocked = dev_only_modules()
    # --help loads every command's module (for its one-line help), so it imports most of the package.
    shown = cli_without(blocked, tmp_path, "--help")
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "validate  Check a workload spec" in shown.stdout and "serve " in shown.stdout

    spec = REPO / "workloads" / "flights_delay" / "workload.yaml"
    checked = cli_without(blocked, tmp_path, "validate", str(spec))
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert checked.stdout.startswith(f"{spec}: valid workload 'flights_delay'"), checked.stdout
