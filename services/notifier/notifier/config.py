from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from notifier.domain import DEFAULT_CHANNELS, Audience, Channel, allowed_domains
from notifier.webhooks.sealed import check_key
from shared.settings import ServiceSettings

# After a failed attempt, wait this long before the next: about three days in all, as Standard Webhooks do.
RETRY_SCHEDULE_S = [5.0, 300.0, 1_800.0, 7_200.0, 18_000.0, 36_000.0, 50_400.0, 72_000.0, 72_000.0]


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_")
    port: int = 8004
    # Seals webhook signing secrets on the log (Fernet): no default, every deployment has its own. Losing it
    # loses the subscriptions' secrets for a rebuild; changing it needs the subscriptions made again.
    secrets_key: SecretStr
    ops_email: str = "marketing-ops@example.com"
    heat_shield_email: str = "heat-shield@example.com"
    team_name: str = "The marketing team"
    # Who hears through which channel, per audience; audiences left out keep these defaults.
    channels: dict[Audience, list[Channel]] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))

    # Email: not sent (and recorded as not sent) while no SMTP server is configured.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "marketing-requests@example.com"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # Chat: a Slack incoming webhook; Slack is used only when this is set.
    slack_webhook_url: SecretStr | None = None  # its path is a token
    slack_channel: str = "#marketing-ops"

    # Links in messages: every requester notice ends with a signed link to the request's page on intake
    # (the secret is intake's LINK_SECRET; without one, no link), and the heat-shield manager's trade-off
    # notice links to the trade-off's page on capacity.
    link_secret: SecretStr | None = Field(default=None, min_length=32)  # HMAC key: 256 bits or more
    intake_public_url: str = "http://127.0.0.1:8001"
    capacity_public_url: str = "http://127.0.0.1:8003"

    # Webhook subscriptions to loopback, private or link-local addresses: only for tests and demos.
    allow_private_targets: bool = False
    retry_schedule_s: list[float] = Field(default_factory=lambda: list(RETRY_SCHEDULE_S), min_length=1)
    retry_jitter: float = Field(default=0.2, ge=0, lt=1)
    send_timeout_s: float = Field(default=10.0, gt=0)
    send_concurrency: int = Field(default=32, ge=1)
    # A claimed send is due again after its lease: what bounds the repeat after a crash. It must
    # outlast two sends and the writes around them, or a slow send would be claimed again.
    lease_s: float = Field(default=60.0, gt=0)
    # The dispatcher wakes when a send is scheduled (on any instance) and when the earliest is due; this
    # timed look is only the net under those.
    dispatch_poll_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=5.0, ge=0)

    # Escalations: the requester's and ops' notices of a trade-off go once the heat-shield manager's
    # went out (or cannot), and at the latest this long after the event was consumed. Keep it above
    # lease_s, so a crash while the heat shield's notice is being sent does not let the others overtake it.
    escalation_grace_s: float = Field(default=90.0, ge=0)
    # Mail goes only to these domains (and their subdomains), besides those of ops_email and
    # heat_shield_email; others are recorded as not sent.
    recipient_domains: list[str] = Field(default_factory=list)
    # At most this many emails to one person in any hour; the team's own addresses are not counted.
    recipient_limit_per_hour: int = Field(default=30, ge=1)
    # A requester hears that their request's expected start moved (a backlog notice again, a slipped
    # forecast) at most once in this long, the latest news replacing what still waits; 0: each at once.
    update_window_s: float = Field(default=3600.0, ge=0)

    @property
    def allowed_recipient_domains(self) -> frozenset[str]:
        return allowed_domains(self.ops_email, self.heat_shield_email, extra=self.recipient_domains)

    @field_validator("channels", mode="before")
    @classmethod
    def _keep_unnamed_audiences(cls, value: Any) -> Any:
        return {**DEFAULT_CHANNELS, **value} if isinstance(value, dict) else value

    @field_validator("secrets_key")
    @classmethod
    def _a_fernet_key(cls, value: SecretStr) -> SecretStr:
        check_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> NotifierSettings:
        if self.lease_s < 2 * self.send_timeout_s + 10:
            raise ValueError("lease_s must be at least 2 * send_timeout_s + 10, or a slow send would be claimed "
                             "again while it is still running")
        return self
