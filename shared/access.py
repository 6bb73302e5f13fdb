"""Who may do what: API keys, their roles and the lanes and teams they may post for.

A key is a random secret shown once; only its SHA-256 is kept. Each key is bound
to one calling tool and one role:

- ``requester_tool``: posts requests for its lanes (and teams), reads its own;
- ``team_member``: moves cards on the board, reads everything but the ops surface;
- ``heat_shield``: a team member who also decides trade-offs;
- ``ops``: OKRs, policy, keys, subscriptions, dead letters, and reads everything.

``KeyRegistry`` holds the records in memory; ``shared.keyfeed`` keeps it in step
with the keys topic, so every service and instance sees a revocation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events import LANES, EventData, Lane, lane_words

__all__ = [
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "Caller",
    "KeyRecord",
    "KeyRegistry",
    "KeySpec",
    "Role",
    "TEAM_ROLES",
    "hash_secret",
    "issue",
    "key_id_for",
    "new_secret",
]

KEY_PREFIX = "gov_"
_TOOL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Role(StrEnum):
    REQUESTER_TOOL = "requester_tool"
    TEAM_MEMBER = "team_member"
    HEAT_SHIELD = "heat_shield"
    OPS = "ops"


TEAM_ROLES = (Role.TEAM_MEMBER, Role.HEAT_SHIELD, Role.OPS)


class KeySpec(BaseModel):
    """What a key is for: from configuration, or the body of ``POST /v1/keys``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str = Field(pattern=_TOOL.pattern, description="The calling tool, e.g. 'crm' or 'intake-form'.")
    role: Role
    lanes: tuple[Lane, ...] | None = Field(
        default=None, min_length=1,
        description="Requester types it may post for; omitted means every lane (ops), none for other roles.")
    teams: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="Requester teams it may post for; omitted means any team.")
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    submit_only: bool = Field(
        default=False, description="A requester tool's key that may only submit requests and dry-run them "
                                   "(a public request form's): every read and every other call refuses it.")

    def refusal(self) -> str | None:
        """Why a new key cannot have this spec, or None. Checked where keys are made (the keys API, the CLI,
        configuration), not on records replayed from the keys topic."""
        if self.role is Role.REQUESTER_TOOL and not self.lanes:
            return "A requester tool's key needs the lanes (requester types) it may post for."
        if self.submit_only and self.role is not Role.REQUESTER_TOOL:
            return "Only a requester tool's key may be submit-only (a public form's); this role would ignore it."
        return None


class KeyRecord(KeySpec):
    key_id: str
    secret_sha256: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def public(self) -> dict[str, object]:
        """The record as the keys API shows it: never the hash."""
        return self.model_dump(mode="json", exclude={"secret_sha256"})


class ApiKeyCreated(EventData):
    event_type: ClassVar[str] = "apikey.created"
    key: KeyRecord

    def subject(self) -> str:
        return self.key.key_id


class ApiKeyRevoked(EventData):
    event_type: ClassVar[str] = "apikey.revoked"
    key_id: str
    revoked_at: datetime
    revoked_by: str

    def subject(self) -> str:
        return self.key_id


def hash_secret(secret: str) -> str:
    # The secrets are 256-bit random tokens, so a fast hash is enough; there is nothing to brute-force.
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_id_for(secret_sha256: str) -> str:
    return "key_" + secret_sha256[:16]


def issue(spec: KeySpec, by: str, at: datetime) -> tuple[str, ApiKeyCreated]:
    """A new key: its secret (to show once) and the event that records only its hash."""
    secret = new_secret()
    digest = hash_secret(secret)
    return secret, ApiKeyCreated(key=KeyRecord(**spec.model_dump(), key_id=key_id_for(digest), secret_sha256=digest,
                                               created_at=at, created_by=by))


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one HTTP call."""

    key_id: str
    tool: str
    role: Role
    lanes: tuple[Lane, ...]
    teams: tuple[str, ...] | None
    rate_limit_per_minute: int | None
    submit_only: bool = False

    @classmethod
    def of(cls, record: KeyRecord) -> Caller:
        lanes = record.lanes if record.lanes is not None else (LANES if record.role is Role.OPS else ())
        return cls(key_id=record.key_id, tool=record.tool, role=record.role, lanes=lanes, teams=record.teams,
                   rate_limit_per_minute=record.rate_limit_per_minute,
                   submit_only=record.submit_only and record.role is Role.REQUESTER_TOOL)

    @property
    def sees_everything(self) -> bool:
        """Requester tools see only what they posted; everyone else sees all requests."""
        return self.role is not Role.REQUESTER_TOOL

    @property
    def only_posted_by(self) -> str | None:
        """The tool whose requests alone this caller may see; None when it may see every request."""
        return None if self.sees_everything else self.tool

    def may_see(self, posted_by: str) -> bool:
        """Whether a request posted by the tool ``posted_by`` is visible to this caller."""
        return self.sees_everything or posted_by == self.tool

    def refusal_to_post(self, lane: Lane, team: str) -> str | None:
        """Why this key may not post a request for ``lane`` and ``team``; None when it may."""
        if lane not in self.lanes:
            allowed = ", ".join(lane_words(x) for x in self.lanes) or "no lane"
            return (f"The key of '{self.tool}' may post for {allowed}, not {lane_words(lane)}: the lane "
                    "comes from the key, so ask ops for a key of that requester type.")
        if self.teams is not None and team not in self.teams:
            return f"The key of '{self.tool}' may post for the teams {', '.join(self.teams)}, not '{team}'."
        return None


class KeyRegistry:
    """Every known key by the hash of its secret; configured keys first, then the keys topic."""

    def __init__(self, configured: dict[str, KeySpec], epoch: datetime) -> None:
        self._by_hash: dict[str, KeyRecord] = {}
        self._revoked: dict[str, ApiKeyRevoked] = {}
        for secret, spec in configured.items():
            digest = hash_secret(secret)
            self._by_hash[digest] = KeyRecord(**spec.model_dump(), key_id=key_id_for(digest),
                                              secret_sha256=digest, created_at=epoch,
                                              created_by="configuration")

    def apply(self, event: ApiKeyCreated | ApiKeyRevoked) -> None:
        """Fold one event of the keys topic in; a repeat changes nothing."""
        if isinstance(event, ApiKeyCreated):
            self._by_hash.setdefault(event.key.secret_sha256, event.key)
        else:
            self._revoked.setdefault(event.key_id, event)

    def revoked(self, key_id: str) -> bool:
        """Whether the key ``key_id`` was revoked: a stream opened with it ends (capacity's dashboard)."""
        return key_id in self._revoked

    def find(self, secret: str) -> KeyRecord | None:
        record = self._by_hash.get(hash_secret(secret))
        return None if record is None else self._with_revocation(record)

    def get(self, key_id: str) -> KeyRecord | None:
        for record in self._by_hash.values():
            if record.key_id == key_id:
                return self._with_revocation(record)
        return None

    def all(self) -> list[KeyRecord]:
        return sorted((self._with_revocation(r) for r in self._by_hash.values()), key=lambda r: r.created_at)

    def _with_revocation(self, record: KeyRecord) -> KeyRecord:
        revoked = self._revoked.get(record.key_id)
        if revoked is None:
            return record
        return record.model_copy(update={"revoked_at": revoked.revoked_at, "revoked_by": revoked.revoked_by})
