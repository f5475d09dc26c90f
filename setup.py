"""Build step: ship the configuration, the option catalogue and the docs inside the package.

``conf/`` and ``scenarios/`` stay at the top of the repository (they are what planners edit),
and ``docs/model.md`` is quoted by the board report. A wheel must carry them, so ``build_py``
copies them into the built package as ``sim/conf`` (with an ``__init__.py``, so Hydra finds
it as ``pkg://sim.conf``), ``sim/scenarios`` and ``sim/docs``. Every file is copied, so a
configuration group added later ships without touching this file. An editable install reads
the repository's folders directly (``sim/config/locations.py``) and copies nothing.

Everything else about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: repository folder -> (folder inside the package, file patterns shipped)
SHIPPED = {
    "conf": ("sim/conf", ("**/*.yaml",)),
    "scenarios": ("sim/scenarios", ("*.yaml",)),
    "docs": ("sim/docs", ("*.md",)),
}
CONF_INIT = '"""The configuration shipped with the package (Hydra: pkg://sim.conf)."""\n'


class BuildPyWithConfiguration(build_py):
    """``build_py`` that also copies :data:`SHIPPED` into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, (target, patterns) in SHIPPED.items():
            for pattern in patterns:
                for path in sorted((ROOT / source).glob(pattern)):
                    if path.is_file():
                        out = Path(self.build_lib) / target / path.relative_to(ROOT / source)
                        self.mkpath(str(out.parent))
                        self.copy_file(str(path), str(out))
        init = Path(self.build_lib) / "sim" / "conf" / "__init__.py"
        init.write_text(CONF_INIT, encoding="utf-8")


setup(cmdclass={"build_py": BuildPyWithConfiguration})
