"""Formatted text and inline keyboards as Telegram checks them, so that markup bugs fail in tests too."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from bot.sandbox.fake_telegram_wire import JsonDict, bad_request

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

# The tags Telegram accepts with parse_mode=HTML (https://core.telegram.org/bots/api#html-style).
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)


class _TelegramHtml(HTMLParser):
    """Checks tags as Telegram does and keeps the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open_tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            # A favourite mistake: Telegram wants a newline, not <br>.
            raise bad_request('can\'t parse entities: Unsupported start tag "br"')
        if tag not in _HTML_TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def render(text: str, parse_mode: str | None) -> str:
    """The text a user sees: HTML is checked and its tags removed; other modes are kept verbatim.

    Only HTML is validated. MarkdownV2's escaping rules are not modelled; such text is stored as sent.
    """
    if parse_mode is None or parse_mode.lower() != "html":
        return text
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.open_tags:
        tag = parser.open_tags[-1]
        raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\"")
    return "".join(parser.text)


def check_text(text: str | None) -> str:
    """A message text: present, and within Telegram's limit once rendered."""
    if not text or not text.strip():
        raise bad_request("message text is empty")
    if len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return text


def check_caption(caption: str) -> str:
    """A media caption within Telegram's limit once rendered."""
    if len(caption) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return caption


def inline_keyboard(markup: JsonDict | None) -> JsonDict | None:
    """The reply_markup a Message carries: inline keyboards only, checked as Telegram does.

    Reply keyboards, ForceReply and ReplyKeyboardRemove are accepted but never appear on the Message.
    """
    if markup is None or "inline_keyboard" not in markup:
        return None
    rows: Any = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


def callback_data_of(markup: JsonDict | None) -> set[str]:
    """Every callback_data of an inline keyboard (what a user can press)."""
    if not markup:
        return set()
    return {
        str(button["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for button in row
        if isinstance(button, dict) and "callback_data" in button
    }
