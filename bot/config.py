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

from bot.config_channels import (
    TelegramSettings,
    WebchatSettings,
    WebSettings,
    WechatSettings,
    WecomSettings,
)
from bot.exceptions import ConfigError

DEFAULT_CONFIG_FILE = Path("config.yaml")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/redgrid.sqlite3"


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
    property_polls: JobSettings = JobSettings(at="09:00")  # the quarter's first run opens them
    cobuild_grading: JobSettings = JobSettings(every_seconds=600)  # results of closed gradings
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
    # Empty: the name Telegram's getMe gives, once the bot runs on Telegram (invites link to it).
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


class WorkersSettings(BaseModel):
    """Several processes on one PostgreSQL database (bot.workers); unused on SQLite."""

    heartbeat_s: float = Field(default=2.0, gt=0, le=60)
    # A worker silent this long is dead: what it held (sweeps, polling, outbox rows) is
    # taken over by the others.
    stale_after_s: float = Field(default=10.0, gt=0, le=600)
    # The flood window and the send pace in the database: "auto" only while other workers
    # are alive; "never" only for one process (README: Several workers).
    shared: Literal["auto", "always", "never"] = "auto"


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
    wechat: WechatSettings = WechatSettings()
    wecom: WecomSettings = WecomSettings()
    cobuild: CobuildSettings = CobuildSettings()
    workers: WorkersSettings = WorkersSettings()

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


def _secret_key(key: str) -> bool:
    return any(word in key for word in ("token", "secret", "aes_key"))


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    if _secret_key(key) or isinstance(value, (dict, list)):
        shown = "(hidden)" if _secret_key(key) else ""
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
