"""Delivery of the warnings against real receivers on 127.0.0.1: WeCom, DingTalk, Feishu and JSON
bodies, a receiver that fails then answers (retried), one that never answers (reported), a robot
that refuses, and a real SMTP server for e-mail. The warnings are real: the early-warning engine
on the bundled 2026-08-23 readings."""

import base64
import datetime as dt
import email
import email.policy
import functools
import hashlib
import hmac
import urllib.parse

import pandas as pd
import pytest
from _receivers import Receiver, smtp_server

from envq.alerts.delivery import Channel, channels_from_config, compose, deliver, deliver_all
from envq.errors import InputError

BASE = "http://127.0.0.1:8000/maps/"
DAY = "2026-08-23"


@functools.cache
def warnings_of_the_day():
    from pathlib import Path

    from envq.alerts.rules import water_section_warnings
    from envq.sources.cnemc_water import read_cnemc_water, to_long
    from envq.water.reaches import load_reaches
    from envq.water.screen import screen
    from envq.water.warning import latest_values

    data = Path(__file__).resolve().parents[1] / "data" / "water" / "hunan_water_auto_20260709_20260823.csv.gz"
    long, _ = screen(to_long(read_cnemc_water(data)))
    long = long[long["time"] >= pd.Timestamp("2026-08-23")]
    return water_section_warnings(latest_values(long), day=dt.date(2026, 8, 23), reaches=load_reaches())


def _channel(url, fmt, **kw):
    return Channel(kind="webhook", name=fmt, url=url, format=fmt, retries=kw.pop("retries", 2),
                   retry_delays_s=kw.pop("retry_delays_s", (0.05,)), timeout_s=kw.pop("timeout_s", 2.0), **kw)


def test_the_warnings_are_real():
    w = warnings_of_the_day()
    assert len(w) >= 8 and {"warning", "info"} <= set(w["severity"])
    assert "胜利" in set(w["name"]) and "马家河" in set(w["name"])


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk", "feishu", "json"])
def test_each_body_shape_with_chinese_text_and_an_http_link(fmt):
    reply = {"code": 0, "msg": "success"} if fmt == "feishu" else {"errcode": 0, "errmsg": "ok"}
    with Receiver([(200, reply)]) as rx:
        out = deliver_all(warnings_of_the_day(), [_channel(rx.url, fmt)], day=DAY, base_url=BASE)
    assert out[0].ok and out[0].attempts == 1 and len(rx.requests) == 1, out
    assert rx.requests[0]["headers"]["Content-Type"].startswith("application/json")
    body = rx.json()
    link = "http://127.0.0.1:8000/maps/index.html"
    if fmt == "wecom":
        assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
        text = body["markdown"]["content"]
        assert len(text.encode()) <= 4096  # WeCom's limit for markdown
    elif fmt == "dingtalk":
        assert body["msgtype"] == "markdown"
        assert body["markdown"]["title"].startswith(f"envq 环境质量预警 {DAY}：警告 ")
        text = body["markdown"]["text"]
    elif fmt == "feishu":
        assert body["msg_type"] == "post"
        post = body["content"]["post"]["zh_cn"]
        assert post["title"].startswith(f"envq 环境质量预警 {DAY}")
        text = "\n".join(e.get("text", "") + e.get("href", "") for line in post["content"] for e in line)
        assert {"tag": "a", "text": "查看地图与详情", "href": link} in post["content"][-1]
    else:
        assert {"title", "text", "warnings"} <= set(body)
        text = body["text"]
        assert len(body["warnings"]) == len(warnings_of_the_day())
        first = body["warnings"][0]
        assert {"severity", "scope", "rule", "message"} <= set(first)
        assert first["severity"] == "warning" and first["scope"] == "section"
        assert first["rule"] == "water.over_target" and "低于Ⅲ类限值" in first["message"]
        assert body["counts"]["warning"] == int((warnings_of_the_day()["severity"] == "warning").sum())
        reach = [x for x in body["warnings"] if x["name"] == "马家河"][0]
        assert reach["link"] == "http://127.0.0.1:8000/maps/reaches/xiang-main-province.html"
    assert "胜利断面（沩水·长沙市）" in text and "溶解氧" in text  # Chinese, with the figures
    assert link in text and "file://" not in text


