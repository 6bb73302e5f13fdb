from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CapacitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CAPACITY_")
    port: int = 8003
    # Who hears first of every expedite that needs a trade-off.
    heat_shield_email: str = Field(default="heat-shield@example.com")
    # How often to check whether a new cycle began (and replan once for it).
    cycle_check_s: float = Field(default=60.0, gt=0)
