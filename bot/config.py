"""Settings: `config.yaml`, overridable per key by `REDGRID_<SECTION>__<KEY>` variables."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from bot.exceptions import ConfigError

DEFAULT_CONFIG_FILE = Path("config.yaml")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/redgrid.sqlite3"


def _none_if_blank(value: Any) -> Any:
    """An empty or blank string given for an optional secret means it is not set."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


class DatabaseSettings(BaseModel):
    url: str = DEFAULT_DATABASE_URL
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    framework: Literal["ptb", "aiogram"] = "ptb"
    mode: Literal["polling", "webhook"] = "polling"
    api_base_url: str = "https://api.telegram.org"
    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    # Polling: chats of one getUpdates batch handled at once (each chat's updates in order).
    # A chat's update waits for its replies to reach Telegram, a network round trip, so this
    # bounds throughput at about polling_chats / round trip: 8 at 100 ms would be 80 updates/s.
    polling_chats: int = Field(default=64, ge=1, le=1000)

    @field_validator("token", "webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `REDGRID_TELEGRAM__TOKEN=` in an environment file means "no Telegram", not a token.
        return _none_if_blank(value)

    @model_validator(mode="after")
    def _webhook_has_url(self) -> TelegramSettings:
        if self.token is not None and self.mode == "webhook" and not self.webhook_url.strip():
            raise ValueError(
                "telegram.mode is webhook but telegram.webhook_url is not set: give the "
                "public https URL Telegram posts to (REDGRID_TELEGRAM__WEBHOOK_URL), or use "
                "telegram.mode polling"
            )
        return self


class LocaleSettings(BaseModel):
    default: Literal["zh", "en"] = "zh"


class RequestSettings(BaseModel):
    reference_prefix: str = Field(default="JM", pattern=r"^[A-Z]{1,6}$")
    similar_days: int = Field(default=30, ge=1)
    evaluation_days: int = Field(default=3, ge=1)
    # One message: Telegram's own limit, so a long paste it splits is taken whole, in parts.
    max_text_length: int = Field(default=4096, ge=100)
    # A request's description: the messages of a report together.
    max_description_length: int = Field(default=20000, ge=1000)
    # Updates a person may send per minute before the rest are held (0: no limit).
    flood_per_minute: int = Field(default=20, ge=0)


class RoutingSettings(BaseModel):
    nearest_compound_m: float = Field(default=500.0, ge=0)


class SlaSettings(BaseModel):
    accept_hours: float = Field(default=2.0, gt=0)
    contact_hours: float = Field(default=24.0, gt=0)
    urgent_resolve_hours: float = Field(default=24.0, gt=0)
    emergency_resolve_hours: float = Field(default=2.0, gt=0)
    # A unit that receives an escalated request gets at least this long to resolve it.
    escalation_resolve_hours: float = Field(default=24.0, gt=0)


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # The address people open, e.g. https://redgrid.example.gov.cn (links in invites and QR
    # codes; cookies are Secure when it is https). Empty: http://{host}:{port}.
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")

    @property
    def base_url(self) -> str:
        """Where people reach the web chat, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # /metrics and the details of /healthz answer only `Authorization: Bearer <metrics_token>`;
    # metrics_port serves them to anyone on 127.0.0.1 alone (for a local Prometheus).
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return _none_if_blank(value)

    # Request bodies are refused past these, before they are read (the photo upload route
    # allows webchat.max_upload_mb plus a small form overhead).
    max_body_kb: int = Field(default=64, ge=1, le=10_240)  # the JSON API and every other route
    max_webhook_kb: int = Field(default=1024, ge=1, le=10_240)  # channels' webhooks (Telegram)


class WebchatSettings(BaseModel):
    # Demo identities: the start page offers the demo district's people. For trying redgrid on
    # one's own machine only: the process refuses to start with it on a non-loopback address.
    demo: bool = False
    session_secret: SecretStr | None = None  # generated and kept under ./data/ when unset
    session_days: float = Field(default=30.0, gt=0, le=400)  # a session cookie's lifetime
    # New anonymous sessions one client address may start per hour (0: no limit).
    sessions_per_hour: int = Field(default=30, ge=0)
    upload_dir: Path = Path("data/uploads")
    max_upload_mb: int = Field(default=10, ge=1, le=50)


class OutboxSettings(BaseModel):
    global_rate: float = Field(default=30.0, gt=0)
    chat_rate: float = Field(default=1.0, gt=0)
    group_rate_per_minute: float = Field(default=20.0, gt=0)
    quiet_start: str = Field(default="22:00", pattern=r"^\d{2}:\d{2}$")
    quiet_end: str = Field(default="07:00", pattern=r"^\d{2}:\d{2}$")


class JobSettings(BaseModel):
    """One scheduled sweep: on or off, and when: every N seconds, or daily (or weekly) at HH:MM
    local time."""

    enabled: bool = True
    every_seconds: int | None = Field(default=None, ge=1)
    at: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> JobSettings:
        if self.every_seconds is not None and self.at is not None:
            raise ValueError("give either every_seconds or at, not both")
        return self


class SchedulerSettings(BaseModel):
    enabled: bool = True
    # Remind the owner (催办) when this fraction of a deadline's time is left.
    remind_fraction: float = Field(default=0.25, gt=0, lt=1)
    escalate: JobSettings = JobSettings(every_seconds=60)  # overdue requests climb one level
    reminders: JobSettings = JobSettings(every_seconds=60)
    whistles: JobSettings = JobSettings(every_seconds=60)
    close_unrated: JobSettings = JobSettings(every_seconds=3600)
    volunteer_widen: JobSettings = JobSettings(every_seconds=300)
    upkeep: JobSettings = JobSettings(at="06:00")
    resident_digest: JobSettings = JobSettings(at="07:30")
    queue_digest: JobSettings = JobSettings(at="08:00")
    volunteer_reminder: JobSettings = JobSettings(at="09:00")
    weekly_report: JobSettings = JobSettings(at="08:30", weekday="mon")
    meeting_reminders: JobSettings = JobSettings(every_seconds=300)
    close_polls: JobSettings = JobSettings(every_seconds=60)
    expire_exports: JobSettings = JobSettings(every_seconds=3600)
    upload_sweep: JobSettings = JobSettings(every_seconds=3600)
    broadcast_progress: JobSettings = JobSettings(every_seconds=60)
    retrain_classifier: JobSettings = JobSettings(at="03:30", weekday="sun")
    # Uploaded files no row refers to are deleted once this old.
    orphan_upload_hours: float = Field(default=24.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _former_names(cls, data: Any) -> Any:
        """`deadlines`, the escalate sweep's former name, is still read (and wins over
        `escalate`, key by key, so an old environment override still applies)."""
        if isinstance(data, dict) and "deadlines" in data:
            data = dict(data)
            former, current = data.pop("deadlines"), data.get("escalate")
            if isinstance(former, dict) and isinstance(current, dict):
                former = {**current, **former}
            data["escalate"] = former
        return data


class WhistleSettings(BaseModel):
    ack_minutes: int = Field(default=30, ge=1)  # departments must acknowledge within this


class MeetingSettings(BaseModel):
    # The deep link printed on a meeting's notice. Placeholders: {payload} ("m_<id>"), {bot}
    # (bot_username), {web_host}, {web_port}. For Telegram: "https://t.me/{bot}?start={payload}".
    link_format: str = "http://{web_host}:{web_port}/?start={payload}"
    bot_username: str = ""
    notice_dir: Path = Path("data/notices")
    font_path: str = ""  # a font with Chinese glyphs for notices; empty: look in usual places


class StatsSettings(BaseModel):
    """The three rates' composite score, and who sees residents' phone numbers in exports."""

    weight_response: float = Field(default=0.30, ge=0)
    weight_resolution: float = Field(default=0.35, ge=0)
    weight_satisfaction: float = Field(default=0.35, ge=0)
    # Admins granted on a unit of these kinds see full phone numbers in exports (they call
    # residents back); admins higher up see them masked: they need numbers, not people.
    phone_visible_kinds: list[str] = Field(default_factory=lambda: ["community"])
    export_dir: Path = Path("data/exports")


class ExportSettings(BaseModel):
    """Files made for download (exports under stats.export_dir): deleted after keep_hours."""

    keep_hours: float = Field(default=24.0, gt=0)


class VolunteerSettings(BaseModel):
    # An unclaimed task is pushed to other paired teams after this, then the owner is told.
    widen_after_minutes: float = Field(default=60.0, gt=0)
    tell_owner_after_minutes: float = Field(default=60.0, gt=0)
    invite_days: float = Field(default=7.0, gt=0)


class CobuildSettings(BaseModel):
    """Dual reporting and co-building: how long residents grade a completed project, and the
    weights of the units' ranking (residents' grade, completion on time, members' hours)."""

    grading_days: float = Field(default=7.0, gt=0)
    weight_grade: float = Field(default=0.5, ge=0)
    weight_on_time: float = Field(default=0.3, ge=0)
    weight_hours: float = Field(default=0.2, ge=0)


