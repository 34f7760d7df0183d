"""Against a real Asterisk (22, in the Debian sid chroot of scripts/asterisk/build-chroot.sh), with SIPp as the
agent's and the customer's phones. These tests fail, never skip, when the chroot or SIPp is missing:
scripts/test builds and installs both."""

from collections.abc import Iterator

import pytest

from huifang.integrations.telephony.asterisk_testbed import AsteriskTestbed

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def pbx() -> Iterator[AsteriskTestbed]:
    with AsteriskTestbed(phones=["agent", "customer", "silent"]) as testbed:
        yield testbed


def test_ari_answers_with_the_test_phones_as_endpoints(pbx: AsteriskTestbed) -> None:
    info = pbx.ari("GET", "/asterisk/info")
    assert isinstance(info, dict) and info["system"]["version"].startswith("22.")
    endpoints = pbx.ari("GET", "/endpoints/PJSIP")
    assert isinstance(endpoints, list)
    assert {endpoint["resource"] for endpoint in endpoints} == {"agent", "customer", "silent"}
