"""The CLI fixtures (a clean environment, `ecslab(...)` returning code/out/err)."""

from tests.cli.conftest import Result, clean_env, ecslab

__all__ = ["Result", "clean_env", "ecslab"]
