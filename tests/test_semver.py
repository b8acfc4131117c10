import pytest

from octotui.domain.semver import InvalidVersion, ReleaseType, Version, implied_type, suggest_next


@pytest.mark.parametrize("text", ["1.0.0", "0.0.1", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
                                  "1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85"])
def test_valid_versions_round_trip(text):
    assert str(Version.parse(text)) == text


@pytest.mark.parametrize("text", ["", "1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3.4", "[bold]1.0.0",
                                  "1.2.3+", "a.b.c", "1.2.3" + "9" * 300])
def test_invalid_versions_are_refused(text):
    with pytest.raises(InvalidVersion):
        Version.parse(text)


def test_precedence_follows_the_spec():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    assert sorted(ordered[::-1], key=Version.parse) == ordered
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")


def test_type_implied_by_the_previous_version():
    assert implied_type(Version.parse("2.0.0"), Version.parse("1.9.3")) is ReleaseType.MAJOR
    assert implied_type(Version.parse("1.10.0"), Version.parse("1.9.3")) is ReleaseType.MINOR
    assert implied_type(Version.parse("1.9.4"), Version.parse("1.9.3")) is ReleaseType.PATCH
    assert implied_type(Version.parse("1.0.0"), None) is ReleaseType.MAJOR


def test_suggested_next_version():
    assert suggest_next([]) == "0.1.0"
    assert suggest_next(["1.2.3", "1.10.0", "junk"]) == "1.11.0"
    assert suggest_next(["1.2.3"], ReleaseType.PATCH) == "1.2.4"
    assert suggest_next(["1.2.3"], ReleaseType.MAJOR) == "2.0.0"