def test_a_failing_receiver_is_retried():
    with Receiver([(500, {"error": "busy"}), (200, {"errcode": 0, "errmsg": "ok"})]) as rx:
        slept = []
        d = deliver(_channel(rx.url, "wecom"),
                    compose(warnings_of_the_day(), _channel(rx.url, "wecom"), day=DAY, base_url=BASE),
                    sleep=slept.append)
    assert d.ok and d.attempts == 2 and len(rx.requests) == 2 and slept == [0.05]
    assert rx.requests[0]["body"] == rx.requests[1]["body"]  # the same message again


def test_a_receiver_that_never_answers_is_reported_after_the_retries():
    with Receiver(never_answers=True) as rx:
        c = _channel(rx.url, "json", timeout_s=0.3, retries=1)
        slept = []
        d = deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE), sleep=slept.append)
    # the outcome, not the time: both attempts reached the receiver, both timed out, reported
    assert not d.ok and not d.skipped and d.attempts == 2 and len(rx.requests) == 2 and slept == [0.05]
    assert d.error == "timed out: no answer within 0.3 s (timeout_s)" and d.warnings == len(warnings_of_the_day())
    assert rx.requests[0]["body"] == rx.requests[1]["body"]


def test_a_robot_that_refuses_the_message_is_a_failure():
    with Receiver([(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]) as rx:
        c = _channel(rx.url, "wecom", retries=0)
        d = deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE))
    assert not d.ok and "93000 invalid webhook url" in d.error


def test_min_severity_and_scopes_select_the_warnings():
    w = warnings_of_the_day()
    c = _channel("http://127.0.0.1:9/x", "json", min_severity="warning", scopes=("长沙市",))
    m = compose(w, c, day=DAY, base_url=BASE)
    assert set(m.warnings["name"]) == set(w.loc[w["cities"].eq("长沙市") & w["severity"].eq("warning"), "name"])
    reach = _channel("http://127.0.0.1:9/x", "json", scopes=("xiang-changzhutan-city",))
    assert compose(w, reach, day=DAY, base_url=BASE).warnings["name"].tolist() == ["马家河"]
    assert compose(w, _channel("http://127.0.0.1:9/x", "json", min_severity="critical"), day=DAY,
                   base_url=BASE) is None  # nothing for it: no message
    assert deliver(reach, None).skipped


def test_signed_dingtalk_and_feishu(monkeypatch):
    monkeypatch.setenv("ENVQ_TEST_SECRET", "SEC0123")
    with Receiver([(200, {"errcode": 0})]) as rx:
        c = _channel(rx.url + "?access_token=abc", "dingtalk", secret_env="ENVQ_TEST_SECRET")
        assert deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE)).ok
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(rx.requests[0]["path"]).query)
        want = base64.b64encode(hmac.new(b"SEC0123", f"{q['timestamp'][0]}\nSEC0123".encode(),
                                         hashlib.sha256).digest()).decode()
        assert q["access_token"] == ["abc"] and q["sign"] == [want]
    with Receiver([(200, {"code": 0})]) as rx:
        c = _channel(rx.url, "feishu", secret_env="ENVQ_TEST_SECRET")
        assert deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE)).ok
        body = rx.json()
        want = base64.b64encode(hmac.new(f"{body['timestamp']}\nSEC0123".encode(), b"", hashlib.sha256).digest())
        assert body["sign"] == want.decode()
    monkeypatch.delenv("ENVQ_TEST_SECRET")
    d = deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE), sleep=lambda s: None)
    assert not d.ok and "ENVQ_TEST_SECRET is not set" in d.error


def test_email_through_a_real_smtp_server():
    with smtp_server() as (port, messages):
        conf = {"maps": {"base_url": BASE}, "alerts": [
            {"channel": "email", "smtp_host": "127.0.0.1", "smtp_port": port, "from": "envq@example.org",
             "to": ["bureau@example.org"], "security": "none", "min_severity": "warning", "retries": 0}]}
        [c] = channels_from_config(conf)
        d = deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE))
        assert d.ok, d.error
        assert len(messages) == 1 and messages[0].rcpt_tos == ["bureau@example.org"]
        msg = email.message_from_bytes(messages[0].content, policy=email.policy.default)
        assert msg["Subject"].startswith(f"envq 环境质量预警 {DAY}：警告 ")
        body = msg.get_content()
        assert "胜利断面（沩水·长沙市）" in body and "http://127.0.0.1:8000/maps/index.html" in body
        assert "【提示】" not in body  # min_severity warning
    # no server listening: reported, not raised
    d = deliver(c, compose(warnings_of_the_day(), c, day=DAY, base_url=BASE))
    assert not d.ok and "e-mail not sent" in d.error