class Settings(BaseSettings):
    """All settings of one redgrid process."""

    model_config = SettingsConfigDict(
        env_prefix="REDGRID_", env_nested_delimiter="__", extra="forbid"
    )

    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    locale: LocaleSettings = LocaleSettings()
    timezone: str = "Asia/Shanghai"
    requests: RequestSettings = RequestSettings()
    web: WebSettings = WebSettings()
    webchat: WebchatSettings = WebchatSettings()
    outbox: OutboxSettings = OutboxSettings()
    routing: RoutingSettings = RoutingSettings()
    sla: SlaSettings = SlaSettings()
    stats: StatsSettings = StatsSettings()
    exports: ExportSettings = ExportSettings()
    volunteers: VolunteerSettings = VolunteerSettings()
    meetings: MeetingSettings = MeetingSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    whistles: WhistleSettings = WhistleSettings()
    cobuild: CobuildSettings = CobuildSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("REDGRID_CONFIG", DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=path, yaml_file_encoding="utf-8"),
        )


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse (ConfigError) to serve demo identities anywhere but this machine: anyone who can
    open the page could act as the demo district's admins."""
    if not settings.webchat.demo:
        return
    if not _is_loopback(settings.web.host):
        raise ConfigError(
            f"webchat.demo is on and web.host is {settings.web.host!r}, not a loopback address: "
            "demo identities are for trying redgrid on this machine only. Turn webchat.demo "
            "off (REDGRID_WEBCHAT__DEMO=false) or set web.host to 127.0.0.1."
        )
    public = urlsplit(settings.web.public_url).hostname if settings.web.public_url else None
    if public is not None and not _is_loopback(public):
        raise ConfigError(
            f"webchat.demo is on and web.public_url is {settings.web.public_url!r}: demo "
            "identities must not be reachable from other machines. Turn webchat.demo off "
            "(REDGRID_WEBCHAT__DEMO=false) or leave web.public_url empty."
        )


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    if "token" in key or "secret" in key or isinstance(value, (dict, list)):
        shown = "(hidden)" if ("token" in key or "secret" in key) else ""
    else:
        shown = repr(value)
    return f"{key} = {shown}: {error['msg']}".replace(" = :", ":")


def load_settings(**overrides: Any) -> Settings:
    """Load and validate settings; a bad value raises ConfigError naming key and allowed values."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(err)) for err in exc.errors(include_url=False)]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file is not valid YAML: {exc}") from None
