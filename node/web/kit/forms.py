"""Forms generated from the schema: what to draw for each field, and reading a submitted form.

Pure: no aiohttp here. :func:`build_form` turns the schema's fields for a
person's categories, the values to show and the validation problems into
sections of :class:`FieldView` values that ``kit/form.html`` draws:

- a section per schema section, titled from the catalog (``section.<key>``,
  the key itself for a section a deployment added);
- a required mark on required fields;
- allowed values as a select (a multi-select as checkboxes), yes/no fields as
  a three-way select (blank, yes, no), dates as date inputs, numbers as number
  inputs with their bounds, division codes as digit inputs;
- each field's problems (``message_zh``/``message_en``) beside it, and problems
  of fields not on the form at the top;
- the values as they were typed when the form comes back with problems.

:func:`read_form` collects the raw strings of a submitted form for the
fields that apply; the service coerces and validates them
(:func:`protocol.schema.coerce_value`, :func:`protocol.validation.validate_record`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from multidict import MultiMapping

from node.web.kit.i18n import Translator
from protocol.schema import CATEGORY_FIELD, FieldDef, FieldType, Problem, Schema

__all__ = [
    "FieldView",
    "FormView",
    "Option",
    "SectionView",
    "Widget",
    "build_form",
    "display_value",
    "read_form",
]

#: Fields a generated form leaves out by default: categories are chosen before the form.
DEFAULT_EXCLUDED: Final = frozenset({CATEGORY_FIELD})
_TRUE: Final = "true"
_FALSE: Final = "false"


class Widget(StrEnum):
    """How a field is drawn."""

    TEXT = "text"
    DATE = "date"
    NUMBER = "number"
    SELECT = "select"
    CHECKBOXES = "checkboxes"
    YESNO = "yesno"
    DIVISION = "division"
    PHOTO = "photo"


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """One choice of a select or a checkbox group."""

    value: str
    label: str
    selected: bool = False
    exclusive: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldView:
    """One field as a form draws it.

    Attributes:
        key: the field key (the input's name).
        label: the label in the page's language.
        widget: how to draw it.
        required: whether to show the required mark.
        identity: whether it identifies the person (filled by the card reader).
        value: the text to show (single-valued widgets).
        options: the choices (select, checkboxes, yes/no), with the selected ones marked.
        errors: the problems to show beside it.
        minimum: the lowest number allowed, as text ("" when unbounded).
        maximum: the highest number allowed, as text.
        step: ``1`` for whole numbers, ``any`` otherwise.
        pattern: a regular expression the browser checks (division codes).
        multi: whether several values may be chosen (checkboxes, several photos).
    """

    key: str
    label: str
    widget: Widget
    required: bool = False
    identity: bool = False
    value: str = ""
    options: tuple[Option, ...] = ()
    errors: tuple[str, ...] = ()
    minimum: str = ""
    maximum: str = ""
    step: str = "any"
    pattern: str = ""
    multi: bool = False

    @property
    def invalid(self) -> bool:
        """Whether the field has problems to show."""
        return bool(self.errors)


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionView:
    """A titled group of fields."""

    key: str
    title: str
    fields: tuple[FieldView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FormView:
    """A whole generated form.

    Attributes:
        sections: the sections in form order.
        errors: problems of fields that are not on the form (shown at the top).
        problem_count: how many problems there are in all.
    """

    sections: tuple[SectionView, ...]
    errors: tuple[str, ...] = ()
    problem_count: int = 0

    def field(self, key: str) -> FieldView | None:
        """Return the view of field ``key``, or ``None`` if it is not on the form."""
        for section in self.sections:
            for field in section.fields:
                if field.key == key:
                    return field
        return None


def display_value(value: object) -> str | frozenset[str]:
    """Return a canonical or typed value as form text (a set of texts for lists)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _TRUE if value else _FALSE
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _widget(field: FieldDef) -> Widget:
    if field.type is FieldType.PHOTO:
        return Widget.PHOTO
    if field.type is FieldType.BOOL:
        return Widget.YESNO
    if field.type is FieldType.DATE:
        return Widget.DATE
    if field.type is FieldType.NUMBER:
        return Widget.NUMBER
    if field.division_lengths:
        return Widget.DIVISION
    if field.allowed:
        return Widget.CHECKBOXES if field.multi else Widget.SELECT
    return Widget.TEXT


def _number_text(bound: float | None) -> str:
    if bound is None:
        return ""
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _options(field: FieldDef, shown: str | frozenset[str], tr: Translator) -> tuple[Option, ...]:
    chosen = shown if isinstance(shown, frozenset) else frozenset({shown})
    if field.type is FieldType.BOOL:
        return (
            Option(value=_TRUE, label=tr("form.yes"), selected=_TRUE in chosen),
            Option(value=_FALSE, label=tr("form.no"), selected=_FALSE in chosen),
        )
    return tuple(
        Option(
            value=c.value,
            label=tr.label(c),
            selected=c.value in chosen,
            exclusive=c.exclusive,
        )
        for c in field.allowed
    )


def _field_view(
    field: FieldDef, shown: str | frozenset[str], errors: tuple[str, ...], tr: Translator
) -> FieldView:
    widget = _widget(field)
    pattern = ""
    if widget is Widget.DIVISION:
        pattern = "|".join(rf"\d{{{n}}}" for n in field.division_lengths)
    return FieldView(
        key=field.key,
        label=tr.label(field),
        widget=widget,
        required=field.required,
        identity=field.identity,
        value=shown if isinstance(shown, str) else "",
        options=_options(field, shown, tr) if widget in _CHOOSING else (),
        errors=errors,
        minimum=_number_text(field.minimum),
        maximum=_number_text(field.maximum),
        step="1" if field.integer else "any",
        pattern=pattern,
        multi=field.multi,
    )


_CHOOSING: Final = frozenset({Widget.SELECT, Widget.CHECKBOXES, Widget.YESNO})


def section_title(key: str, tr: Translator) -> str:
    """Return a section's title from the catalog, or its key when the catalog lacks it."""
    name = f"section.{key}"
    return tr(name) if tr.has(name) else key


def build_form(
    schema: Schema,
    categories: Iterable[str],
    values: Mapping[str, object],
    problems: Sequence[Problem],
    tr: Translator,
    *,
    exclude: frozenset[str] = DEFAULT_EXCLUDED,
) -> FormView:
    """Return the form for a person of ``categories``, showing ``values`` and ``problems``.

    Args:
        schema: the record schema.
        categories: the person's category keys (at least one).
        values: field key → canonical value, or the raw text a person typed.
        problems: validation problems to show (beside their fields, or at the top).
        tr: the page's translator (labels and messages in its language).
        exclude: field keys to leave out of the form.

    Raises:
        UsageError: a category is unknown.
    """
    plan = schema.applicable(categories)
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(tr.message(problem))
    on_form = [f for f in plan.fields if f.key not in exclude]
    keys = {f.key for f in on_form}
    sections = []
    for section in plan.sections:
        views = tuple(
            _field_view(f, display_value(values.get(f.key)), tuple(by_field.get(f.key, ())), tr)
            for f in on_form
            if f.section == section
        )
        if views:
            title = section_title(section, tr)
            sections.append(SectionView(key=section, title=title, fields=views))
    stray = tuple(m for key, messages in by_field.items() if key not in keys for m in messages)
    return FormView(sections=tuple(sections), errors=stray, problem_count=len(problems))


def read_form(
    schema: Schema,
    categories: Iterable[str],
    form: MultiMapping[object],
    *,
    exclude: frozenset[str] = DEFAULT_EXCLUDED,
) -> dict[str, object]:
    """Return the raw values of a submitted form for every field that applies.

    A multi-valued field gives the list of its checked values; any other field
    its text, or ``None`` when the form did not send it. Photo fields are left
    out: files come through their own upload.

    Raises:
        UsageError: a category is unknown.
    """
    values: dict[str, object] = {}
    for field in schema.fields_for(categories):
        if field.key in exclude or field.type is FieldType.PHOTO:
            continue
        if field.multi:
            values[field.key] = [v for v in form.getall(field.key, []) if isinstance(v, str)]
        else:
            raw = form.get(field.key)
            values[field.key] = raw if isinstance(raw, str) else None
    return values