def test_configuration_errors_are_rejected_clearly():
    ok = {"maps": {"base_url": BASE}}

    def bad(table, match, conf=ok):
        with pytest.raises(InputError, match=match):
            channels_from_config({**conf, "alerts": [table]})

    bad({"channel": "sms"}, r"alerts\[1\].channel.*webhook.*email")
    bad({"channel": "webhook", "url": "ftp://x/y"}, r"alerts\[1\].url.*http")
    bad({"channel": "webhook", "url": "http://x/y", "format": "slack"}, r"alerts\[1\].format.*wecom, dingtalk, feishu, json")
    bad({"channel": "webhook", "url": "http://x/y", "min_severity": "high"}, r"min_severity.*info, warning, critical")
    bad({"channel": "webhook", "url": "http://x/y", "scopes": "长沙市"}, r"scopes.*list")
    bad({"channel": "webhook", "url": "http://x/y", "retries": -1}, r"retries.*>= 0")
    bad({"channel": "webhook", "url": "http://x/y", "smtp_host": "a"}, r"smtp_host.*not a setting of a webhook")
    bad({"channel": "email", "smtp_host": "a", "from": "e@x", "to": []}, r"alerts\[1\].to.*e-mail addresses")
    bad({"channel": "email", "from": "e@x", "to": ["a@b"]}, r"smtp_host.*required")
    bad({"channel": "webhook", "url": "http://x/y"}, r"maps.base_url.*is missing", conf={})
    # a login over a plain connection is refused unless asked for by name
    mail = {"channel": "email", "smtp_host": "mail.example.org", "smtp_port": 25, "from": "e@x.org", "to": ["a@b.org"],
            "user": "envq", "password_env": "ENVQ_SMTP_PASSWORD"}
    bad(mail, r"alerts\[1\].security.*unencrypted on port 25.*starttls")
    [c] = channels_from_config({**ok, "alerts": [{**mail, "security": "none"}]})
    assert c.security == "none"
    assert channels_from_config({}) == []
    [c] = channels_from_config({**ok, "alerts": [{"channel": "webhook", "url": "https://qyapi.weixin.qq.com/cgi-bin/"
                                                  "webhook/send?key=K", "format": "wecom", "scopes": ["长沙市"]}]})
    assert (c.format, c.scopes, c.retries, c.min_severity) == ("wecom", ("长沙市",), 2, "info")


def test_envq_toml_rejects_a_bad_alerts_or_base_url(tmp_path):
    from envq.config import load_config

    p = tmp_path / "envq.toml"
    p.write_text('alerts = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="alerts.*\\[\\[alerts\\]\\] tables"):
        load_config(p)
    p.write_text('[maps]\nbase_url = "file:///srv/maps"\n', encoding="utf-8")
    with pytest.raises(InputError, match="maps.base_url.*http"):
        load_config(p)
    p.write_text('[maps]\nbase_url = "https://envq.example.gov.cn/maps/"\n[[alerts]]\nchannel = "webhook"\n'
                 'url = "http://127.0.0.1:8765/hook"\nformat = "json"\n', encoding="utf-8")
    assert len(channels_from_config(load_config(p))) == 1


def test_a_name_from_the_feed_is_text_in_the_chat_never_a_link():
    """A section or station name is the feed's text: in the robots' markdown it must not become a
    link, emphasis or a mention (the index page escapes it as HTML; the chat as full-width forms)."""
    w = warnings_of_the_day().head(1).copy()
    w["message"] = "断面 [点此处理](http://evil.example/) **紧急** <at>all</at>: 超标"
    with Receiver([(200, {"errcode": 0, "errmsg": "ok"})]) as rx:
        [out] = deliver_all(w, [_channel(rx.url, "wecom")], day=DAY, base_url=BASE)
    assert out.ok, out
    text = rx.json()["markdown"]["content"]
    assert "](http://evil" not in text and "**紧急" not in text and "<at>" not in text
    assert "［点此处理］（http://evil.example/） ＊＊紧急＊＊ ＜at＞all＜/at＞: 超标" in text
    assert f"[查看地图与详情]({BASE}" in text  # envq's own link stays a link
