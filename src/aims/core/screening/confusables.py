"""Latin look-alikes from other scripts, folded to the Latin letter they imitate.

NFKC already folds full-width and mathematical letters (``ｉｇｎｏｒｅ``,
``𝐢𝐠𝐧𝐨𝐫𝐞``); it leaves Cyrillic and Greek letters alone, which is how a word
such as ``іgnоrе`` (two Cyrillic letters) slips past a plain pattern. This
table holds the letters that are, in common fonts, indistinguishable from a
Latin one. It is deliberately short: folding a letter that merely resembles
another would make legitimate Greek or Cyrillic text match English patterns.
"""

from __future__ import annotations

CONFUSABLES: dict[str, str] = {
    # Cyrillic, lower case
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ո": "n",
    # Cyrillic, upper case
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "І": "I", "Ї": "I", "Ј": "J", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X",
    "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u",
    "χ": "x", "ε": "e",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin letters of other blocks that NFKC keeps
    "ı": "i", "ȷ": "j", "ℓ": "l",
}  # fmt: skip
"""Look-alike letter -> the Latin letter it imitates."""

SCRIPTS_WITH_LOOKALIKES = "\u0370-\u03ff\u0400-\u052f"
"""Character ranges (for a regex class) of the scripts the table folds: Greek and Cyrillic."""
