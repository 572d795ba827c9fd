"""A registered resident's greeting, "菜单" or thanks is not a new request: the menu shows (on
WeChat nobody types /menu); words that say more start a draft as before."""

from __future__ import annotations

from tests.conftest import Bot
from tests.handlers.journey import onboard

DRAFT = "将按以下内容提交"


async def test_menu_words_and_thanks_show_the_menu_not_a_draft(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    for words in ("菜单", "你好！", "Hello", "帮助"):
        await chat.send(words)
        assert DRAFT not in chat.last_text, words
        assert "请问需要办理什么" in chat.last_text and "📝 新诉求" in chat.buttons, words
    for words in ("谢谢", "谢谢您！", "thank you"):
        await chat.send(words)
        assert DRAFT not in chat.last_text, words
        assert "不客气" in chat.last_text and "📝 新诉求" in chat.buttons, words
    await chat.send("谢谢，楼道灯又坏了")
    assert DRAFT in chat.last_text


async def test_in_english_too(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("/language")
    await chat.press("English")
    await chat.send("thanks")
    assert "You are welcome" in chat.last_text and "📝 New request" in chat.buttons


async def test_the_new_request_prompt_names_only_buttons_that_are_there(bot: Bot) -> None:
    import re

    chat = bot.chat()
    await onboard(chat)
    for locale, new in (("zh", "/new"), ("en", "/new")):
        if locale == "en":
            await chat.send("/language")
            await chat.press("English")
        await chat.send(new)
        named = re.findall(r"[“\"]([^”\"]+)[”\"]", chat.last_text)
        named += re.findall(r"press (\w+)", chat.last_text)
        assert all(label in " ".join(chat.buttons) for label in named), (
            chat.last_text,
            chat.buttons,
        )
        await chat.send("/cancel")
