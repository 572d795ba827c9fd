"""The in-product test channel: collects what the bot sends, and drives whole conversations.

`TestChannel` is an OutputChannel that records messages per chat. `TestChat` plays one person:
`await chat.send("漏水了")`, `await chat.press("提交")`, `chat.last_text`, `chat.buttons`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bot.core.output import SendResult
from bot.messages import Incoming, Outgoing, Photo

if TYPE_CHECKING:
    from bot.core.engine import Engine, ProcessResult


class TestChannel:
    """Records every message sent, per chat. Can pretend to lack buttons."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "test", *, supports_buttons: bool = True) -> None:
        self.name = name
        self.supports_buttons = supports_buttons
        self.rate_limited = False
        self.sent: dict[str, list[Outgoing]] = defaultdict(list)
        # The message id of each entry of `sent`: an edit is recorded as a new entry carrying
        # the id of the message it changed (so a press on it can edit it again).
        self.message_ids: dict[str, list[str]] = defaultdict(list)
        self._ids = itertools.count(1)

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        if message.menu is not None:
            return SendResult(ok=True)  # no command menus here
        message_id = message.edit_message_id or str(next(self._ids))
        self.sent[chat_id].append(message)
        self.message_ids[chat_id].append(message_id)
        return SendResult(ok=True, message_id=message_id)


_update_ids = itertools.count(1)


class TestChat:
    """One person talking to the bot through a TestChannel."""

    __test__ = False

    def __init__(
        self,
        engine: Engine,
        channel: TestChannel,
        *,
        user_id: str,
        chat_id: str | None = None,
        language_code: str | None = "zh",
        display_name: str = "",
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.user_id = user_id
        self.chat_id = chat_id or user_id
        self.language_code = language_code
        self.display_name = display_name
        self._seen = 0
        self.last_result: ProcessResult | None = None
        # What the person did: each message sent, button pressed, location or contact shared.
        self.actions = 0

    # --- sending -------------------------------------------------------------------------
    def incoming(self, kind: str, **fields: Any) -> Incoming:
        """An update from this person; a fresh update id unless one is given."""
        update_id = str(fields.pop("update_id", None) or next(_update_ids))
        return Incoming(
            channel=self.channel.name,
            chat_id=self.chat_id,
            user_id=self.user_id,
            update_id=update_id,
            kind=kind,  # type: ignore[arg-type]
            language_code=self.language_code,
            display_name=self.display_name,
            **fields,
        )

    async def deliver(self, incoming: Incoming) -> list[Outgoing]:
        """Run an update through the engine; return what the bot answered to this chat."""
        self._seen = len(self.channel.sent[self.chat_id])
        self.actions += 1
        self.last_result = await self.engine.process(incoming)
        return self.new_messages

    async def send(self, text: str) -> list[Outgoing]:
        """Type a message; a leading slash makes it a command."""
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            command = head.split("@", 1)[0]
            return await self.deliver(self.incoming("command", command=command, args=args.strip()))
        return await self.deliver(self.incoming("text", text=text))

    async def press(self, label: str) -> list[Outgoing]:
        """Press the button with this label on the newest message that has buttons."""
        sent = self.channel.sent[self.chat_id]
        for index in range(len(sent) - 1, -1, -1):
            for row in sent[index].buttons:
                for button in row:
                    if button.label == label:
                        message_id = self.channel.message_ids[self.chat_id][index]
                        return await self.press_data(button.data, message_id=message_id)
            if sent[index].buttons:
                break
        raise AssertionError(f"no button {label!r}; buttons: {self.buttons}")

    async def press_data(self, data: str, *, message_id: str | None = None) -> list[Outgoing]:
        """Press a button with raw data (forged or stale data too), on the message with
        `message_id` if given."""
        return await self.deliver(self.incoming("button", button_data=data, message_id=message_id))

    async def share_location(self, latitude: float, longitude: float) -> list[Outgoing]:
        return await self.deliver(self.incoming("location", latitude=latitude, longitude=longitude))

    async def share_contact(self, phone: str, user_id: str | None = None) -> list[Outgoing]:
        return await self.deliver(
            self.incoming("contact", contact_phone=phone, contact_user_id=user_id or self.user_id)
        )

    async def send_photo(self, file_id: str, caption: str = "", size: int = 1000) -> list[Outgoing]:
        return await self.deliver(
            self.incoming("photo", photos=(Photo(file_id, size),), text=caption)
        )

    async def send_voice(self, file_id: str, duration: int = 5) -> list[Outgoing]:
        return await self.deliver(
            self.incoming("voice", voice_file_id=file_id, voice_duration=duration)
        )

    async def send_sticker(self) -> list[Outgoing]:
        return await self.deliver(self.incoming("other"))

    # --- reading -------------------------------------------------------------------------
    @property
    def messages(self) -> list[Outgoing]:
        """Everything this chat received."""
        return self.channel.sent[self.chat_id]

    @property
    def new_messages(self) -> list[Outgoing]:
        """What arrived since the last update this chat sent."""
        return self.messages[self._seen :]

    @property
    def last_text(self) -> str:
        return self.messages[-1].text if self.messages else ""

    @property
    def texts(self) -> list[str]:
        """Texts that arrived since the last update this chat sent."""
        return [m.text for m in self.new_messages]

    @property
    def buttons(self) -> list[str]:
        """Labels of the buttons on the newest message that has any."""
        for message in reversed(self.messages):
            if message.buttons:
                return [b.label for row in message.buttons for b in row]
        return []
