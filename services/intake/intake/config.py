from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

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
