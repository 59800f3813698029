"""Delivery of the warnings: one message per channel per run, in Chinese, with a link to the pages.

Channels are the ``[[alerts]]`` tables of envq.toml (:func:`channels_from_config`), one per
channel::

    [[alerts]]
    channel = "webhook"                  # or "email"
    url = "http://127.0.0.1:8765/hook"
    format = "json"                      # wecom | dingtalk | feishu | json
    min_severity = "info"                # info | warning | critical
    scopes = ["长沙市", "xiang-main-province"]   # optional: cities, reaches, basins

    [[alerts]]
    channel = "email"
    smtp_host = "smtp.example.org"
    smtp_port = 465
    from = "envq@example.org"
    to = ["bureau@example.org"]

A message (:func:`compose`) summarises the channel's warnings (those at or above its severity,
within its scopes), most severe first, within the robot's size limit, and links to the maps'
index page (``[maps] base_url``: an http URL, never ``file://``). :func:`deliver` sends it, retries
a failure (``retries``, ``retry_delays_s``, ``timeout_s``) and returns what happened; it never
raises for a failing channel.

Transport. The robots' bodies are their documented JSON messages (WeCom 企业微信群机器人
``markdown``; DingTalk 钉钉自定义机器人 ``markdown``, signed when ``secret_env`` names the signing
secret's environment variable; Feishu 飞书自定义机器人 ``post``, signed likewise; ``json``: envq's
own body), posted with httpx to the configured URL. apprise's ``wecombot://``, ``dingtalk://`` and
``feishu://`` plugins were the first choice, but they build the vendors' public endpoints
(``https://qyapi.weixin.qq.com/...``, ``https://oapi.dingtalk.com/...``,
``https://open.feishu.cn/...``) from a key and cannot post to any other URL: neither to a local
receiver for the tests nor to a bureau's intranet gateway or private deployment; and its WeCom
and Feishu plugins send plain text only (no link). E-mail goes through apprise's ``mailto://``
plugin (UTF-8 MIME, STARTTLS/SSL, login), which does point at any SMTP server.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import time
import urllib.parse

import pandas as pd

from envq.alerts.model import SEVERITIES, SEVERITY_ZH, severity_rank, sort_warnings

__all__ = ["FORMATS", "Channel", "Message", "Delivery", "channels_from_config", "compose", "deliver",
           "deliver_all", "page_link"]

#: Webhook body formats.
FORMATS = ("wecom", "dingtalk", "feishu", "json")
#: Bytes of text each robot takes (WeCom markdown: 4096; DingTalk: 20000; Feishu: 30 KB), with room.
_TEXT_BYTES = {"wecom": 3800, "dingtalk": 15000, "feishu": 20000, "json": 20000, "email": 60000}
_CHANNEL_KEYS = {
    "webhook": ("channel", "name", "url", "format", "min_severity", "scopes", "timeout_s", "retries",
                "retry_delays_s", "secret_env", "send_empty"),
    "email": ("channel", "name", "smtp_host", "smtp_port", "from", "to", "security", "user", "password_env",
              "min_severity", "scopes", "timeout_s", "retries", "retry_delays_s", "send_empty"),
}
_SECURITY = ("none", "starttls", "ssl")


@dataclasses.dataclass(frozen=True)
class Channel:
    """One ``[[alerts]]`` table, checked (see the module docstring for the keys)."""

    kind: str                       # webhook | email
    name: str
    min_severity: str = "info"
    scopes: tuple[str, ...] = ()
    url: str = ""
    format: str = "json"
    secret_env: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    sender: str = ""
    to: tuple[str, ...] = ()
    security: str = "starttls"
    user: str = ""
    password_env: str = ""
    timeout_s: float = 10.0
    retries: int = 2
    retry_delays_s: tuple[float, ...] = (2.0, 10.0)
    send_empty: bool = False

    @property
    def body_format(self) -> str:
        return self.format if self.kind == "webhook" else "email"

    def wants(self, warnings: pd.DataFrame) -> pd.DataFrame:
        """The warnings for this channel: at or above its severity, within its scopes (a warning
        is within when one of its cities, reaches or basins, or its name, is listed)."""
        if not len(warnings):
            return warnings
        keep = severity_rank(warnings["severity"]) >= SEVERITIES.index(self.min_severity)
        if self.scopes:
            wanted = set(self.scopes)
            tags = (warnings["cities"].fillna("") + ";" + warnings["reaches"].fillna("") + ";"
                    + warnings["basins"].fillna("")).str.split(";")
            hit = tags.map(lambda t: bool(wanted.intersection(t))) | warnings["name"].astype(str).isin(wanted)
            keep &= hit.to_numpy(bool)
        return warnings[keep].reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class Message:
    """What one channel receives: ``title``, ``text`` (Chinese, markdown for the robots), the
    ``link``, the ``warnings`` it covers and ``omitted`` (not listed to stay within the size)."""

    title: str
    text: str
    link: str
    warnings: pd.DataFrame
    omitted: int
    day: str
    base_url: str = ""

    def body(self, fmt: str) -> dict:
        """The JSON body of a webhook *fmt* (:data:`FORMATS`)."""
        if fmt == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": self.text}}
        if fmt == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": self.title, "text": self.text}}
        if fmt == "feishu":
            lines = [[{"tag": "text", "text": line}] for line in _plain(self.text).splitlines() if line.strip()]
            if self.link:
                lines.append([{"tag": "a", "text": "查看地图与详情", "href": self.link}])
            return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": self.title, "content": lines}}}}
        if fmt == "json":
            counts = self.warnings["severity"].value_counts().to_dict() if len(self.warnings) else {}
            return {
                "source": "envq", "day": self.day, "title": self.title, "text": _plain(self.text), "link": self.link,
                "counts": {s: int(counts.get(s, 0)) for s in SEVERITIES}, "omitted_from_text": self.omitted,
                "warnings": [
                    {"severity": r["severity"], "scope": r["scope"], "name": r["name"], "rule": r["rule"],
                     "message": r["message"], "audience": r["audience"], "figures": json.loads(r["figures"] or "{}"),
                     "link": page_link(self.base_url, r["link"])}
                    for r in self.warnings.to_dict("records")],
            }
        raise ValueError(f"unknown webhook format {fmt!r}; use {', '.join(FORMATS)}")


@dataclasses.dataclass(frozen=True)
class Delivery:
    """The outcome for one channel: ``ok``, ``attempts``, the last ``error`` and how many
    warnings went out."""

    channel: str
    ok: bool
    attempts: int
    error: str = ""
    warnings: int = 0
    skipped: bool = False


# --------------------------------------------------------------------------------------------
# configuration


def _bad(file, i, key, value, problem):
    from envq.errors import InputError

    return InputError(file, None, f"alerts[{i}].{key}", value, problem)


def channels_from_config(conf: dict, *, file="envq.toml") -> list[Channel]:
    """The channels of the ``[[alerts]]`` tables of a configuration (``[]`` without any).

    Raises :class:`envq.errors.InputError` naming the table (``alerts[2].format``), the value and
    what is expected: an unknown channel or key, a format other than :data:`FORMATS`, a URL that
    is not http(s), an e-mail table without host, sender or recipients, a severity other than
    info/warning/critical, retries or timeouts that are not numbers; and channels without
    ``[maps] base_url`` (messages link to the pages over http).
    """
    tables = conf.get("alerts")
    if tables is None:
        return []
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        from envq.errors import InputError

        raise InputError(file, None, "alerts", str(tables)[:60], "must be [[alerts]] tables, one per channel")
    out = []
    for i, t in enumerate(tables, start=1):
        kind = t.get("channel")
        if kind not in _CHANNEL_KEYS:
            raise _bad(file, i, "channel", kind, "must be \"webhook\" or \"email\"")
        for key in t:
            if key not in _CHANNEL_KEYS[kind]:
                raise _bad(file, i, key, t[key], f"is not a setting of a {kind} channel; use "
                                                 f"{', '.join(_CHANNEL_KEYS[kind])}")
        sev = t.get("min_severity", "info")
        if sev not in SEVERITIES:
            raise _bad(file, i, "min_severity", sev, f"must be one of {', '.join(SEVERITIES)}")
        scopes = t.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s.strip() for s in scopes):
            raise _bad(file, i, "scopes", scopes, "must be a list of city, reach or basin names")
        kw = {"kind": kind, "min_severity": sev, "scopes": tuple(s.strip() for s in scopes)}
        for key, lo in (("timeout_s", 0.1), ("retries", 0)):
            if key in t:
                v = t[key]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or (key == "retries" and v != int(v)):
                    raise _bad(file, i, key, v, f"must be a number >= {lo}" + (" (whole)" if key == "retries" else ""))
                kw[key] = int(v) if key == "retries" else float(v)
        if "retry_delays_s" in t:
            v = t["retry_delays_s"]
            if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0
                                                  for x in v):
                raise _bad(file, i, "retry_delays_s", v, "must be a list of seconds, e.g. [2, 10]")
            kw["retry_delays_s"] = tuple(float(x) for x in v)
        if "send_empty" in t:
            if not isinstance(t["send_empty"], bool):
                raise _bad(file, i, "send_empty", t["send_empty"], "must be true or false")
            kw["send_empty"] = t["send_empty"]
        if kind == "webhook":
            url = t.get("url")
            if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https") \
                    or not urllib.parse.urlsplit(url).netloc:
                raise _bad(file, i, "url", url, "must be an http:// or https:// URL (the robot's webhook address)")
            fmt = t.get("format", "json")
            if fmt not in FORMATS:
                raise _bad(file, i, "format", fmt, f"must be one of {', '.join(FORMATS)}")
            secret = t.get("secret_env", "")
            if not isinstance(secret, str):
                raise _bad(file, i, "secret_env", secret, "must be the name of an environment variable")
            if secret and fmt not in ("dingtalk", "feishu"):
                raise _bad(file, i, "secret_env", secret, "signing is for dingtalk and feishu robots only")
            kw.update(url=url, format=fmt, secret_env=secret)
            name = t.get("name") or f"{fmt} {urllib.parse.urlsplit(url).netloc}"
        else:
            for key in ("smtp_host", "from"):
                if not isinstance(t.get(key), str) or not t[key].strip():
                    raise _bad(file, i, key, t.get(key, ""), "is required for an email channel (a text)")
            to = t.get("to")
            if isinstance(to, str):
                to = [to]
            if not isinstance(to, list) or not to or not all(isinstance(x, str) and "@" in x for x in to):
                raise _bad(file, i, "to", t.get("to"), "must be a list of e-mail addresses")
            if "@" not in t["from"]:
                raise _bad(file, i, "from", t["from"], "is not an e-mail address")
            port = t.get("smtp_port", 25)
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise _bad(file, i, "smtp_port", port, "must be a port number")
            security = t.get("security", "ssl" if port == 465 else "starttls" if port == 587 else "none")
            if security not in _SECURITY:
                raise _bad(file, i, "security", security, f"must be one of {', '.join(_SECURITY)}")
            for key in ("user", "password_env"):
                if key in t and not isinstance(t[key], str):
                    raise _bad(file, i, key, t[key], "must be a text")
            if t.get("user") and security == "none" and "security" not in t:
                raise _bad(file, i, "security", "", "is needed with a login: the password would cross the "
                           "network unencrypted on port " f"{port}; set security = \"starttls\" or \"ssl\" "
                           "(or \"none\" explicitly, on a trusted network)")
            kw.update(smtp_host=t["smtp_host"].strip(), smtp_port=port, sender=t["from"].strip(),
                      to=tuple(x.strip() for x in to), security=security, user=t.get("user", ""),
                      password_env=t.get("password_env", ""))
            name = t.get("name") or f"email {', '.join(kw['to'])}"
        if not isinstance(name, str):
            raise _bad(file, i, "name", name, "must be a text")
        out.append(Channel(name=name, **kw))
    if out:
        base = (conf.get("maps") or {}).get("base_url")
        if not base:
            from envq.errors import InputError

            raise InputError(file, None, "maps.base_url", "",
                             "is missing: [[alerts]] messages link to the maps over http; set [maps] base_url "
                             "to the address the maps folder is served at (e.g. \"https://envq.example.gov.cn/maps/\")")
    return out


# --------------------------------------------------------------------------------------------
# messages


def _join_url(base: str, rel: str) -> str:
    return urllib.parse.urljoin(base if base.endswith("/") else base + "/", rel)


def page_link(base_url: str | None, page: str = "index.html") -> str:
    """The http address of a page of the maps (``""`` without a base URL).

    >>> page_link("https://envq.example.gov.cn/maps", "air.html")
    'https://envq.example.gov.cn/maps/air.html'
    """
    return _join_url(base_url, page) if base_url else ""


def _plain(md: str) -> str:
    """The markdown text without its markup (for Feishu posts and the JSON body)."""
    import re

    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 \2", md)
    return text.replace("**", "").replace("> ", "").replace("### ", "")


#: Characters of the robots' markdown, shown as their full-width forms in a warning's text, so that
#: a station or section name from a feed (``[x](http://…)``, ``**``, ``<at>``) is text in a
#: bureau's chat, never a link, emphasis or a mention.
_CHAT_MARKUP = str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿", "`": "｀",
                              "<": "＜", ">": "＞", "#": "＃", "|": "｜", "~": "～", "!": "！", "\\": "＼"})


def chat_text(text: str) -> str:
    """*text* with the robots' markdown characters as full-width forms (one line).

    >>> chat_text("[点我](http://x.example/) **粗** <at>")
    '［点我］（http://x.example/） ＊＊粗＊＊ ＜at＞'
    """
    return " ".join(str(text).split()).translate(_CHAT_MARKUP)


def compose(warnings: pd.DataFrame, channel: Channel, *, day: str, base_url: str | None, context: str = "",
            extra: list[str] | None = None) -> Message | None:
    """The channel's message for *warnings* (None when nothing is for it and it does not
    ``send_empty``): a title with the counts by severity, one line per warning (most severe first)
    within the channel's size, the rest counted, *extra* lines (e.g. the audit), and the link."""
    mine = sort_warnings(channel.wants(warnings))
    if not len(mine) and not channel.send_empty:
        return None
    counts = mine["severity"].value_counts()
    summary = "、".join(f"{SEVERITY_ZH[s]} {int(counts.get(s, 0))} 条" for s in reversed(SEVERITIES) if counts.get(s, 0))
    title = f"envq 环境质量预警 {day}：" + (summary or "无预警")
    link = page_link(base_url)
    head = [f"### {title}"] + ([context] if context else [])
    tail = [*(extra or [])] + ([f"[查看地图与详情]({link})"] if link else [])
    budget = _TEXT_BYTES[channel.body_format] - len("\n".join(head + tail).encode()) - 120
    lines, used = [], 0
    for sev, msg in zip(mine["severity"], mine["message"]):
        line = f"> 【{SEVERITY_ZH[sev]}】{chat_text(msg)}"
        size = len(line.encode()) + 1
        if used + size > budget:
            break
        lines.append(line)
        used += size
    omitted = len(mine) - len(lines)
    if omitted:
        lines.append(f"……另有 {omitted} 条" + ("，见页面" if link else ""))
    if not len(mine):
        lines.append("今日无需关注的预警。")
    text = "\n".join(head + lines + tail)
    return Message(title, text, link, mine, omitted, day, base_url or "")


