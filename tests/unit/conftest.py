import pytest

from config.playbook import Playbook
from config.playbook_loader import stock_playbook


@pytest.fixture(scope="session")
def demo_led() -> Playbook:
    return stock_playbook("demo_led")


@pytest.fixture(scope="session")
def trial_led() -> Playbook:
    return stock_playbook("trial_led")


@pytest.fixture(scope="session")
def high_touch() -> Playbook:
    return stock_playbook("high_touch")
