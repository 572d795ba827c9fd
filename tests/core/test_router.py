"""Where an update goes: a command by name, a button by its action, text by the chat's state,
then the defaults; unknown commands, stale buttons and odd input to their own handlers."""

from __future__ import annotations

import pytest

from bot.buttons import ButtonAction, ButtonData, encode
from bot.core.context import Context
from bot.core.router import Router
from tests.core.conftest import Wire

# Actions of the test's own, not declared: the product's registry holds the product's actions.
GO = ButtonAction("test.go", "go", ("n", "what"))
REPORT = ButtonAction("test.report", "rp")


def recording(seen: list[str]) -> Router:
    """A router whose every handler notes what it got."""
    router = Router()

    @router.command("start", "begin")
    async def start(ctx: Context) -> None:
        seen.append(f"command {ctx.incoming.command} {ctx.incoming.args}".strip())

    @router.command("ask")
    async def ask(ctx: Context) -> None:
        ctx.goto("asking")
        seen.append("asked")

    @router.button(GO)
    async def go(ctx: Context, data: ButtonData) -> None:
        seen.append(f"button go {' '.join(data.args)}".strip())

    @router.state("asking")
    async def asking(ctx: Context) -> None:
        seen.append(f"state asking: {ctx.incoming.kind} {ctx.incoming.text}".strip())

    async def note(what: str, ctx: Context) -> None:
        seen.append(f"{what} {ctx.incoming.text}".strip())

    router.default = lambda ctx: note("default", ctx)
    router.unknown_command = lambda ctx: note("unknown command", ctx)
    router.stale_button = lambda ctx: note("stale button", ctx)
    router.unsupported = lambda ctx: note("unsupported", ctx)
    router.too_long = lambda ctx: note("too long", ctx)
    return router


async def test_a_command_goes_to_its_handler_by_any_of_its_names_in_any_case(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.send("/start")
    await chat.send("/BEGIN now")
    await chat.send("/nope")
    assert seen == ["command start", "command BEGIN now", "unknown command"]


async def test_a_command_wins_over_the_state(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.send("/ask")
    await chat.send("/start")
    assert seen == ["asked", "command start"]


async def test_a_button_goes_to_the_handler_of_its_action(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.press_data(GO.data(7, "x"))
    await chat.press_data(encode("go"))
    assert seen == ["button go 7 x", "button go"]


@pytest.mark.parametrize(
    "data",
    [
        encode("gone", 7),  # an action nobody handles (any more)
        "v0:go:7",  # another version of the data
        "go:7",  # not ours
        "",
        "v1:" + "go" * 40,  # past the 64 bytes a button can carry
    ],
)
async def test_an_unknown_or_malformed_button_is_stale(wire: Wire, data: str) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.press_data(data)
    assert seen == ["stale button"]


async def test_a_button_wins_over_the_state(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.send("/ask")
    await chat.press_data(GO.data(1, "y"))
    assert seen == ["asked", "button go 1 y"]


async def test_input_goes_to_the_handler_of_the_chats_state(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.send("hello")
    await chat.send("/ask")
    await chat.send("my answer")
    await chat.send_sticker()  # a state takes whatever arrives in it
    assert seen == [
        "default hello",
        "asked",
        "state asking: text my answer",
        "state asking: other",
    ]


async def test_without_a_state_text_and_media_go_to_the_default(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    await chat.send("hello")
    await chat.send_photo("photo-1", caption="look")
    await chat.share_location(36.39, 120.45)
    await chat.send_sticker()
    assert seen == ["default hello", "default look", "default", "unsupported"]


async def test_text_past_the_limit_goes_to_too_long_whatever_the_state(wire: Wire) -> None:
    seen: list[str] = []
    chat = wire(recording(seen))
    limit = chat.engine.settings.requests.max_text_length
    await chat.send("x" * (limit + 1))
    await chat.send("/ask")
    await chat.send("y" * (limit + 1))
    await chat.send("y" * limit)
    assert seen[0].startswith("too long x")
    assert seen[1:3] == ["asked", f"too long {'y' * (limit + 1)}"]
    assert seen[3].startswith("state asking: text y")


async def test_input_nobody_handles_is_confirmed_and_answered_with_nothing(wire: Wire) -> None:
    chat = wire(Router())
    assert await chat.send("/start") == []
    assert await chat.send("hello") == []
    assert await chat.press_data(encode("go")) == []
    assert chat.last_result is not None and chat.last_result.status == "handled"


def test_including_a_router_merges_its_handlers_and_refuses_a_clash() -> None:
    main, flow = Router(), Router()

    async def handler(ctx: Context) -> None: ...

    async def on_button(ctx: Context, data: ButtonData) -> None: ...

    flow.command("report")(handler)
    flow.button(REPORT)(on_button)
    flow.state("reporting")(handler)
    flow.default = handler
    main.include(flow)
    assert main.commands == {"report": handler}
    assert main.buttons == {"rp": on_button}
    assert main.states == {"reporting": handler}
    assert main.default is handler
    clash = Router()
    clash.button(REPORT)(on_button)
    with pytest.raises(ValueError, match="registered twice"):
        main.include(clash)
