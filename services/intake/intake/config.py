from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.access import Role
from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_")
    port: int = 8001
    # Signs the links to one request that the notifier puts in every notice (the notifier's LINK_SECRET
    # must be the same). Without one, no link is made or accepted.
    link_secret: SecretStr | None = Field(default=None, min_length=32)  # HMAC key: 256 bits or more
    link_ttl_days: float = Field(default=90.0, gt=0)
    # The request form's page: where the browser reaches the classifier for the dry run and the OKRs,
    # and the secret of a submit-only requester_tool key that the form posts with (none: a person enters a key).
    classifier_public_url: str = "http://127.0.0.1:8002"
    form_key: SecretStr | None = None

    @model_validator(mode="after")
    def _form_key_is_submit_only(self) -> "IntakeSettings":
        """The form's key is written into a public page: when it is provisioned here too, it must be a
        submit-only requester tool's, or the page would hand out a key that reads or does more."""
        spec = self.api_keys.get(self.form_key.get_secret_value()) if self.form_key else None
        if spec is not None and not (spec.submit_only and spec.role is Role.REQUESTER_TOOL):
            raise ValueError("INTAKE_FORM_KEY is published in the request form's page: it must be a submit-only "
                             "requester_tool key (submit_only: true), not a key that can read or do more")
        return self
