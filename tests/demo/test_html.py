"""Reading pages as a browser does: what a form sends, links, and the text of an element."""

from __future__ import annotations

from html import escape

from hypothesis import given
from hypothesis import strategies as st

from hub.demo.html import parse_forms, parse_links, text_of, text_of_class

PAGE = """
<a href="/records/new">new</a>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="t1"></form>
<form method="post" action="/records/7/edit" enctype="multipart/form-data">
  <input type="hidden" name="csrf_token" value="t1">
  <input type="hidden" name="_versions" value="{&quot;phone&quot;: [&quot;a&quot;]}">
  <input name="name" value="王&amp;李">
  <input name="empty">
  <input type="checkbox" name="subject_category" value="retired_soldier" checked>
  <input type="checkbox" name="subject_category" value="retired_officer">
  <input type="checkbox" name="flag" checked>
  <input type="radio" name="sex" value="1">
  <input type="radio" name="sex" value="2" checked>
  <input name="locked" value="x" disabled>
  <input type="file" name="upload__portrait_photo">
  <input type="submit" name="go" value="save">
  <button type="submit" name="_action" value="refresh">refresh</button>
  <select name="ethnicity"><option value="">-</option>
    <option value="01" selected>汉族</option></select>
  <select name="bool"><option value="">-</option><option value="true">是</option></select>
  <select name="multi" multiple><option selected>a</option><option value="b">B</option>
    <option value="c" selected>C</option></select>
  <textarea name="note">
line one
line two</textarea>
</form>
"""


def test_a_form_sends_what_a_browser_sends_without_touching_it() -> None:
    logout, edit = parse_forms(PAGE)
    assert (logout.action, logout.method, logout.fields) == (
        "/logout",
        "post",
        (("csrf_token", "t1"),),
    )
    assert edit.action == "/records/7/edit"
    assert edit.fields == (
        ("csrf_token", "t1"),
        ("_versions", '{"phone": ["a"]}'),
        ("name", "王&李"),
        ("empty", ""),
        ("subject_category", "retired_soldier"),
        ("flag", "on"),
        ("sex", "2"),
        ("ethnicity", "01"),
        ("bool", ""),
        ("multi", "a"),
        ("multi", "c"),
        ("note", "line one\nline two"),
    )


def test_changing_some_fields_keeps_the_rest_as_they_came() -> None:
    edit = parse_forms(PAGE)[1]
    changed = edit.with_values({"name": "王五", "subject_category": ["retired_officer", "x"]})
    assert ("name", "王五") in changed
    assert ("name", "王&李") not in changed
    assert [v for k, v in changed if k == "subject_category"] == ["retired_officer", "x"]
    assert ("_versions", '{"phone": ["a"]}') in changed
    assert edit.get("missing") is None
    assert edit.getall("multi") == ("a", "c")


def test_links_and_the_text_of_an_element() -> None:
    page = (
        '<a href="/a">A</a><div id="stat"><b>4</b> <img src="x"> records</div>'
        '<p class="muted message">技术信息： <code>node 1 holds no key</code></p>'
    )
    assert parse_links(page) == ("/a",)
    assert text_of(page, "stat") == "4 records"
    assert text_of(page, "missing") is None
    assert text_of_class(page, "message") == "技术信息： node 1 holds no key"


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
            st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30),
        ),
        max_size=8,
    )
)
def test_any_text_survives_being_drawn_into_hidden_inputs_and_read_back(
    fields: list[tuple[str, str]],
) -> None:
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">' for name, value in fields
    )
    [form] = parse_forms(f'<form action="/x" method="post">{inputs}</form>')
    assert list(form.fields) == fields
