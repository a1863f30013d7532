"""Discord's request rules that the OpenAPI spec does not encode (the fake answers 400 50035).

Sources (read when adding a rule):
* Embed limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
  (title 256, description 4096, 25 fields, field name 256 / value 1024, footer 2048, author
  name 256; the sum of those over *all* embeds of a message at most 6000; 10 embeds).
* Embed URLs: http/https only (images, thumbnails and icons also ``attachment://``); link
  buttons: http, https or discord.
* Command names: https://discord.com/developers/docs/interactions/application-commands
  #application-command-object-application-command-naming — chat-input command and option
  names match ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$`` with lowercase letters
  where a letter has a lowercase form; context-menu names are 1-32 of any characters;
  chat-input descriptions 1-100, context-menu descriptions empty.
* Localization keys: the spec's own ``AvailableLocalesEnum`` (Discord's locale list).
* Choices: https://discord.com/developers/docs/interactions/application-commands
  #application-command-object-application-command-option-choice-structure — a string choice's
  value is at most 100 characters (the spec allows 6000), also in autocomplete results.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import regex

from . import spec

JSON = Any

EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_NAME_MAX = 256
CHOICES_MAX = 25
CHOICE_VALUE_MAX = 100
COMMAND_TEXT_MAX = 4000

CHAT_INPUT_NAME = regex.compile(r"^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
LINK_SCHEMES = frozenset({"http", "https"})
IMAGE_SCHEMES = LINK_SCHEMES | {"attachment"}
BUTTON_SCHEMES = LINK_SCHEMES | {"discord"}

Problem = tuple[tuple[str | int, ...], str, str]  # (path in the body, code, message)

_MESSAGE_TEMPLATES = {
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
}
_CALLBACK = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
_COMMANDS = {
    "/applications/{application_id}/commands",
    "/applications/{application_id}/guilds/{guild_id}/commands",
}


@functools.cache
def locales() -> frozenset[str]:
    """Discord's locale codes, as the vendored spec lists them."""
    enum = spec.load_spec()["components"]["schemas"]["AvailableLocalesEnum"]
    return frozenset(item["const"] for item in enum["oneOf"])


def problems(method: str, template: str | None, body: JSON) -> list[Problem]:
    """Every rule a request body breaks (empty when Discord would accept it)."""
    method = method.upper()
    if template is None or not isinstance(body, dict | list):
        return []
    if (method, template) == _CALLBACK and isinstance(body, dict):
        if body.get("type") in (4, 7) and isinstance(body.get("data"), dict):
            return [(("data", *p), c, m) for p, c, m in message_problems(body["data"])]
        if body.get("type") == 8 and isinstance(body.get("data"), dict):
            return list(_choice_values(("data", "choices"), body["data"].get("choices") or []))
        return []
    if (method, template) in _MESSAGE_TEMPLATES and isinstance(body, dict):
        return message_problems(body)
    if template in _COMMANDS:
        if method == "PUT" and isinstance(body, list):
            return [((i, *p), c, m) for i, cmd in enumerate(body) for p, c, m in command(cmd)]
        if method == "POST" and isinstance(body, dict):
            return command(body)
    return []


def errors_body(found: list[Problem]) -> JSON:
    """The 400 body Discord answers: ``{"code": 50035, "errors": {...nested _errors}}``."""
    errors: dict[str, Any] = {}
    for path, code, message in found:
        node = errors
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return {"code": 50035, "errors": errors, "message": "Invalid Form Body"}


# ---------------------------------------------------------------------- messages


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _url(path: tuple[str | int, ...], value: object, schemes: frozenset[str]) -> Iterator[Problem]:
    if value is None:
        return
    scheme = urlsplit(str(value)).scheme.lower()
    if scheme not in schemes or (scheme in LINK_SCHEMES and not urlsplit(str(value)).netloc):
        allowed = ", ".join(sorted(schemes))
        yield path, "URL_TYPE_INVALID_URL", f"Not a well formed URL (scheme must be {allowed})."


