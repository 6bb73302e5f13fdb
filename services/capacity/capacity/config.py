from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CapacitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CAPACITY_")
    port: int = 8003
    cycle_days: int = Field(default=7, ge=1, le=28)
    capacity_points: int = Field(default=20, ge=1)
    size_points: dict[str, int] = Field(default_factory=lambda: {"XS": 1, "S": 2, "M": 3, "L": 5, "XL": 8})
    default_points: int = Field(default=3, ge=1)