# --------------------------------------------------------------------------------------------
# sending


def _signed_url(channel: Channel, secret: str, now_ms: int) -> str:
    """DingTalk 加签: ``timestamp`` and ``sign`` = base64(HMAC-SHA256(secret, "ts\\nsecret"))."""
    sign = base64.b64encode(hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest())
    sep = "&" if "?" in channel.url else "?"
    return f"{channel.url}{sep}timestamp={now_ms}&sign={urllib.parse.quote_plus(sign.decode())}"


def _feishu_sign(secret: str, now_s: int) -> str:
    """Feishu 签名校验: base64(HMAC-SHA256(key="ts\\nsecret", msg=""))."""
    return base64.b64encode(hmac.new(f"{now_s}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def _secret(channel: Channel) -> str:
    if not channel.secret_env:
        return ""
    value = os.environ.get(channel.secret_env, "")
    if not value:
        raise RuntimeError(f"the signing secret's environment variable {channel.secret_env} is not set")
    return value


def _post(channel: Channel, message: Message) -> None:
    """One attempt: POST the body; raise on a transport error, a non-2xx status or a robot's error code."""
    import httpx

    body = message.body(channel.format)
    url = channel.url
    secret = _secret(channel)
    if secret and channel.format == "dingtalk":
        url = _signed_url(channel, secret, int(time.time() * 1000))
    elif secret and channel.format == "feishu":
        now = int(time.time())
        body = {"timestamp": str(now), "sign": _feishu_sign(secret, now), **body}
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    r = httpx.post(url, content=data, headers={"Content-Type": "application/json; charset=utf-8",
                                               "User-Agent": "envq"}, timeout=channel.timeout_s)
    if not 200 <= r.status_code < 300:
        raise RuntimeError(f"HTTP {r.status_code} {r.reason_phrase}: {r.text[:120]}")
    if channel.format in ("wecom", "dingtalk", "feishu"):
        try:
            reply = r.json()
        except ValueError:
            return  # a gateway that answers 2xx without JSON
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0))) if isinstance(reply, dict) else 0
        if code not in (0, "0", None):
            why = reply.get("errmsg") or reply.get("msg") or reply.get("StatusMessage") or ""
            raise RuntimeError(f"the robot refused the message: code {code} {why}".strip())