def _length(
    path: tuple[str | int, ...], value: object, limit: int, *, required: bool = False
) -> Iterator[Problem]:
    text = _text(value)
    if required and not text.strip():
        yield path, "BASE_TYPE_REQUIRED", "This field is required"
    elif len(text) > limit:
        yield path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


def embed_size(embed: JSON) -> int:
    """The characters Discord counts against the 6,000 total for one embed."""
    size = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    for f in embed.get("fields") or []:
        size += len(_text(f.get("name"))) + len(_text(f.get("value")))
    size += len(_text((embed.get("footer") or {}).get("text")))
    size += len(_text((embed.get("author") or {}).get("name")))
    return size


def _embed(i: int, embed: JSON) -> Iterator[Problem]:
    at: tuple[str | int, ...] = ("embeds", i)
    yield from _length((*at, "title"), embed.get("title"), TITLE_MAX)
    yield from _length((*at, "description"), embed.get("description"), DESCRIPTION_MAX)
    yield from _url((*at, "url"), embed.get("url"), LINK_SCHEMES)
    fields = embed.get("fields") or []
    if len(fields) > FIELDS_MAX:
        yield (*at, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {FIELDS_MAX} or fewer in length."
    for j, f in enumerate(fields):
        yield from _length((*at, "fields", j, "name"), f.get("name"), FIELD_NAME_MAX, required=True)
        yield from _length(
            (*at, "fields", j, "value"), f.get("value"), FIELD_VALUE_MAX, required=True
        )
    footer = embed.get("footer") or {}
    yield from _length((*at, "footer", "text"), footer.get("text"), FOOTER_MAX)
    yield from _url((*at, "footer", "icon_url"), footer.get("icon_url"), IMAGE_SCHEMES)
    author = embed.get("author") or {}
    yield from _length((*at, "author", "name"), author.get("name"), AUTHOR_NAME_MAX)
    yield from _url((*at, "author", "url"), author.get("url"), LINK_SCHEMES)
    yield from _url((*at, "author", "icon_url"), author.get("icon_url"), IMAGE_SCHEMES)
    for key in ("image", "thumbnail"):
        yield from _url((*at, key, "url"), (embed.get(key) or {}).get("url"), IMAGE_SCHEMES)


def _buttons(components: list[JSON], at: tuple[str | int, ...]) -> Iterator[Problem]:
    for i, comp in enumerate(components):
        if comp.get("type") == 2 and comp.get("style") == 5:
            yield from _url((*at, i, "url"), comp.get("url"), BUTTON_SCHEMES)
        child = comp.get("components")
        if isinstance(child, list):
            yield from _buttons(child, (*at, i, "components"))


def message_problems(body: JSON) -> list[Problem]:
    """Embed limits (each and the 6,000 total), embed and link-button URL schemes."""
    embeds = body.get("embeds") or []
    found: list[Problem] = []
    if len(embeds) > EMBEDS_MAX:
        found.append((("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer."))
    for i, embed in enumerate(embeds):
        if isinstance(embed, dict):
            found += _embed(i, embed)
    total = sum(embed_size(e) for e in embeds if isinstance(e, dict))
    if total > EMBED_TOTAL_MAX:
        message = f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX} ({total})"
        found.append((("embeds",), "MAX_EMBED_SIZE_EXCEEDED", message))
    found += _buttons(body.get("components") or [], ("components",))
    return found


# ---------------------------------------------------------------------- commands


def _name(path: tuple[str | int, ...], name: object, chat_input: bool) -> Iterator[Problem]:
    text = _text(name)
    if chat_input:
        if not CHAT_INPUT_NAME.match(text) or text != text.lower():
            yield path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {text!r}"
    elif not 1 <= len(text) <= 32:
        yield path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {text!r}"


def _description(path: tuple[str | int, ...], value: object, chat_input: bool) -> Iterator[Problem]:
    text = _text(value)
    if chat_input and not 1 <= len(text) <= 100:
        yield path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
    elif not chat_input and text:
        yield path, "APPLICATION_COMMAND_INVALID_DESCRIPTION", "Context menus take no description"


def _localized(
    node: JSON, at: tuple[str | int, ...], chat_input: bool, *, with_description: bool = True
) -> Iterator[Problem]:
    yield from _name((*at, "name"), node.get("name"), chat_input)
    for key, value in (node.get("name_localizations") or {}).items():
        if key not in locales():
            yield (*at, "name_localizations", key), "LOCALE_INVALID", f"Invalid locale {key!r}"
        yield from _name((*at, "name_localizations", key), value, chat_input)
    if not with_description:
        return
    yield from _description((*at, "description"), node.get("description"), chat_input)
    for key, value in (node.get("description_localizations") or {}).items():
        where = (*at, "description_localizations", key)
        if key not in locales():
            yield where, "LOCALE_INVALID", f"Invalid locale {key!r}"
        yield from _description(where, value, chat_input)


def _choice_values(at: tuple[str | int, ...], choices: list[JSON]) -> Iterator[Problem]:
    for i, choice in enumerate(choices):
        value = choice.get("value") if isinstance(choice, dict) else None
        if isinstance(value, str) and len(value) > CHOICE_VALUE_MAX:
            message = f"Must be {CHOICE_VALUE_MAX} or fewer in length."
            yield (*at, i, "value"), "BASE_TYPE_MAX_LENGTH", message


def _option(option: JSON, at: tuple[str | int, ...]) -> Iterator[Problem]:
    yield from _localized(option, at, chat_input=True)
    choices = option.get("choices") or []
    if len(choices) > CHOICES_MAX:
        yield (*at, "choices"), "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer."
    yield from _choice_values((*at, "choices"), choices)
    for i, choice in enumerate(choices):
        yield from _length((*at, "choices", i, "name"), choice.get("name"), 100, required=True)
        for key in choice.get("name_localizations") or {}:
            if key not in locales():
                where = (*at, "choices", i, "name_localizations", key)
                yield where, "LOCALE_INVALID", f"Invalid locale {key!r}"
    seen_optional = False
    for i, sub in enumerate(option.get("options") or []):
        yield from _option(sub, (*at, "options", i))
        if sub.get("type") not in (1, 2):
            if sub.get("required") and seen_optional:
                where = (*at, "options", i, "required")
                yield where, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required first"
            seen_optional = seen_optional or not sub.get("required")


def _text_size(node: JSON) -> int:
    """Longest per-locale sum of names, descriptions and choice names (Discord's 4,000)."""
    keys = {
        None,
        *(node.get("name_localizations") or {}),
        *(node.get("description_localizations") or {}),
    }
    best = 0
    for key in keys:
        size = len(_text((node.get("name_localizations") or {}).get(key) or node.get("name")))
        size += len(
            _text((node.get("description_localizations") or {}).get(key) or node.get("description"))
        )
        for sub in node.get("options") or []:
            size += _text_size(sub)
        for choice in node.get("choices") or []:
            size += len(_text(choice.get("name"))) + len(str(choice.get("value", "")))
        best = max(best, size)
    return best


def command(body: JSON) -> list[Problem]:
    """Names, descriptions, localization keys and option order of one command."""
    chat_input = body.get("type") in (None, 1)
    found = list(_localized(body, (), chat_input))
    seen_optional = False
    for i, option in enumerate(body.get("options") or []):
        found += _option(option, ("options", i))
        if option.get("type") not in (1, 2):
            if option.get("required") and seen_optional:
                where = ("options", i, "required")
                found.append((where, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required"))
            seen_optional = seen_optional or not option.get("required")
    if chat_input and _text_size(body) > COMMAND_TEXT_MAX:
        found.append(((), "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (4000)"))
    return found
