"""What Profound's users buy it for: who is visiting (browser, bot, AI agent) and where from.

User agents are parsed by ua-parser (Browserscope's maintained rules) and
matched against crawler-user-agents (a maintained list of bot patterns,
tagged, among others, ``ai-crawler`` and ``search-engine``). Referral sources
come from the referer's host and the ``utm_source`` parameter, looked up in
the table below. Both user-agent results are cached: a site sees few
distinct user agents.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple
from urllib.parse import urlsplit

import crawleruseragents
import ua_parser


class Client(NamedTuple):
    browser: str  # e.g. "Chrome"; "" when unknown
    browser_version: str
    os: str
    device: str  # e.g. "iPhone", "Other"
    bot_name: str  # the matched crawler pattern, e.g. "GPTBot"; "" for people
    bot_kind: str  # "ai_agent", "search_engine", "seo", ...; "" for people


# crawler-user-agents tags, most telling first.
_KIND_BY_TAG = (("ai-crawler", "ai_agent"), ("search-engine", "search_engine"))


@functools.cache
def _crawler_patterns() -> list[tuple[re.Pattern, dict]]:
    # Compiled once: the library's matching_crawlers recompiles on every call (~40 ms).
    return [(re.compile(c["pattern"]), c) for c in crawleruseragents.CRAWLER_USER_AGENTS_DATA]


def _crawler(user_agent: str) -> dict | None:
    if not crawleruseragents.is_crawler(user_agent):  # one combined pattern: cheap for people
        return None
    return next((c for pattern, c in _crawler_patterns() if pattern.search(user_agent)), None)


@functools.lru_cache(maxsize=20_000)
def classify(user_agent: str) -> Client:
    parsed = ua_parser.parse(user_agent)
    ua, os_, device = parsed.user_agent, parsed.os, parsed.device
    bot_name = bot_kind = ""
    crawler = _crawler(user_agent)
    if crawler is not None:
        # The parser's family names the bot well ("ClaudeBot"); the pattern is a regex.
        bot_name = ua.family if ua and ua.family != "Other" else _plain(crawler["pattern"])
        tags = crawler.get("tags", [])
        bot_kind = next((kind for tag, kind in _KIND_BY_TAG if tag in tags),
                        tags[0].replace("-", "_") if tags else "bot")
    return Client(
        ua.family if ua else "",
        ".".join(p for p in (ua.major, ua.minor) if p) if ua else "",
        os_.family if os_ else "",
        device.family if device else "",
        bot_name,
        bot_kind,
    )


def _plain(pattern: str) -> str:
    return re.sub(r"\[(.)[^\]]*\]", r"\1", pattern).strip("^$").replace("\\", "").rstrip("/")


class Referral(NamedTuple):
    source: str  # "ai_assistant", "search", "social", "internal", "direct", "other"
    name: str  # e.g. "chatgpt", "google"; the referring host for "other"


# Referring sites by the registrable part of their host name.
REFERRERS: dict[str, tuple[str, str]] = {
    "chatgpt.com": ("ai_assistant", "chatgpt"), "chat.openai.com": ("ai_assistant", "chatgpt"),
    "perplexity.ai": ("ai_assistant", "perplexity"), "claude.ai": ("ai_assistant", "claude"),
    "gemini.google.com": ("ai_assistant", "gemini"), "copilot.microsoft.com": ("ai_assistant", "copilot"),
    "you.com": ("ai_assistant", "you"), "poe.com": ("ai_assistant", "poe"),
    "chat.mistral.ai": ("ai_assistant", "mistral"), "chat.deepseek.com": ("ai_assistant", "deepseek"),
    "google.com": ("search", "google"), "bing.com": ("search", "bing"), "duckduckgo.com": ("search", "duckduckgo"),
    "yahoo.com": ("search", "yahoo"), "baidu.com": ("search", "baidu"), "yandex.ru": ("search", "yandex"),
    "ecosia.org": ("search", "ecosia"), "search.brave.com": ("search", "brave"),
    "facebook.com": ("social", "facebook"), "t.co": ("social", "x"), "x.com": ("social", "x"),
    "twitter.com": ("social", "x"), "linkedin.com": ("social", "linkedin"), "reddit.com": ("social", "reddit"),
    "instagram.com": ("social", "instagram"), "youtube.com": ("social", "youtube"),
    "tiktok.com": ("social", "tiktok"), "pinterest.com": ("social", "pinterest"),
    "news.ycombinator.com": ("social", "hackernews"),
}


def _lookup(host: str) -> tuple[str, str] | None:
    """The table entry for ``host`` or for any of its parent domains (www.google.com → google.com)."""
    parts = host.lower().strip(".").split(".")
    for i in range(len(parts) - 1):
        found = REFERRERS.get(".".join(parts[i:]))
        if found:
            return found
    return None


def referral(referer: str | None, query: dict[str, str], own_host: str) -> Referral:
    """Where a visit came from: ``utm_source`` first (AI assistants set it), then the referer."""
    utm = (query.get("utm_source") or "").strip().lower()
    if utm:
        found = _lookup(utm) or REFERRERS.get(utm)
        return Referral(*found) if found else Referral("campaign", utm)
    if not referer:
        return Referral("direct", "")
    host = urlsplit(referer if "//" in referer else "//" + referer).hostname or ""
    if not host:
        return Referral("other", "")
    if host == own_host.lower().split(":")[0]:
        return Referral("internal", host)
    found = _lookup(host)
    return Referral(*found) if found else Referral("other", host)
