"""Where an update goes: command, then button data, then the state's handler, then a default."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.buttons import ButtonAction, ButtonData, decode
from bot.core.context import Context
from bot.core.replies import answer_by_number

Handler = Callable[[Context], Awaitable[None]]
ButtonHandler = Callable[[Context, ButtonData], Awaitable[None]]


@dataclass
class Router:
    """The wiring of every flow; built once in `handlers.build_router`."""

    commands: dict[str, Handler] = field(default_factory=dict)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)  # by wire code
    states: dict[str, Handler] = field(default_factory=dict)
    default: Handler | None = None
    unknown_command: Handler | None = None
    stale_button: Handler | None = None
    unsupported: Handler | None = None
    too_long: Handler | None = None

    def command(self, *names: str) -> Callable[[Handler], Handler]:
        """Register a handler for one or more commands (without the slash)."""

        def register(func: Handler) -> Handler:
            for name in names:
                self.commands[name] = func
            return func

        return register

    def button(self, *actions: ButtonAction) -> Callable[[ButtonHandler], ButtonHandler]:
        """Register the handler of these declared button actions (`bot.buttons.declare`)."""

        def register(func: ButtonHandler) -> ButtonHandler:
            for action in actions:
                if action.wire in self.buttons:
                    raise ValueError(f"button action {action.name} handled twice")
                self.buttons[action.wire] = func
            return func

        return register

    def state(self, *names: str) -> Callable[[Handler], Handler]:
        """Register the handler of input arriving in these conversation states."""

        def register(func: Handler) -> Handler:
            for name in names:
                self.states[name] = func
            return func

        return register

    async def dispatch(self, ctx: Context, *, by_number: bool = False) -> None:
        """Run the handler this update goes to. `by_number`: the chat's channel shows no
        buttons, so a typed number presses the numbered choice it names."""
        incoming = ctx.incoming
        if incoming.kind == "text" and len(incoming.text) > ctx.settings.requests.max_text_length:
            if self.too_long is not None:
                await self.too_long(ctx)
            return
        if incoming.kind == "command":
            handler = self.commands.get(incoming.command.lower()) or self.unknown_command
            if handler is not None:
                await handler(ctx)
            return
        if incoming.kind == "text" and by_number:
            answer_by_number(ctx)
        if ctx.incoming.kind == "button":
            data = decode(ctx.incoming.button_data)
            button_handler = self.buttons.get(data.action) if data else None
            if data is not None and button_handler is not None:
                await button_handler(ctx, data)
            elif self.stale_button is not None:
                await self.stale_button(ctx)
            return
        state_handler = self.states.get(ctx.state)
        if state_handler is not None:
            await state_handler(ctx)
        elif incoming.kind in ("text", "photo", "voice", "location", "contact"):
            if self.default is not None:
                await self.default(ctx)
        elif self.unsupported is not None:
            await self.unsupported(ctx)

    def include(self, other: Router) -> None:
        """Merge another router's registrations into this one."""
        for mine, theirs in (
            (self.commands, other.commands),
            (self.buttons, other.buttons),
            (self.states, other.states),
        ):
            clash = set(mine) & set(theirs)
            if clash:
                raise ValueError(f"registered twice: {sorted(clash)}")
        self.commands.update(other.commands)
        self.buttons.update(other.buttons)
        self.states.update(other.states)
        for name in ("default", "unknown_command", "stale_button", "unsupported", "too_long"):
            if getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
