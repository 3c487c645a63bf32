"""What a user notices: progress that adds up, tables without trailing spaces, the
role's real name, defaults instead of blanks."""

from __future__ import annotations

import io
from collections.abc import Callable

from ecslab.aws.iam import canonical_role_arn
from ecslab.core.ui import UI
from tests.hostile.conftest import Result


def test_progress_never_shows_more_done_than_total() -> None:
    for mode in ("plain", "rich"):
        out = io.StringIO()
        ui = UI(mode=mode, color=False, out=out, err=io.StringIO())
        with ui.progress() as bars:
            bars.update("abc", "abc pushing", 1024, 593)
            bars.update("abc", "abc pushing", 3072, 593)
            bars.finish("abc", "abc pushed")
        shown = out.getvalue()
        assert "/593" not in shown
        assert "3,072/" not in shown and "3072/" not in shown


def test_piped_tables_have_no_trailing_spaces() -> None:
    out = io.StringIO()
    ui = UI(mode="plain", color=False, out=out, err=io.StringIO())
    ui.table("Things", ["name", "value"], [["a", "1"], ["longer name", "22"], ["b", ""]])
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert all(line == line.rstrip() for line in lines)


def test_the_ecs_role_arn_is_named_as_aws_names_it() -> None:
    moto = "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForecs"
    assert canonical_role_arn(moto).endswith("/ecs.amazonaws.com/AWSServiceRoleForECS")
    other = "arn:aws:iam::1:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
    assert canonical_role_arn(other) == other


def test_config_shows_what_an_unset_setting_means(ecslab: Callable[..., Result]) -> None:
    result = ecslab("config")
    rows = {line.split()[0]: line for line in result.out.splitlines() if line.strip()}
    assert "(the profile's)" in rows["region"]
    assert "(git short SHA of the microsite)" in rows["image_tag"]
    assert "(asked on a terminal)" in rows["db_password"]
    table = ecslab("-o", "json", "config").events()[0]
    rows_json = table["rows"]
    assert isinstance(rows_json, list)
    region = next(r for r in rows_json if r["setting"] == "region")
    assert region["value"] is None
