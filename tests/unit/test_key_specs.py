"""Which keys may be made: a submit-only key is a requester tool's, and a requester tool names its lanes."""

import pytest
from pydantic import ValidationError

from shared.access import KeySpec, Role
from shared.settings import ServiceSettings


@pytest.mark.parametrize("role", [Role.OPS, Role.TEAM_MEMBER, Role.HEAT_SHIELD])
def test_only_a_requester_tools_key_may_be_submit_only(role: Role) -> None:
    refused = KeySpec(tool="form", role=role, submit_only=True).refusal()
    assert refused is not None and "submit-only" in refused
    with pytest.raises(ValidationError, match="submit-only"):
        ServiceSettings(api_keys={"secret": KeySpec(tool="form", role=role, submit_only=True)})


def test_a_requester_tool_names_its_lanes_and_a_sound_form_key_is_accepted() -> None:
    assert KeySpec(tool="crm", role=Role.REQUESTER_TOOL).refusal() is not None
    form = KeySpec(tool="form", role=Role.REQUESTER_TOOL, lanes=("customer",), submit_only=True)
    assert form.refusal() is None
    assert ServiceSettings(api_keys={"secret": form}).api_keys["secret"].submit_only


def test_a_link_secret_shorter_than_32_characters_is_refused_at_start() -> None:
    from intake.config import IntakeSettings
    from notifier.config import NotifierSettings

    for settings in (IntakeSettings, NotifierSettings):
        with pytest.raises(ValidationError, match="link_secret"):
            settings(link_secret="too-short-a-secret")


def test_the_forms_key_when_provisioned_with_intake_must_be_submit_only() -> None:
    from intake.config import IntakeSettings

    full = KeySpec(tool="crm", role=Role.REQUESTER_TOOL, lanes=("sales",))
    with pytest.raises(ValidationError, match="submit-only"):
        IntakeSettings(api_keys={"crm-secret": full}, form_key="crm-secret")
    form = KeySpec(tool="form", role=Role.REQUESTER_TOOL, lanes=("sales",), submit_only=True)
    assert IntakeSettings(api_keys={"form-secret": form}, form_key="form-secret").form_key is not None
