"""UI texts are Danish and marked with `_()`, in Python and in templates, so that a
translation can be added later as a message catalogue without touching the code.

Today the Danish source text is shown as it is (NullTranslations)."""

import gettext

_translations: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


def translations() -> gettext.NullTranslations:
    return _translations