def _mail(channel: Channel, message: Message) -> None:
    """One attempt: the message as a plain-text e-mail through apprise's mailto plugin."""
    import apprise

    password = os.environ.get(channel.password_env, "") if channel.password_env else ""
    if channel.password_env and not password:
        raise RuntimeError(f"the SMTP password's environment variable {channel.password_env} is not set")
    auth = ""
    if channel.user:
        auth = urllib.parse.quote(channel.user, safe="") + (":" + urllib.parse.quote(password, safe="")
                                                             if password else "") + "@"
    mode = {"none": "insecure", "starttls": "starttls", "ssl": "ssl"}[channel.security]
    query = urllib.parse.urlencode({"mode": mode, "from": channel.sender, "to": ",".join(channel.to),
                                    "smtp": channel.smtp_host, "name": "envq"})
    scheme = "mailtos" if channel.security == "ssl" else "mailto"
    url = f"{scheme}://{auth}{channel.smtp_host}:{channel.smtp_port}/?{query}"
    ap = apprise.Apprise()
    if not ap.add(url):
        raise RuntimeError(f"apprise refused the e-mail settings of {channel.name!r}")
    for server in ap:
        server.socket_read_timeout = channel.timeout_s
        server.socket_connect_timeout = channel.timeout_s
    with apprise.LogCapture(level=apprise.logging.WARNING) as log:
        ok = ap.notify(title=message.title, body=_plain(message.text), body_format=apprise.NotifyFormat.TEXT)
        if not ok:
            raise RuntimeError("e-mail not sent: " + (" ".join(log.getvalue().split())[:300] or "unknown error"))


