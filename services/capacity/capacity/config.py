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
    # Where people reach the classifier's OKR page: the ops pages link to it.
    classifier_public_url: str = "http://127.0.0.1:8002"
    # Flow metrics and forecasts (capacity.flow): Monte Carlo trials per lane simulation; how many past
    # cycles of a lane's throughput it samples; the days the flow figures and SLEs look back on; how often
    # to look for slipped forecasts and work past its SLE; the back-test's reach and trials per forecast.
    flow_trials: int = Field(default=10_000, ge=1_000, le=100_000)
    flow_history_cycles: int = Field(default=26, ge=4, le=520)
    flow_window_days: int = Field(default=182, ge=7, le=3_650)
    flow_check_s: float = Field(default=300.0, gt=0)
    flow_calibration_cycles: int = Field(default=52, ge=1, le=520)
    flow_calibration_trials: int = Field(default=2_000, ge=500, le=100_000)
