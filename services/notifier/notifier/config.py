from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_")
    port: int = 8004
    ops_email: str = "marketing-ops@example.com"
    heat_shield_email: str = "heat-shield@example.com"