def deliver(channel: Channel, message: Message | None, *, sleep=time.sleep) -> Delivery:
    """Send *message* on *channel*, retrying a failure ``channel.retries`` times after
    ``channel.retry_delays_s`` (the last delay repeats). Never raises: the outcome says."""
    if message is None:
        return Delivery(channel.name, True, 0, warnings=0, skipped=True)
    send = _post if channel.kind == "webhook" else _mail
    error = ""
    attempts = 1 + channel.retries
    for k in range(attempts):
        if k:
            delays = channel.retry_delays_s or (0.0,)
            sleep(delays[min(k - 1, len(delays) - 1)])
        try:
            send(channel, message)
            return Delivery(channel.name, True, k + 1, warnings=len(message.warnings))
        except Exception as exc:  # transport, HTTP status, robot error, SMTP: all retried, then reported
            error = describe_failure(exc, channel)
    return Delivery(channel.name, False, attempts, error=error, warnings=len(message.warnings))


def describe_failure(exc: BaseException, channel: Channel) -> str:
    """What went wrong with a sending, in words for the run-health report (no Python class names:
    issue 12): a timeout, a refused connection, or the failure's own message."""
    import socket

    import httpx

    if isinstance(exc, (httpx.TimeoutException, socket.timeout, TimeoutError)):
        return f"timed out: no answer within {channel.timeout_s:g} s (timeout_s)"
    if isinstance(exc, (httpx.ConnectError, ConnectionError)):
        return f"could not connect: {exc}".rstrip(": ")
    return str(exc).strip() or "failed without a message"


def deliver_all(warnings: pd.DataFrame, channels: list[Channel], *, day: str, base_url: str | None,
                context: str = "", extra: list[str] | None = None, sleep=time.sleep) -> list[Delivery]:
    """One message per channel (:func:`compose`, :func:`deliver`); the outcomes in channel order."""
    return [deliver(c, compose(warnings, c, day=day, base_url=base_url, context=context, extra=extra), sleep=sleep)
            for c in channels]
