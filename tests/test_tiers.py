"""The test tiers (conftest.py's marking): a test is marked by what it really starts, not by the name of an
argument. `make check` leaves out the `browser` tier, so an AppTest test parametrized by a page name (the
argument `page`, which is also the name of Playwright's fixture) must stay in it."""

import pytest


def markers(request) -> set[str]:
    return {marker.name for marker in request.node.iter_markers()}


@pytest.mark.parametrize("page", ["overview", "response"])
def test_an_argument_named_page_starts_no_browser_and_is_not_marked_browser(page, request):
    assert page in ("overview", "response")  # the page's name, a string: no Playwright page was made
    assert "browser" not in markers(request)


@pytest.mark.parametrize("context, dashboard_url", [("meeting", "/overview?meeting=true")])
def test_arguments_named_as_the_server_and_browser_fixtures_are_not_marked(context, dashboard_url, request):
    assert (context, dashboard_url) == ("meeting", "/overview?meeting=true")
    assert not {"browser", "server"} & markers(request)
