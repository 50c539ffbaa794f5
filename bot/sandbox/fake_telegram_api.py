"""The Bot API methods of the fake server, each checking what Telegram checks and answering its objects."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from bot.sandbox.fake_telegram_markup import check_caption, check_text, inline_keyboard, render
from bot.sandbox.fake_telegram_state import GET_FILE_LIMIT, FakeTelegramState, FileKind, StoredFile
from bot.sandbox.fake_telegram_wire import ApiError, JsonDict, Params, bad_request, forbidden

Handler = Callable[[Params], Awaitable[Any]]

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_UPLOAD_LIMIT = 50 * 1024 * 1024
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_URL = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")
#: Bot API deleteMessage: only messages sent less than 48 hours ago can be deleted.
DELETION_WINDOW_S = 48 * 3600
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


class FakeBotApi:
    """Bot API methods over a :class:`FakeTelegramState`; look one up with :meth:`handler`."""

    def __init__(self, state: FakeTelegramState) -> None:
        self.state = state
        # Telegram's method names are case-insensitive. Names, not bound methods, so that a test can
        # replace one implementation on the instance.
        self._handlers: dict[str, str] = {
            "getme": "get_me",
            "getupdates": "get_updates",
            "setwebhook": "set_webhook",
            "deletewebhook": "delete_webhook",
            "getwebhookinfo": "get_webhook_info",
            "setmycommands": "set_my_commands",
            "getmycommands": "get_my_commands",
            "deletemycommands": "delete_my_commands",
            "sendmessage": "send_message",
            "sendphoto": "send_photo",
            "senddocument": "send_document",
            "sendchataction": "send_chat_action",
            "editmessagetext": "edit_message_text",
            "editmessagecaption": "edit_message_caption",
            "editmessagereplymarkup": "edit_message_reply_markup",
            "deletemessage": "delete_message",
            "deletemessages": "delete_messages",
            "answercallbackquery": "answer_callback_query",
            "getchat": "get_chat",
            "getchatmember": "get_chat_member",
            "getchatadministrators": "get_chat_administrators",
            "leavechat": "leave_chat",
            "getfile": "get_file",
        }
        self._poll_generation = 0
        self.waiting_polls = 0
        """getUpdates requests held open right now (a cancelled client's request ends at once)."""

    def handler(self, method: str) -> Handler | None:
        """The implementation of ``method``, or None when the fake (or Telegram) has no such method."""
        name = self._handlers.get(method.lower())
        return None if name is None else cast(Handler, getattr(self, name))

    # -- the bot and its updates -----------------------------------------------------------------------

    async def get_me(self, params: Params) -> JsonDict:
        """``getMe``: the bot's User, with the capability flags PTB reads."""
        return {
            **self.state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, params: Params) -> list[JsonDict]:
        """``getUpdates``: acknowledge by offset, then answer at once or long-poll up to ``timeout``."""
        state = self.state
        if state.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.opt_int("offset")
        if offset is not None:
            state.acknowledge(offset)
        limit = min(max(params.opt_int("limit") or 100, 1), 100)
        allowed = params.json_list("allowed_updates")
        if allowed is not None:
            state.allowed_updates = [str(kind) for kind in allowed]  # Telegram remembers the last list
        timeout = max(params.opt_float("timeout") or 0.0, 0.0)

        # As on Telegram, a new getUpdates ends the one still waiting (which answers 409).
        self._poll_generation += 1
        generation = self._poll_generation
        state.changed()

        deadline = asyncio.get_running_loop().time() + timeout
        # The client's disconnect (PTB cancels its poll on stop) ends the wait too.
        disconnected = asyncio.ensure_future(params.request.receive())
        self.waiting_polls += 1
        try:
            while True:
                signal = state.signal  # taken before the checks, so no change can slip between
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = state.pending_updates(limit)
                remaining = deadline - asyncio.get_running_loop().time()
                if batch or state.closing or remaining <= 0:
                    return batch
                woken = asyncio.ensure_future(signal.wait())
                done, _ = await asyncio.wait(
                    {woken, disconnected}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                woken.cancel()
                if disconnected in done:
                    return []
        finally:
            disconnected.cancel()
            self.waiting_polls -= 1
            state.changed()

    async def set_webhook(self, params: Params) -> bool:
        """``setWebhook``: from now on updates are posted to ``url`` (fake_telegram_webhook.py delivers them).

        Telegram wants HTTPS; the fake also takes plain HTTP to a loopback address, since tests cannot have
        a certificate Telegram would trust (in production a load balancer terminates TLS).
        """
        url = params.opt_str("url") or ""
        if url and not (url.startswith("https://") or _LOOPBACK_URL.match(url)):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.opt_str("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        max_connections = params.opt_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.json_list("allowed_updates")
        if allowed is not None:
            self.state.allowed_updates = [str(kind) for kind in allowed]
        state = self.state
        state.webhook_url = url
        state.webhook_secret = secret
        state.webhook_max_connections = max_connections
        if params.flag("drop_pending_updates"):
            state.updates.clear()
        state.changed()
        return True

    async def delete_webhook(self, params: Params) -> bool:
        """``deleteWebhook``: forget the webhook (and the queue when asked); getUpdates works again."""
        self.state.webhook_url = ""
        self.state.webhook_secret = None
        if params.flag("drop_pending_updates"):
            self.state.updates.clear()
        self.state.changed()
        return True

    async def get_webhook_info(self, params: Params) -> JsonDict:
        """``getWebhookInfo``: the webhook, the queue's length and the last delivery error."""
        state = self.state
        info: JsonDict = {
            "url": state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(state.updates),
        }
        if state.webhook_url:
            info["max_connections"] = state.webhook_max_connections
            if state.allowed_updates:
                info["allowed_updates"] = list(state.allowed_updates)
            if state.webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = state.webhook_last_error
        return info

    # -- commands --------------------------------------------------------------------------------------

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        scope = params.json_object("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.opt_str("language_code") or ""

    async def set_my_commands(self, params: Params) -> bool:
        """``setMyCommands``: commands must be lower-case, as Telegram insists."""
        commands = params.json_list("commands")
        if commands is None:
            raise bad_request("commands is empty")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.state.commands[self._commands_key(params)] = [
            {"command": command["command"], "description": command["description"]} for command in commands
        ]
        return True

    async def get_my_commands(self, params: Params) -> list[JsonDict]:
        """``getMyCommands`` for exactly the scope and language asked (no fallback, as on Telegram)."""
        return copy.deepcopy(self.state.commands.get(self._commands_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        """``deleteMyCommands``."""
        self.state.commands.pop(self._commands_key(params), None)
        return True

    # -- sending ---------------------------------------------------------------------------------------

    def _check_can_send(self, chat_id: int) -> JsonDict:
        """The target chat, after Telegram's refusals: unknown chat, bot removed, user not reachable."""
        state = self.state
        if chat_id in state.groups:
            group = state.groups[chat_id]
            if group.bot_status == "kicked":
                raise forbidden(f"bot was kicked from the {group.kind} chat")
            if group.bot_status == "left":
                raise forbidden(f"bot is not a member of the {group.kind} chat")
            return group.to_json()
        user = state.users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        if user.blocked_bot:
            raise forbidden("bot was blocked by the user")
        if not user.started_bot:
            raise forbidden("bot can't initiate conversation with a user")
        return user.private_chat()

    def _reply_to(self, params: Params, chat_id: int) -> JsonDict | None:
        reply = params.json_object("reply_parameters")
        message_id = params.opt_int("reply_to_message_id")
        allow_missing = params.flag("allow_sending_without_reply")
        if reply is not None:
            reply_params = Params(reply, {}, params.request)
            message_id = reply_params.opt_int("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        target = self.state.message(chat_id, message_id)
        if target is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        replied = copy.deepcopy(target)
        replied.pop("reply_to_message", None)  # Telegram nests one level only
        return replied

    def _send(self, params: Params, **content: Any) -> JsonDict:
        chat_id = params.chat_id()
        self._check_can_send(chat_id)
        caption = params.opt_str("caption")
        if caption is not None:
            content["caption"] = check_caption(render(caption, params.opt_str("parse_mode")))
        message = self.state.new_message(
            chat_id,
            self.state.bot_user,
            message_thread_id=params.opt_int("message_thread_id"),
            reply_to_message=self._reply_to(params, chat_id),
            reply_markup=inline_keyboard(params.json_object("reply_markup")),
            **content,
        )
        return copy.deepcopy(message)

    async def send_message(self, params: Params) -> JsonDict:
        """``sendMessage``: HTML is checked and stripped; inline keyboards are kept on the message."""
        text = check_text(render(params.opt_str("text") or "", params.opt_str("parse_mode")))
        return self._send(params, text=text)

    def _input_file(self, params: Params, field: str, kind: FileKind) -> StoredFile:
        """The file of a send method: a new upload, or an existing file_id (URLs cannot be fetched)."""
        upload = params.upload(field)
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            if len(upload.data) > _UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            return self.state.store_file(
                upload.data, kind, file_name=upload.filename, mime_type=upload.content_type
            )
        reference = params.opt_str(field)
        if not reference:
            raise bad_request(f"there is no {field} in the request")
        if reference.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")  # the sandbox is offline
        stored = self.state.files.get(reference)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    async def send_photo(self, params: Params) -> JsonDict:
        """``sendPhoto`` by upload or file_id; ``has_spoiler`` shows on the message."""
        stored = self._input_file(params, "photo", "photos")
        return self._send(
            params,
            photo=self.state.photo_sizes(stored.data),
            has_media_spoiler=True if params.flag("has_spoiler") else None,
        )

    async def send_document(self, params: Params) -> JsonDict:
        """``sendDocument`` by upload or file_id."""
        stored = self._input_file(params, "document", "documents")
        return self._send(params, document=self.state.document_of(stored))

    async def send_chat_action(self, params: Params) -> bool:
        """``sendChatAction``: only the target is checked."""
        self._check_can_send(params.chat_id())
        return True

    # -- editing ---------------------------------------------------------------------------------------

    def _own_message(self, params: Params) -> JsonDict:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not modelled by the fake server")
        message = self.state.message(params.chat_id(), params.get_int("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if not self.state.is_from_bot(message):
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: JsonDict, changes: JsonDict) -> JsonDict:
        # Omitting reply_markup in an edit removes the keyboard, as on Telegram.
        unchanged = all(message.get(key) == value for key, value in changes.items())
        if unchanged:
            raise bad_request(_NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(self.state.clock())
        self.state.changed()
        return copy.deepcopy(message)

    async def edit_message_text(self, params: Params) -> JsonDict:
        """``editMessageText`` of one of the bot's text messages."""
        message = self._own_message(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text = check_text(render(params.opt_str("text") or "", params.opt_str("parse_mode")))
        markup = inline_keyboard(params.json_object("reply_markup"))
        return self._apply_edit(message, {"text": text, "reply_markup": markup})

    async def edit_message_caption(self, params: Params) -> JsonDict:
        """``editMessageCaption`` of one of the bot's media messages."""
        message = self._own_message(params)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        caption = check_caption(render(params.opt_str("caption") or "", params.opt_str("parse_mode")))
        markup = inline_keyboard(params.json_object("reply_markup"))
        return self._apply_edit(message, {"caption": caption or None, "reply_markup": markup})

    async def edit_message_reply_markup(self, params: Params) -> JsonDict:
        """``editMessageReplyMarkup``: replace or (when absent) remove the inline keyboard."""
        message = self._own_message(params)
        return self._apply_edit(
            message, {"reply_markup": inline_keyboard(params.json_object("reply_markup"))}
        )

    # -- deleting --------------------------------------------------------------------------------------

    def _check_can_delete(self, chat_id: int, message: JsonDict) -> None:
        # "A message can only be deleted if it was sent less than 48 hours ago" (Bot API, deleteMessage),
        # whoever sent it and whatever the bot's rights; Telegram's words for it in a group.
        if self.state.clock() - int(message["date"]) >= DELETION_WINDOW_S:
            raise bad_request("message can't be deleted for everyone")
        group = self.state.groups.get(chat_id)
        if group is None or self.state.is_from_bot(message):
            return  # private chats, and the bot's own messages
        if group.bot_status != "administrator" or not group.bot_can_delete:
            raise bad_request("message can't be deleted")

    async def delete_message(self, params: Params) -> bool:
        """``deleteMessage``: a second deletion is "not found"; others' messages need the right."""
        chat_id = params.chat_id()
        self.state.api_chat_json(chat_id)
        message_id = params.get_int("message_id")
        message = self.state.message(chat_id, message_id)
        if message is None:
            raise bad_request("message to delete not found")
        self._check_can_delete(chat_id, message)
        self.state.deleted.add((chat_id, message_id))
        self.state.changed()
        return True

    async def delete_messages(self, params: Params) -> bool:
        """``deleteMessages``: 1 to 100 ids; ones that cannot be found are skipped."""
        chat_id = params.chat_id()
        self.state.api_chat_json(chat_id)
        raw_ids = params.json_list("message_ids")
        if not raw_ids or len(raw_ids) > 100:
            raise bad_request("message_ids must contain 1-100 message identifiers")
        try:
            ids = [int(i) for i in raw_ids]
        except (TypeError, ValueError) as exc:
            raise bad_request("invalid message_ids specified") from exc
        found = [(i, m) for i in ids if (m := self.state.message(chat_id, i)) is not None]
        for _, message in found:
            self._check_can_delete(chat_id, message)
        self.state.deleted.update((chat_id, message_id) for message_id, _ in found)
        self.state.changed()
        return True

    # -- callbacks -------------------------------------------------------------------------------------

    async def answer_callback_query(self, params: Params) -> bool:
        """``answerCallbackQuery``: once per query, as on Telegram."""
        query_id = params.opt_str("callback_query_id") or ""
        if self.state.open_callback_queries.pop(query_id, None) is None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self.state.callback_answers[query_id] = {
            key: value for key, value in params.values.items() if key != "callback_query_id"
        }
        self.state.changed()
        return True

    # -- chats and members -----------------------------------------------------------------------------

    async def get_chat(self, params: Params) -> JsonDict:
        """``getChat``: a ChatFullInfo with the fields PTB requires."""
        chat = self.state.api_chat_json(params.chat_id())
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _group_for_members(self, params: Params) -> int:
        chat_id = params.chat_id()
        self.state.api_chat_json(chat_id)
        if chat_id not in self.state.groups:
            raise bad_request("there are no administrators in the private chat")
        return chat_id

    async def get_chat_member(self, params: Params) -> JsonDict:
        """``getChatMember`` of a group: owner, administrator (with its delete right) or member."""
        chat_id = self._group_for_members(params)
        return self.state.member_json(chat_id, params.get_int("user_id"))

    async def get_chat_administrators(self, params: Params) -> list[JsonDict]:
        """``getChatAdministrators``: the human administrators, then the bot when it is one."""
        chat_id = self._group_for_members(params)
        group = self.state.groups[chat_id]
        admins = [self.state.member_json(chat_id, user_id) for user_id in group.admins]
        if group.bot_status == "administrator":
            admins.append(self.state.member_json(chat_id, self.state.bot_user["id"]))
        return admins

    async def leave_chat(self, params: Params) -> bool:
        """``leaveChat``: the bot is then "left" in that group."""
        chat_id = self._group_for_members(params)
        self.state.groups[chat_id].bot_status = "left"
        self.state.changed()
        return True

    # -- files -----------------------------------------------------------------------------------------

    async def get_file(self, params: Params) -> JsonDict:
        """``getFile``: a file_path for downloads, refused over 20 MB as on the public Bot API."""
        stored = self.state.files.get(params.opt_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > GET_FILE_LIMIT:
            raise bad_request("file is too big")
        return {**stored.reference(), "file_path": stored.file_path}
