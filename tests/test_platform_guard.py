"""`platform/` is a src-layout root, never a package: it must not shadow the standard library."""

import subprocess
import sys

from tests_helpers import REPO


def test_no_platform_package_file():
    assert not (REPO / "platform" / "__init__.py").exists()


def test_stdlib_platform_uuid_and_ray_import_from_repo_root():
    code = (
        "import platform, uuid, ray; "
        "assert platform.__file__.startswith(__import__('sysconfig').get_paths()['stdlib']), platform.__file__; "
        "assert callable(platform.system) and uuid.uuid4(); print(ray.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2.60.0"


def test_rayplane_package_lives_under_platform():
    import rayplane

    assert "platform/rayplane" in rayplane.__file__.replace("\\", "/")
