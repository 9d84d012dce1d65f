"""The shared settings loader: file tables, environment overrides, typed values, TOML out."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.configkit import ConfigSource, toml_value
from node.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class _Settings:
    data_dir: Path
    count: int = 1
    ratio: float = 1.0
    secure: bool = True
    names: tuple[str, ...] = ()
    folder: Path | None = None
    url: str | None = None
    label: str = ""


SOURCE = ConfigSource(
    file_name="thing.toml",
    table="thing",
    other_tables=("extra",),
    env_prefix="MUSTER_THING_",
    init_command="muster thing init",
    docs="docs/thing.md",
    error=ConfigError,
)
NOT_IN_FILE = frozenset({"data_dir"})


def test_environment_text_is_parsed_by_the_field_type() -> None:
    env = SOURCE.environment(
        {
            "MUSTER_THING_COUNT": "1_000",
            "MUSTER_THING_RATIO": "2.5",
            "MUSTER_THING_SECURE": "false",
            "MUSTER_THING_NAMES": "a, b,,c",
            "MUSTER_THING_FOLDER": "/srv/x",
            "MUSTER_THING_URL": "",
            "OTHER_COUNT": "7",
        }
    )
    assert SOURCE.arguments(_Settings, env, not_in_file=NOT_IN_FILE) == {
        "count": 1000,
        "ratio": 2.5,
        "secure": False,
        "names": ("a", "b", "c"),
        "folder": Path("/srv/x"),
        "url": None,
    }


def test_file_values_must_have_the_field_type() -> None:
    values = {"count": 3, "ratio": 2, "secure": True, "names": ["x"], "label": "y"}
    assert SOURCE.arguments(_Settings, values, not_in_file=NOT_IN_FILE) == {
        "count": 3,
        "ratio": 2.0,
        "secure": True,
        "names": ("x",),
        "label": "y",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"count": "many"}, "count: expected a whole number"),
        ({"count": True}, "count: expected a whole number"),
        ({"ratio": "fast"}, "ratio: expected a number"),
        ({"secure": "perhaps"}, "secure: expected true or false"),
        ({"secure": 1}, "secure: expected true or false"),
        ({"names": 3}, "names: expected a list of text"),
        ({"label": 5}, "label: expected text"),
        ({"colour": "red"}, r"thing settings \['colour'\]: not known \(see docs/thing.md\)"),
        ({"data_dir": "/x"}, r"thing settings \['data_dir'\]: not known"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SOURCE.arguments(_Settings, values, not_in_file=NOT_IN_FILE)


def test_a_value_out_of_range_names_the_range() -> None:
    SOURCE.between("count", 5, 1, 10)
    with pytest.raises(ConfigError, match="count: expected a value from 1 to 10, got 11"):
        SOURCE.between("count", 11, 1, 10)


def test_the_file_gives_its_tables_and_refuses_others(tmp_path: Path) -> None:
    (tmp_path / "thing.toml").write_text("[thing]\ncount = 2\n[extra]\nx = 1\n", "utf-8")
    assert SOURCE.read(tmp_path) == {"thing": {"count": 2}, "extra": {"x": 1}}
    (tmp_path / "thing.toml").write_text("[extra]\n", "utf-8")
    assert SOURCE.read(tmp_path / "thing.toml") == {"thing": {}, "extra": {}}
    (tmp_path / "thing.toml").write_text("[thing]\n[printer]\n", "utf-8")
    with pytest.raises(ConfigError, match=r"unknown tables \['printer'\]; expected only a \["):
        SOURCE.read(tmp_path)
    (tmp_path / "thing.toml").write_text("thing = 3\n", "utf-8")
    with pytest.raises(ConfigError, match="thing must be a table"):
        SOURCE.read(tmp_path)
    (tmp_path / "thing.toml").write_text("[thing\n", "utf-8")
    with pytest.raises(ConfigError, match="not readable TOML"):
        SOURCE.read(tmp_path)


def test_a_missing_file_names_the_command_that_writes_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `muster thing init`"):
        SOURCE.read(tmp_path)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("missing", "data directory {t}/missing does not exist: run `muster thing init`"),
        ("missing/thing.toml", "data directory {t}/missing does not exist"),
        ("empty", "{t}/empty holds no thing.toml, so it is not a thing's data directory"),
        ("empty/thing.toml", "{t}/empty holds no thing.toml"),
        ("plain/thing.toml", "{t}/plain is a file, not a thing's data directory"),
        ("other.toml", "no config file {t}/other.toml: expected a thing's data directory or"),
    ],
)
def test_a_missing_file_says_which_directory_is_missing_or_holds_none(
    tmp_path: Path, given: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "plain").write_text("x = 1\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        SOURCE.read(tmp_path / given)
    assert message.format(t=tmp_path) in caught.value.message
    assert caught.value.message.endswith("run `muster thing init` to make one")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "plain"]


@given(st.text())
def test_any_text_survives_toml(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be written to a file at all
    assert tomllib.loads(f"x = {toml_value(text)}") == {"x": text}


@given(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.text(alphabet=st.characters(codec="utf-8")), max_size=4).map(tuple),
    )
)
def test_values_survive_toml(value: object) -> None:
    expected = list(value) if isinstance(value, tuple) else value
    assert tomllib.loads(f"x = {toml_value(value)}") == {"x": expected}
