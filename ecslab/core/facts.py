"""Facts of the lab that several layers need, each decided here once.

Kept free of imports beyond the standard library so the CLI's `--help` can use them.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

# Image platforms Fargate runs, and the task definition's RuntimePlatform.CpuArchitecture
# each one needs (the template's CpuArchitecture parameter).
CPU_ARCHITECTURES = MappingProxyType({"linux/amd64": "X86_64", "linux/arm64": "ARM64"})
PLATFORMS: tuple[str, ...] = tuple(CPU_ARCHITECTURES)
DEFAULT_PLATFORM = "linux/amd64"

# Where the lab's files sit in a checkout, and the checkout this package was installed from.
TEMPLATE_RELPATH = Path("templates") / "worshop-ecs.yaml"
MICROSITE_RELPATH = Path("microsite")
CHECKOUT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = CHECKOUT / TEMPLATE_RELPATH
DB_PASSWORD_ENV = "ECSLAB_DB_PASSWORD"  # the one way to give the password without a prompt
