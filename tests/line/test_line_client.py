"""LineClient against the LINE stand-in over real HTTP on 127.0.0.1."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lumo.line import (
    LineApiError,
    LineAuthError,
    LineClient,
    LineConnectionError,
    LineForbidden,
    LineMulticastError,
    LineNotFound,
    LineQuotaExceeded,
    LineRateLimited,
    LineServerError,
    LineValidationError,
    text_message,
)
from lumo.sandbox.line_server import LineSandbox
from lumo.sandbox.line_state import demo_friend_user_id

FRIEND = demo_friend_user_id(0)


def test_profile_japanese_and_english_names(line_client: LineClient) -> None:
    japanese = line_client.get_profile(FRIEND)
    english = line_client.get_profile(demo_friend_user_id(3))

    assert japanese.user_id == FRIEND
    assert japanese.display_name == "佐藤 花子" and japanese.language == "ja"
    assert japanese.picture_url and japanese.picture_url.endswith(f"/{FRIEND}.svg")
    assert english.language == "en" and english.display_name.isascii()
    assert (
        httpx.get(japanese.picture_url, timeout=5)
        .headers["content-type"]
        .startswith("image/svg+xml")
    )


def test_profile_optional_fields_omitted(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    friend = line_sandbox.add_friend("U" + "1" * 32, display_name="Quiet", has_picture=False)
    friend.language = None

    profile = line_client.get_profile("U" + "1" * 32)

    assert (profile.picture_url, profile.language, profile.status_message) == (None, None, None)


def test_blocked_or_unknown_profile_is_not_found(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    line_sandbox.unfollow(FRIEND)

    with pytest.raises(LineNotFound) as blocked:
        line_client.get_profile(FRIEND)
    with pytest.raises(LineNotFound):
        line_client.get_profile("U" + "f" * 32)

    assert blocked.value.status == 404 and blocked.value.message == "Not found"
    assert blocked.value.request_id
    assert "blocked" in str(blocked.value)


def test_follower_ids_paged_with_short_pages(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    line_sandbox.seed_demo_friends(25)
    line_sandbox.unfollow(demo_friend_user_id(5))
    line_sandbox.state.followers_page_cap = 4

    ids = list(line_client.iter_follower_ids(limit=10))

    expected = [demo_friend_user_id(i) for i in range(25) if i != 5]
    assert ids == expected
    pages = line_sandbox.requests("/v2/bot/followers/ids")
    assert len(pages) == 6
    with pytest.raises(LineValidationError):
        list(line_client.iter_follower_ids(limit=1001))


def test_follower_ids_forbidden_for_unverified_account(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    line_sandbox.state.followers_forbidden = True

    with pytest.raises(LineForbidden) as error:
        list(line_client.iter_follower_ids())

    assert error.value.message == "Access to this API is not available for your account"


def test_link_token_is_issued_for_friends_only(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    token = line_client.issue_link_token(FRIEND)

    assert len(token) >= 20
    assert line_sandbox.state.link_tokens[token].user_id == FRIEND
    with pytest.raises(LineNotFound):
        line_client.issue_link_token("U" + "f" * 32)


def test_push_records_message_and_returns_ids(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    result = line_client.push(FRIEND, [text_message("ご購入ありがとうございます 🍎")])

    (record,) = line_sandbox.sent_messages(FRIEND)
    assert record.kind == "push" and record.texts == ["ご購入ありがとうございます 🍎"]
    assert record.retry_key == result.retry_key and record.delivered
    assert result.request_id == record.request_id
    assert [m.id for m in result.sent_messages] == record.message_ids
    assert result.sent_messages[0].quote_token


def test_push_to_blocked_friend_is_accepted_but_not_delivered(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    line_sandbox.unfollow(FRIEND)

    line_client.push(FRIEND, [text_message("hello")])

    assert [m.delivered for m in line_sandbox.sent_messages(FRIEND)] == [False]


def test_multicast_chunks_at_500_with_one_retry_key_each(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    recipients = [demo_friend_user_id(i) for i in range(1201)]
    line_sandbox.seed_demo_friends(1201)
    base_key = str(uuid.uuid4())

    results = line_client.multicast(recipients, [text_message("sale")], retry_key=base_key)

    assert [r.recipient_count for r in results] == [500, 500, 201]
    keys = [r.retry_key for r in results]
    assert keys[0] == base_key and len(set(keys)) == 3
    requests = line_sandbox.requests("/v2/bot/message/multicast")
    assert [r.retry_key for r in requests] == keys
    sent = line_sandbox.sent_messages(kind="multicast")
    assert sorted(m.to for m in sent) == sorted(recipients)


def test_multicast_partial_failure_then_rerun_sends_nothing_twice(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    line_sandbox.seed_demo_friends(1100)
    recipients = [demo_friend_user_id(i) for i in range(1100)]
    key = str(uuid.uuid4())
    line_sandbox.fail_next_requests(
        1, 400, message="Failed to send messages", path_prefix="/v2/bot/message/multicast", skip=1
    )

    with pytest.raises(LineMulticastError) as error:
        line_client.multicast(recipients, [text_message("x")], retry_key=key)

    assert [r.recipient_count for r in error.value.completed] == [500]
    assert error.value.failed_user_ids == recipients[500:]
    assert isinstance(error.value.cause, LineApiError) and error.value.cause.status == 400
    assert len(line_sandbox.sent_messages(kind="multicast")) == 500

    results = line_client.multicast(recipients, [text_message("x")], retry_key=key)

    assert [r.already_accepted for r in results] == [True, False, False]
    sent = line_sandbox.sent_messages(kind="multicast")
    assert sorted(m.to for m in sent) == sorted(recipients)


def test_429_and_5xx_are_retried_then_succeed(
    line_sandbox: LineSandbox, line_client: LineClient, sleeps: list[float]
) -> None:
    line_sandbox.fail_next_requests(1, 429)
    line_sandbox.fail_next_requests(1, 500)

    result = line_client.push(FRIEND, [text_message("retry me")])

    statuses = [r.status for r in line_sandbox.requests("/v2/bot/message/push")]
    assert statuses == [429, 500, 200]
    assert sleeps == [0.5, 1.0]
    assert len(line_sandbox.sent_messages(FRIEND)) == 1
    assert not result.already_accepted


def test_get_requests_retry_5xx(line_sandbox: LineSandbox, line_client: LineClient) -> None:
    line_sandbox.fail_next_requests(2, 503)

    assert line_client.get_profile(FRIEND).user_id == FRIEND


def test_retries_are_bounded(
    line_sandbox: LineSandbox, line_client: LineClient, sleeps: list[float]
) -> None:
    line_sandbox.fail_next_requests(10, 429)

    with pytest.raises(LineRateLimited) as error:
        line_client.get_profile(FRIEND)

    assert len(line_sandbox.requests("/v2/bot/profile")) == 4
    assert len(sleeps) == 3 and error.value.status == 429

    line_sandbox.reset_faults()
    line_sandbox.fail_next_requests(10, 500)
    with pytest.raises(LineServerError):
        line_client.get_profile(FRIEND)


def test_monthly_quota_429_is_not_retried(
    line_sandbox: LineSandbox, line_client: LineClient, sleeps: list[float]
) -> None:
    line_sandbox.fail_next_requests(5, 429, message="You have reached your monthly limit.")

    with pytest.raises(LineQuotaExceeded) as error:
        line_client.push(FRIEND, [text_message("x")])

    assert sleeps == [] and "monthly" in str(error.value)


def test_reply_not_retried_after_5xx(line_sandbox: LineSandbox, line_client: LineClient) -> None:
    token = line_sandbox.state.issue_reply_token(FRIEND)
    line_sandbox.fail_next_requests(1, 500, after_accepting=True)

    with pytest.raises(LineServerError):
        line_client.reply(token, [text_message("thanks")])

    assert len(line_sandbox.requests("/v2/bot/message/reply")) == 1
    assert len(line_sandbox.sent_messages(FRIEND, "reply")) == 1


def test_reply_with_valid_and_used_token(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    token = line_sandbox.state.issue_reply_token(FRIEND)

    line_client.reply(token, [text_message("ようこそ")])
    with pytest.raises(LineApiError) as error:
        line_client.reply(token, [text_message("again")])

    assert line_sandbox.sent_messages(FRIEND, "reply")[0].texts == ["ようこそ"]
    assert error.value.status == 400 and error.value.message == "Invalid reply token"


def test_400_validation_error_carries_details(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    with pytest.raises(LineApiError) as error:
        line_client.push(FRIEND, [{"type": "bogus"}])

    assert error.value.status == 400
    assert error.value.message == "The request body has 1 error(s)"
    assert error.value.details[0].property == "messages[0].type"
    assert error.value.details[0].message.startswith("Must be one of the following values")
    assert error.value.request_id
    assert "messages[0].type" in str(error.value)
    assert line_sandbox.sent_messages() == []


def test_push_to_unknown_user_fails(line_client: LineClient) -> None:
    with pytest.raises(LineApiError) as error:
        line_client.push("U" + "e" * 32, [text_message("x")])

    assert error.value.message == "Failed to send messages"


def test_401_for_a_bad_token(line_sandbox: LineSandbox, sleeps: list[float]) -> None:
    client = LineClient("wrong-token", api_base_url=line_sandbox.url, sleep=sleeps.append)

    with pytest.raises(LineAuthError) as error:
        client.get_profile(FRIEND)

    assert error.value.status == 401
    assert error.value.message.startswith("Authentication failed due to the following reason")
    assert "channel access token" in str(error.value) and sleeps == []
    client.close()


def test_409_retry_key_already_accepted_is_success(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    key = str(uuid.uuid4())
    first = line_client.push(FRIEND, [text_message("once")], retry_key=key)

    again = line_client.push(FRIEND, [text_message("once")], retry_key=key)

    assert again.already_accepted
    assert again.accepted_request_id == first.request_id
    assert again.request_id != first.request_id
    assert [m.id for m in again.sent_messages] == [m.id for m in first.sent_messages]
    assert len(line_sandbox.sent_messages(FRIEND)) == 1


def test_lost_response_retried_with_same_key_sends_once(
    line_sandbox: LineSandbox, line_client: LineClient
) -> None:
    line_sandbox.fail_next_requests(1, 500, after_accepting=True)

    result = line_client.push(FRIEND, [text_message("exactly once")])

    requests = line_sandbox.requests("/v2/bot/message/push")
    assert [r.status for r in requests] == [500, 409]
    assert {r.retry_key for r in requests} == {result.retry_key}
    assert result.already_accepted and result.accepted_request_id == requests[0].request_id
    assert len(line_sandbox.sent_messages(FRIEND)) == 1


def test_timeout_is_retried_with_retry_key(line_sandbox: LineSandbox, sleeps: list[float]) -> None:
    client = LineClient(
        "sandbox-channel-access-token",
        api_base_url=line_sandbox.url,
        timeout=0.3,
        sleep=sleeps.append,
    )
    line_sandbox.fail_next_requests(1, None, delay=1.0, after_accepting=True)

    result = client.push(FRIEND, [text_message("slow")])

    assert result.already_accepted and len(sleeps) == 1
    assert len(line_sandbox.sent_messages(FRIEND)) == 1
    client.close()


def test_unreachable_host_raises_connection_error(sleeps: list[float]) -> None:
    client = LineClient("t", api_base_url="http://127.0.0.1:9", timeout=1.0, sleep=sleeps.append)

    with pytest.raises(LineConnectionError):
        client.get_profile(FRIEND)

    assert len(sleeps) == 3
    client.close()


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [text_message("x")] * 6,
        [text_message("")],
        [text_message("🍎" * 2501)],
        [{"type": "flex", "altText": "a" * 401, "contents": {}}],
        [{"text": "no type"}],
    ],
)
def test_client_validates_messages_before_sending(
    line_sandbox: LineSandbox, line_client: LineClient, messages: list[dict[str, object]]
) -> None:
    with pytest.raises(LineValidationError):
        line_client.push(FRIEND, messages)

    assert line_sandbox.requests() == []


def test_text_limit_counts_utf16_units(line_client: LineClient) -> None:
    line_client.push(FRIEND, [text_message("🍎" * 2500)])

    with pytest.raises(LineValidationError):
        line_client.push(FRIEND, [text_message("🍎" * 2500 + "a")])


def test_sandbox_rejects_oversized_multicast_and_bad_ids(
    line_sandbox: LineSandbox,
) -> None:
    headers = {"Authorization": "Bearer sandbox-channel-access-token"}
    url = f"{line_sandbox.url}/v2/bot/message/multicast"
    too_many = {"to": [FRIEND] * 501, "messages": [text_message("x")]}
    bad_id = {"to": [FRIEND, "C" + "0" * 32], "messages": [text_message("x")]}

    first = httpx.post(url, json=too_many, headers=headers, timeout=5)
    second = httpx.post(url, json=bad_id, headers=headers, timeout=5)

    assert first.status_code == 400
    assert first.json()["details"] == [
        {"message": "Size must be between 1 and 500", "property": "to"}
    ]
    assert second.json() == {
        "message": "The property, to[1], in the request body is invalid (line: -, column: -)"
    }
    assert second.headers["x-line-request-id"]
    assert line_sandbox.sent_messages() == []


def test_client_validates_ids_and_retry_key(line_client: LineClient) -> None:
    with pytest.raises(LineValidationError):
        line_client.multicast([FRIEND, "C" + "0" * 32], [text_message("x")])
    with pytest.raises(LineValidationError):
        line_client.push("someone", [text_message("x")])
    with pytest.raises(LineValidationError):
        line_client.push(FRIEND, [text_message("x")], retry_key="not-a-uuid")
    with pytest.raises(LineValidationError):
        line_client.get_profile("../v2/bot/info")


def test_retry_key_on_reply_is_rejected_by_sandbox(line_sandbox: LineSandbox) -> None:
    token = line_sandbox.state.issue_reply_token(FRIEND)
    response = httpx.post(
        f"{line_sandbox.url}/v2/bot/message/reply",
        json={"replyToken": token, "messages": [text_message("x")]},
        headers={
            "Authorization": "Bearer sandbox-channel-access-token",
            "X-Line-Retry-Key": str(uuid.uuid4()),
        },
        timeout=5,
    )

    assert response.status_code == 400


def test_bot_info_and_webhook_endpoint(line_sandbox: LineSandbox, line_client: LineClient) -> None:
    assert line_client.get_bot_info().user_id == line_sandbox.bot_user_id
    with pytest.raises(LineNotFound):
        line_client.get_webhook_endpoint()

    line_client.set_webhook_endpoint("http://127.0.0.1:5000/webhooks/line")

    assert line_client.get_webhook_endpoint() == ("http://127.0.0.1:5000/webhooks/line", True)
    with pytest.raises(LineApiError):
        line_client.set_webhook_endpoint("https://example.com/hook")
