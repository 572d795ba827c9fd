"""The settings sections of the channels and the HTTP app: Telegram, the web server, the web
chat, the WeChat Official Account, WeCom. Part of `Settings` (`bot.config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from bot.messages import PUSH_KINDS


def aes_key_shape(value: SecretStr | None) -> SecretStr | None:
    """WeChat's and WeCom's EncodingAESKey: 43 characters (base64 of 32 bytes, no padding)."""
    if value is not None and len(value.get_secret_value()) != 43:
        raise ValueError("an EncodingAESKey has 43 characters")
    return value


def _none_if_blank(value: Any) -> Any:
    """An empty or blank string given for an optional secret means it is not set."""
    if isinstance(value, str) and not value.strip():
        return None
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
    # Messages (sends and photos) one process handles at once; past it a send is answered
    # 503 with Retry-After at once (the page retries with the same key) instead of queueing
    # for the database. 0: no limit.
    max_sends_in_flight: int = Field(default=64, ge=0)
    busy_retry_after_s: int = Field(default=2, ge=1, le=60)


class WechatTemplate(BaseModel):
    """A template message for one push kind: its id and what each of its fields says.

    Field values are format strings over {reference} (the request's reference number, or
    empty), {text} (the push, shortened) and {invite} (the invitation to reply)."""

    template_id: str = Field(min_length=1)
    fields: dict[str, str] = Field(default_factory=dict)


class WechatSettings(BaseModel):
    """The WeChat Official Account (服务号) channel: off unless `enabled`."""

    enabled: bool = False
    app_id: str = ""
    app_secret: SecretStr | None = None
    token: SecretStr | None = None
    encoding_aes_key: SecretStr | None = None
    # The key before the last rotation: callbacks encrypted with it are still accepted.
    previous_encoding_aes_key: SecretStr | None = None
    encrypt_mode: Literal["plain", "compatible", "safe"] = "safe"
    api_base_url: str = "https://api.weixin.qq.com"
    # Push kind (bot.messages.PUSH_KINDS: status, meeting, broadcast, cobuild, task, digest,
    # notice) -> template; "default" serves the kinds without one of their own. A push whose
    # kind has none waits for the resident to write.
    templates: dict[str, WechatTemplate] = Field(default_factory=dict)
    # WeChat waits 5 s for an answer: the turn's first reply goes back in the answer when it
    # is ready within this (counted from the push's arrival), else by the customer-service
    # API. The rest of the 5 s is the network's and a busy worker's margin.
    reply_budget_s: float = Field(default=3.0, gt=0, lt=5)
    max_clock_skew_s: int = Field(default=300, ge=1)
    window_hours: float = Field(default=48.0, gt=0)
    quota_per_message: int = Field(default=5, ge=1)
    quota_per_event: int = Field(default=3, ge=1)
    # Customer-service and template sends to one resident are paced to this many a second
    # (in each worker, beside the sender's per-chat pacing), so a burst of pushes to one
    # resident arrives in order and within WeChat's frequency checks.
    sends_per_openid_per_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator(
        "app_secret", "token", "encoding_aes_key", "previous_encoding_aes_key", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return _none_if_blank(value)

    @field_validator("templates")
    @classmethod
    def _known_kinds(cls, value: dict[str, WechatTemplate]) -> dict[str, WechatTemplate]:
        unknown = sorted(set(value) - {*PUSH_KINDS, "default"})
        if unknown:
            raise ValueError(f"no push kind {unknown}; known: {', '.join(PUSH_KINDS)}, default")
        return value

    _aes_key_shape = field_validator("encoding_aes_key", "previous_encoding_aes_key")(aes_key_shape)

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> WechatSettings:
        if not self.enabled:
            return self
        missing = [
            f"wechat.{name}"
            for name, value in (
                ("app_id", self.app_id or None),
                ("app_secret", self.app_secret),
                ("token", self.token),
            )
            if value is None
        ]
        if self.encrypt_mode != "plain" and self.encoding_aes_key is None:
            missing.append("wechat.encoding_aes_key")
        if missing:
            raise ValueError("wechat.enabled is true but these are not set: " + ", ".join(missing))
        return self


# The outbox channel of WeCom group robots: its chat ids are unit codes (`WecomSettings.robots`).
WECOM_ROBOT_CHANNEL = "wecom_robot"


class WecomSettings(BaseModel):
    """The WeCom (企业微信) self-built app (自建应用) for staff and volunteers: off unless
    `enabled`. Callbacks are always encrypted (WeCom has no plain mode)."""

    enabled: bool = False
    corp_id: str = ""
    agent_id: int = 0
    secret: SecretStr | None = None
    token: SecretStr | None = None
    encoding_aes_key: SecretStr | None = None
    # The key before the last rotation: callbacks encrypted with it are still accepted.
    previous_encoding_aes_key: SecretStr | None = None
    api_base_url: str = "https://qyapi.weixin.qq.com"
    # Unit code -> group-robot webhook key (a bearer secret): the unit's daily digest and
    # weekly report also go to that group.
    robots: dict[str, SecretStr] = Field(default_factory=dict)
    # WeCom drops silently past 30 messages a minute and 1,000 an hour per member: the
    # sender keeps below these.
    member_per_minute: int = Field(default=25, ge=1, le=30)
    member_per_hour: int = Field(default=900, ge=1, le=1000)
    robot_per_minute: int = Field(default=18, ge=1, le=20)
    # `enable_duplicate_check`: WeCom drops the same message to the same member within this.
    duplicate_check_s: int = Field(default=1800, ge=0, le=14400)
    # WeCom waits 5 s for an answer; the update is committed within this, else 503.
    reply_budget_s: float = Field(default=3.0, gt=0, lt=5)
    max_clock_skew_s: int = Field(default=300, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator(
        "secret", "token", "encoding_aes_key", "previous_encoding_aes_key", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return _none_if_blank(value)

    _aes_key_shape = field_validator("encoding_aes_key", "previous_encoding_aes_key")(aes_key_shape)

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> WecomSettings:
        if not self.enabled:
            return self
        missing = [
            f"wecom.{name}"
            for name, value in (
                ("corp_id", self.corp_id or None),
                ("agent_id", self.agent_id or None),
                ("secret", self.secret),
                ("token", self.token),
                ("encoding_aes_key", self.encoding_aes_key),
            )
            if value is None
        ]
        if missing:
            raise ValueError("wecom.enabled is true but these are not set: " + ", ".join(missing))
        return self
