"""neuromorph installed without its source tree: a wheel (and an editable install) into fresh
virtual environments outside the checkout.

The fresh environments get neuromorph's dependencies without downloading them: a ``.pth``
file whose one line is the running environment's site-packages directory. A plain path line
does not run the ``.pth`` hooks of that directory (``site.addpackage`` appends it to
``sys.path`` only), so the editable install of the checkout there stays invisible: the tests
check that ``neuromorph`` resolves to the copy installed in the fresh environment.

The wheel is built from a copy of the checkout (no ``build/`` or ``*.egg-info`` left in the
tree), without build isolation when the running environment has the build backend that
``pyproject.toml`` asks for, else by pip with isolation (which fetches the backend).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import tomli
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: The one source of the shipped targets.
CHECKOUT_TARGETS = ROOT / "hw_targets"
SHIPPED_TARGETS = {"loihi2", "loihi1", "generic16"}
EXAMPLE = ROOT / "examples" / "squid_hh.toml"
#: The example shortened (1 s x 10 neurons -> 200 ms x 2 neurons) so that its compare run takes seconds.
SHORTEN_EXAMPLE = {'duration = "1 * second"': 'duration = "200 * ms"', "neurons = 10": "neurons = 2"}
#: Not copied into the build tree: version control, environments, build leftovers, caches, outputs.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                    ".pytest_cache", "out")
#: Environment variables that would let a subprocess see the checkout or other targets.
LEAKING_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV",
                     "NEUROMORPH_TARGETS_DIR")
#: Longest any one build, install or run may take (a hung pip fails the test instead of the suite).
COMMAND_TIMEOUT_S = 600

#: Run inside a fresh environment: where neuromorph and its targets were found.
PROBE = """
import json, importlib.resources, neuromorph, neuromorph.targets as targets
print(json.dumps({
    "package": neuromorph.__file__,
    "available": targets.available_targets(),
    "targets_dir": str(targets.targets_dir()),
    "loihi2": targets.load_target("loihi2").source,
    "package_data": str(importlib.resources.files("neuromorph.hw_targets")),
}))
"""


def run(command: list, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command`` in ``cwd`` with no variable pointing at the checkout; fail with its output."""
    env = {key: value for key, value in os.environ.items() if key not in LEAKING_VARIABLES}
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def build_backend_installed() -> bool:
    """Whether the running environment satisfies ``[build-system] requires`` of ``pyproject.toml``."""
    requires = tomli.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, requires):
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    return True


def fresh_environment(where: Path) -> tuple[Path, Path]:
    """A new virtual environment at ``where`` without pip: its interpreter and its site-packages."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    python = where / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], where).stdout.strip()
    return python, Path(site)


def install(python: Path, site: Path, *requirement) -> None:
    """Install ``requirement`` (no dependencies) into the environment of ``python``, then make the running
    environment's packages (the dependencies) visible there through a plain ``.pth`` path line.

    pip runs from the running environment (``--python``), so the fresh one needs no pip; an
    editable install builds with isolation in the fresh environment, as ``make install`` does.
    """
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", *requirement], site)
    running = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (site / "running_environment.pth").write_text("".join(f"{path}\n" for path in sorted(running)))


def probe(python: Path, cwd: Path) -> dict:
    """Where neuromorph, its targets and its package data are found by ``python`` (see :data:`PROBE`)."""
    return json.loads(run([python, "-c", PROBE], cwd).stdout)


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory) -> Path:
    """A copy of the checkout to build from, outside it."""
    copy = tmp_path_factory.mktemp("source") / "neuromorph"
    shutil.copytree(ROOT, copy, ignore=NOT_SOURCE)
    return copy


@pytest.fixture(scope="module")
def wheel(source_copy, tmp_path_factory) -> Path:
    """neuromorph's wheel, built from :func:`source_copy` by the running interpreter."""
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation"] if build_backend_installed() else []
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--wheel-dir", out, source_copy], out)
    (built,) = out.glob("neuromorph-*.whl")
    return built


def test_wheel_installed_without_the_checkout_ships_its_targets(wheel, tmp_path):
    assert ROOT not in tmp_path.parents
    environment = tmp_path / "env"
    python, site = fresh_environment(environment)
    install(python, site, wheel)

    found = probe(python, tmp_path)
    assert Path(found["package"]).is_relative_to(site), f"neuromorph imported from {found['package']}"
    checkout = {path.stem for path in CHECKOUT_TARGETS.glob("*.toml")}
    assert SHIPPED_TARGETS <= checkout and set(found["available"]) == checkout
    for key in ("targets_dir", "loihi2", "package_data"):
        assert Path(found[key]).is_relative_to(site / "neuromorph" / "hw_targets"), (key, found[key])
    assert Path(found["loihi2"]).read_bytes() == (CHECKOUT_TARGETS / "loihi2.toml").read_bytes()

    model = tmp_path / "squid_short.toml"
    text = EXAMPLE.read_text()
    for old, new in SHORTEN_EXAMPLE.items():
        assert old in text, f"{EXAMPLE} no longer has {old!r}: update SHORTEN_EXAMPLE"
        text = text.replace(old, new)
    model.write_text(text)
    out = tmp_path / "report"
    run([environment / "bin" / "neuromorph", "compare", model.name, "--target", "loihi2", "--backend", "emulator",
         "--out", out], tmp_path)
    report = json.loads((out / "report.json").read_text())
    assert (report["target"], report["backend"]) == ("loihi2", "emulator")
    assert 0 <= report["gamma"] <= 1


def test_editable_install_maps_the_targets_package_onto_hw_targets(source_copy, tmp_path):
    python, site = fresh_environment(tmp_path / "env")
    install(python, site, "--editable", source_copy)

    found = probe(python, tmp_path)
    assert Path(found["package"]).is_relative_to(source_copy), f"neuromorph imported from {found['package']}"
    assert SHIPPED_TARGETS <= set(found["available"])
    for key in ("targets_dir", "loihi2", "package_data"):
        assert Path(found[key]).is_relative_to(source_copy / "hw_targets"), (key, found[key])
