"""Symbol labels the classifier cannot tell apart alone, decided by the symbols around them.

The classifier reads each symbol drawn alone; three errors it makes on real handwriting are decided by
the neighbours far better:

1. **x or \\times.** Written alike; the letter is 8.6 times as frequent as the cross in the training ink,
   so the classifier mostly says x. Which one is meant depends strongly on the neighbours on the line:
   between two digits (``21 \\times 20``) the odds of the cross are 61 times its average odds, after a
   closing bracket or ``!`` before a digit 22 times, after an operator 0.01-0.08 times
   (:data:`TIMES_CONTEXT`). :func:`times_or_x` multiplies the classifier's odds (cross : letter) by that
   factor (Bayes: the classifier's probabilities carry the training prior, the factor is the
   neighbours' likelihood ratio) and takes the likelier.
2. **\\lim with nothing below.** 132 of 136 \\lim in the training ink (its first 6,000 expressions)
   have their limit written below; a ``lim`` symbol with no ink under it is far more often another
   function name the classifier confused with it (``\\tan \\theta`` read ``\\lim \\theta``). :func:`lim_without_limit` takes the
   likeliest other function name among the symbol's classifier alternatives.
3. **A digit or a letter like it** (session 8): 5 or s, 9 or g, 6 or b, 0 or o, 5 or S, decided as x or
   \\times (:func:`digits_or_letters`, :data:`DIGIT_CONTEXT`): between two digits the odds of 5 over s
   are 8 times their average, of 9 over g 12 times, of 6 over b 7.6 times; between two letters 0.02-0.28
   times (``145`` was read ``14s``, ``\\frac{a}{b}`` read ``\\frac{a}{6}``).
4. **Round brackets and bars balanced** (session 9): a vertical stroke is read 1, ``|``, ``(`` or ``)``
   by its shape alone; the training ink's expressions (all but 6 of 10,334) pair their round brackets
   and bars, so an unmatched bracket or a lone bar between non-letters takes the vertical-stroke label
   the classifier allows that pairs it (:func:`balance_brackets`).

:data:`TIMES_CONTEXT` is ``training.structure.times_context_table`` of the training ink
(../shared/handwriting/train.jsonl.gz, all 10,334 expressions) with add-one smoothing, contexts of at
least 20 symbols; other contexts count 1.

Works on any objects with ``name``, ``bbox`` (x, y, w, h) and ``alternatives`` ((name, probability)
pairs) attributes, such as mathnote-ocr's ``DetectedSymbol``; changed symbols are copied with
:func:`dataclasses.replace`. Pure Python.
"""

from __future__ import annotations

from dataclasses import replace

#: (left neighbour's kind, right neighbour's kind) -> likelihood ratio cross : letter (1 when absent).
TIMES_CONTEXT: dict[tuple[str, str], float] = {
    ("close", "close"): 0.55,
    ("close", "digit"): 22.41,
    ("close", "edge"): 0.15,
    ("close", "letter"): 6.06,
    ("close", "op"): 8.44,
    ("digit", "close"): 0.61,
    ("digit", "digit"): 60.81,
    ("digit", "edge"): 0.08,
    ("digit", "letter"): 12.52,
    ("digit", "op"): 1.85,
    ("edge", "digit"): 0.05,
    ("edge", "edge"): 0.06,
    ("edge", "letter"): 0.05,
    ("edge", "op"): 0.02,
    ("edge", "other"): 0.06,
    ("letter", "close"): 0.37,
    ("letter", "digit"): 12.17,
    ("letter", "edge"): 0.02,
    ("letter", "letter"): 7.3,
    ("letter", "op"): 0.15,
    ("letter", "other"): 1.17,
    ("op", "close"): 0.01,
    ("op", "digit"): 0.08,
    ("op", "edge"): 0.05,
    ("op", "letter"): 0.03,
    ("op", "op"): 0.02,
    ("op", "other"): 0.07,
    ("other", "close"): 0.21,
    ("other", "digit"): 0.12,
    ("other", "edge"): 0.14,
    ("other", "letter"): 0.33,
    ("other", "op"): 0.06,
    ("other", "other"): 0.17,
}
#: (another symbol of the expression read x, another read \\times) -> likelihood ratio cross : letter of a
#: symbol that is one of the two, counted on the training split's writers (5,862 symbols): a cross is
#: rare in an expression with another x and no other cross (70 crosses, 4,177 letters), frequent beside
#: another cross. Multiplies :data:`TIMES_CONTEXT`'s ratio (taken as independent of it).
TIMES_IN_EXPRESSION: dict[tuple[bool, bool], float] = {
    (True, True): 6.107,
    (True, False): 0.142,
    (False, True): 27.602,
    (False, False): 2.084,
}
#: (digit, letter) -> {(left neighbour's kind, right neighbour's kind): likelihood ratio digit : letter}
#: (1 when absent): ``training.structure.pair_context_table`` of the training split's writers
#: (../shared/handwriting/train.jsonl.gz, 9,686 expressions; contexts of at least 20 symbols).
DIGIT_CONTEXT: dict[tuple[str, str], dict[tuple[str, str], float]] = {
    ("5", "s"): {
        ("digit", "close"): 11.6,
        ("digit", "digit"): 8.07,
        ("digit", "edge"): 5.25,
        ("digit", "letter"): 1.51,
        ("digit", "op"): 19.16,
        ("digit", "other"): 6.3,
        ("edge", "digit"): 6.13,
        ("edge", "edge"): 0.46,
        ("edge", "letter"): 0.61,
        ("edge", "op"): 0.13,
        ("edge", "other"): 2.4,
        ("letter", "edge"): 0.06,
        ("letter", "letter"): 0.24,
        ("op", "close"): 0.28,
        ("op", "digit"): 3.21,
        ("op", "edge"): 1.4,
        ("op", "letter"): 0.43,
        ("op", "op"): 0.89,
        ("other", "digit"): 3.66,
        ("other", "edge"): 1.03,
        ("other", "op"): 0.86,
    },
    ("9", "g"): {
        ("digit", "close"): 24.07,
        ("digit", "digit"): 12.47,
        ("digit", "edge"): 13.75,
        ("digit", "letter"): 2.29,
        ("digit", "op"): 17.62,
        ("digit", "other"): 24.93,
        ("edge", "digit"): 3.08,
        ("edge", "edge"): 0.45,
        ("edge", "letter"): 0.02,
        ("edge", "op"): 0.06,
        ("edge", "other"): 1.86,
        ("letter", "letter"): 0.02,
        ("op", "close"): 0.75,
        ("op", "digit"): 8.92,
        ("op", "edge"): 0.43,
        ("op", "letter"): 0.37,
        ("op", "op"): 0.08,
        ("other", "digit"): 7.52,
        ("other", "edge"): 0.67,
        ("other", "letter"): 1.4,
        ("other", "op"): 1.81,
    },
    ("6", "b"): {
        ("digit", "close"): 37.75,
        ("digit", "digit"): 7.57,
        ("digit", "edge"): 25.03,
        ("digit", "letter"): 0.31,
        ("digit", "op"): 7.91,
        ("digit", "other"): 67.75,
        ("edge", "digit"): 3.68,
        ("edge", "edge"): 0.45,
        ("edge", "letter"): 0.19,
        ("edge", "op"): 0.28,
        ("edge", "other"): 1.48,
        ("letter", "close"): 0.07,
        ("letter", "edge"): 0.05,
        ("letter", "letter"): 0.28,
        ("letter", "op"): 0.08,
        ("letter", "other"): 0.04,
        ("op", "close"): 0.21,
        ("op", "digit"): 1.31,
        ("op", "edge"): 0.47,
        ("op", "letter"): 0.16,
        ("op", "op"): 0.26,
        ("op", "other"): 0.17,
        ("other", "digit"): 2.48,
        ("other", "edge"): 0.57,
        ("other", "letter"): 0.18,
        ("other", "op"): 1.7,
        ("other", "other"): 0.21,
    },
    ("0", "o"): {
        ("close", "edge"): 2.28,
        ("digit", "close"): 5.86,
        ("digit", "digit"): 12.69,
        ("digit", "edge"): 6.86,
        ("digit", "letter"): 1.69,
        ("digit", "op"): 3.19,
        ("digit", "other"): 5.2,
        ("edge", "digit"): 3.51,
        ("edge", "edge"): 0.49,
        ("edge", "letter"): 0.12,
        ("edge", "op"): 0.14,
        ("edge", "other"): 0.2,
        ("letter", "edge"): 0.24,
        ("letter", "letter"): 0.18,
        ("letter", "op"): 0.85,
        ("letter", "other"): 0.85,
        ("op", "close"): 0.43,
        ("op", "digit"): 1.95,
        ("op", "edge"): 2.45,
        ("op", "letter"): 0.39,
        ("op", "op"): 0.11,
        ("op", "other"): 1.43,
        ("other", "close"): 0.54,
        ("other", "digit"): 2.02,
        ("other", "edge"): 0.34,
        ("other", "letter"): 0.76,
    },
    ("5", "S_cap"): {
        ("digit", "close"): 6.9,
        ("digit", "digit"): 12.0,
        ("digit", "edge"): 4.69,
        ("digit", "letter"): 1.8,
        ("digit", "op"): 3.8,
        ("digit", "other"): 7.5,
        ("edge", "digit"): 2.74,
        ("edge", "edge"): 0.38,
        ("edge", "letter"): 0.27,
        ("edge", "op"): 0.07,
        ("edge", "other"): 1.42,
        ("letter", "edge"): 0.1,
        ("op", "close"): 0.54,
        ("op", "digit"): 6.67,
        ("op", "edge"): 0.83,
        ("op", "letter"): 0.77,
        ("op", "op"): 0.84,
        ("other", "digit"): 4.35,
        ("other", "edge"): 0.52,
    },
}
#: (digit, letter) -> {(another symbol of the expression is a Latin letter, another is a digit): likelihood
#: ratio digit : letter} (session 9): ``training.structure.pair_expression_table`` of the training split's
#: writers. What the rest of the expression holds, not where it came from: a 9 in an expression of digits
#: and operators only is 10 times likelier than its average, in one with letters and no digit 0.05 times.
#: Multiplies :data:`DIGIT_CONTEXT`'s ratio (taken as independent of it).
DIGIT_IN_EXPRESSION: dict[tuple[str, str], dict[tuple[bool, bool], float]] = {
    ("5", "s"): {(False, True): 14.393, (True, False): 0.065, (True, True): 0.553, (False, False): 0.784},
    ("9", "g"): {(False, True): 10.073, (True, False): 0.051, (True, True): 0.505, (False, False): 0.834},
    ("6", "b"): {(True, False): 0.042, (True, True): 0.349, (False, False): 2.124, (False, True): 54.606},
    ("0", "o"): {(True, False): 0.282, (True, True): 2.894, (False, False): 0.083, (False, True): 12.297},
    ("5", "S_cap"): {(False, True): 18.804, (True, False): 0.046, (True, True): 0.737, (False, False): 0.573},
}
#: (digit, letter) -> {(left kind, right kind, another symbol is a Latin letter, another is a digit):
#: likelihood ratio digit : letter} (session 9): ``training.structure.pair_context_table(...,
#: min_count=5, by_expression=True)`` of the training split's writers, the neighbours and the rest of the
#: expression counted together (a 9 between operators is 0.08 times its average in all expressions,
#: 2.5 times in those of digits and operators only). Used where it has the key; elsewhere
#: :data:`DIGIT_CONTEXT` times :data:`DIGIT_IN_EXPRESSION`.
DIGIT_CONTEXT_IN_EXPRESSION: dict[tuple[str, str], dict[tuple[str, str, bool, bool], float]] = {
    ("5", "s"): {
        ("digit", "close", False, True): 11.6,
        ("digit", "digit", False, True): 34.79,
        ("digit", "digit", True, True): 1.16,
        ("digit", "edge", False, False): 1.76,
        ("digit", "edge", False, True): 6.05,
        ("digit", "edge", True, True): 3.03,
        ("digit", "letter", True, True): 1.51,
        ("digit", "op", False, True): 16.64,
        ("digit", "op", True, True): 2.77,
        ("digit", "other", False, False): 1.51,
        ("digit", "other", False, True): 10.84,
        ("edge", "digit", False, False): 2.02,
        ("edge", "digit", False, True): 3.78,
        ("edge", "digit", True, True): 4.66,
        ("edge", "edge", False, False): 0.23,
        ("edge", "edge", False, True): 2.65,
        ("edge", "edge", True, False): 0.17,
        ("edge", "edge", True, True): 0.46,
        ("edge", "letter", True, False): 0.13,
        ("edge", "letter", True, True): 0.97,
        ("edge", "op", False, True): 0.4,
        ("edge", "op", True, False): 0.18,
        ("edge", "op", True, True): 0.04,
        ("edge", "other", False, False): 5.04,
        ("edge", "other", False, True): 4.03,
        ("edge", "other", True, True): 0.19,
        ("letter", "digit", True, True): 0.14,
        ("letter", "edge", True, False): 0.03,
        ("letter", "edge", True, True): 0.1,
        ("letter", "letter", True, False): 0.03,
        ("letter", "letter", True, True): 0.59,
        ("letter", "op", True, True): 0.14,
        ("op", "close", False, False): 0.06,
        ("op", "close", False, True): 2.14,
        ("op", "close", True, False): 0.03,
        ("op", "close", True, True): 0.34,
        ("op", "digit", False, True): 20.67,
        ("op", "digit", True, True): 0.29,
        ("op", "edge", False, False): 0.32,
        ("op", "edge", False, True): 7.06,
        ("op", "edge", True, False): 0.25,
        ("op", "edge", True, True): 1.64,
        ("op", "letter", True, False): 0.05,
        ("op", "letter", True, True): 0.84,
        ("op", "op", False, True): 2.52,
        ("op", "op", True, True): 1.08,
        ("op", "other", True, True): 0.25,
        ("other", "close", False, True): 1.51,
        ("other", "close", True, True): 0.02,
        ("other", "digit", False, True): 6.3,
        ("other", "edge", False, False): 1.45,
        ("other", "edge", False, True): 5.55,
        ("other", "edge", True, True): 0.21,
        ("other", "letter", True, True): 0.38,
        ("other", "op", True, True): 1.09,
    },
    ("9", "g"): {
        ("close", "close", True, True): 4.3,
        ("close", "letter", True, True): 0.05,
        ("digit", "close", False, True): 23.21,
        ("digit", "digit", False, True): 48.14,
        ("digit", "digit", True, True): 0.54,
        ("digit", "edge", False, True): 16.76,
        ("digit", "edge", True, True): 5.16,
        ("digit", "letter", True, True): 2.29,
        ("digit", "op", False, True): 33.53,
        ("digit", "op", True, True): 1.07,
        ("digit", "other", False, True): 21.49,
        ("digit", "other", True, True): 3.87,
        ("edge", "digit", False, True): 7.09,
        ("edge", "digit", True, True): 0.77,
        ("edge", "edge", False, False): 0.86,
        ("edge", "edge", False, True): 0.86,
        ("edge", "edge", True, False): 0.08,
        ("edge", "letter", True, False): 0.03,
        ("edge", "letter", True, True): 0.03,
        ("edge", "op", False, True): 0.14,
        ("edge", "op", True, False): 0.08,
        ("edge", "op", True, True): 0.03,
        ("edge", "other", False, True): 1.86,
        ("edge", "other", True, True): 2.36,
        ("letter", "edge", True, False): 0.05,
        ("letter", "letter", True, False): 0.05,
        ("letter", "letter", True, True): 0.02,
        ("op", "close", True, True): 0.95,
        ("op", "digit", False, True): 31.81,
        ("op", "digit", True, True): 1.07,
        ("op", "edge", False, False): 0.07,
        ("op", "edge", True, False): 0.24,
        ("op", "edge", True, True): 0.78,
        ("op", "letter", True, False): 0.07,
        ("op", "letter", True, True): 0.49,
        ("op", "op", False, True): 2.58,
        ("op", "op", True, False): 0.04,
        ("op", "op", True, True): 0.05,
        ("other", "digit", False, True): 14.18,
        ("other", "edge", False, False): 0.75,
        ("other", "edge", False, True): 1.46,
        ("other", "edge", True, False): 0.12,
        ("other", "edge", True, True): 0.43,
        ("other", "letter", True, False): 0.43,
        ("other", "letter", True, True): 1.98,
        ("other", "op", False, True): 10.75,
        ("other", "op", True, False): 0.06,
        ("other", "op", True, True): 1.83,
    },
    ("6", "b"): {
        ("digit", "close", False, True): 107.19,
        ("digit", "close", True, True): 2.7,
        ("digit", "digit", False, True): 315.5,
        ("digit", "digit", True, True): 0.9,
        ("digit", "edge", False, True): 153.7,
        ("digit", "edge", True, True): 5.81,
        ("digit", "letter", True, True): 0.31,
        ("digit", "op", False, True): 84.94,
        ("digit", "op", True, True): 0.64,
        ("digit", "other", False, True): 121.35,
        ("digit", "other", True, True): 8.09,
        ("edge", "digit", False, True): 21.57,
        ("edge", "digit", True, True): 1.83,
        ("edge", "edge", False, False): 1.65,
        ("edge", "edge", False, True): 2.53,
        ("edge", "edge", True, False): 0.09,
        ("edge", "edge", True, True): 0.47,
        ("edge", "letter", True, False): 0.06,
        ("edge", "letter", True, True): 0.37,
        ("edge", "op", False, True): 1.42,
        ("edge", "op", True, False): 0.14,
        ("edge", "op", True, True): 0.18,
        ("edge", "other", False, True): 26.29,
        ("edge", "other", True, False): 0.34,
        ("edge", "other", True, True): 1.38,
        ("letter", "close", True, False): 0.29,
        ("letter", "close", True, True): 0.09,
        ("letter", "digit", True, True): 0.55,
        ("letter", "edge", True, False): 0.06,
        ("letter", "edge", True, True): 0.09,
        ("letter", "letter", True, False): 0.07,
        ("letter", "letter", True, True): 0.51,
        ("letter", "op", True, False): 0.17,
        ("letter", "op", True, True): 0.1,
        ("letter", "other", True, True): 0.04,
        ("op", "close", True, False): 0.06,
        ("op", "close", True, True): 0.2,
        ("op", "digit", False, True): 127.41,
        ("op", "digit", True, True): 0.15,
        ("op", "edge", False, False): 8.09,
        ("op", "edge", False, True): 5.56,
        ("op", "edge", True, False): 0.15,
        ("op", "edge", True, True): 0.12,
        ("op", "letter", True, False): 0.15,
        ("op", "letter", True, True): 0.17,
        ("op", "op", False, True): 22.25,
        ("op", "op", True, False): 0.02,
        ("op", "op", True, True): 0.28,
        ("op", "other", True, False): 0.06,
        ("op", "other", True, True): 0.16,
        ("other", "close", False, True): 28.31,
        ("other", "digit", False, True): 50.56,
        ("other", "digit", True, True): 0.28,
        ("other", "edge", False, True): 26.29,
        ("other", "edge", True, False): 0.06,
        ("other", "edge", True, True): 0.46,
        ("other", "letter", True, False): 0.27,
        ("other", "letter", True, True): 0.25,
        ("other", "op", False, True): 4.04,
        ("other", "op", True, False): 0.31,
        ("other", "op", True, True): 4.04,
        ("other", "other", True, False): 0.08,
        ("other", "other", True, True): 0.35,
    },
    ("0", "o"): {
        ("close", "digit", True, True): 0.59,
        ("close", "edge", True, True): 2.08,
        ("digit", "close", False, True): 4.1,
        ("digit", "close", True, True): 1.69,
        ("digit", "digit", False, True): 10.21,
        ("digit", "digit", True, True): 2.54,
        ("digit", "edge", False, True): 3.48,
        ("digit", "edge", True, True): 6.57,
        ("digit", "letter", True, True): 1.63,
        ("digit", "op", False, True): 5.47,
        ("digit", "op", True, True): 0.49,
        ("digit", "other", False, True): 2.8,
        ("digit", "other", True, True): 2.41,
        ("edge", "digit", False, True): 0.98,
        ("edge", "digit", True, False): 0.46,
        ("edge", "digit", True, True): 2.21,
        ("edge", "edge", False, False): 0.07,
        ("edge", "edge", True, False): 0.33,
        ("edge", "edge", True, True): 4.94,
        ("edge", "letter", True, False): 0.05,
        ("edge", "letter", True, True): 0.85,
        ("edge", "op", False, False): 0.09,
        ("edge", "op", False, True): 0.16,
        ("edge", "op", True, False): 0.1,
        ("edge", "op", True, True): 0.2,
        ("edge", "other", False, True): 0.72,
        ("edge", "other", True, False): 0.02,
        ("edge", "other", True, True): 0.52,
        ("letter", "close", True, False): 0.36,
        ("letter", "digit", True, True): 0.98,
        ("letter", "edge", True, False): 0.11,
        ("letter", "edge", True, True): 1.04,
        ("letter", "letter", True, False): 0.07,
        ("letter", "letter", True, True): 0.36,
        ("letter", "op", True, False): 0.72,
        ("letter", "op", True, True): 0.63,
        ("letter", "other", True, False): 0.23,
        ("letter", "other", True, True): 1.3,
        ("op", "close", False, False): 0.03,
        ("op", "close", False, True): 1.11,
        ("op", "close", True, False): 0.3,
        ("op", "close", True, True): 1.3,
        ("op", "digit", False, True): 0.85,
        ("op", "digit", True, True): 0.91,
        ("op", "edge", False, False): 0.15,
        ("op", "edge", False, True): 2.28,
        ("op", "edge", True, False): 0.95,
        ("op", "edge", True, True): 18.22,
        ("op", "letter", True, False): 0.72,
        ("op", "letter", True, True): 0.2,
        ("op", "op", True, False): 0.06,
        ("op", "op", True, True): 0.11,
        ("op", "other", False, True): 0.46,
        ("op", "other", True, False): 0.39,
        ("op", "other", True, True): 0.65,
        ("other", "close", True, True): 1.3,
        ("other", "digit", False, True): 0.39,
        ("other", "digit", True, True): 1.69,
        ("other", "edge", False, False): 0.05,
        ("other", "edge", False, True): 0.52,
        ("other", "edge", True, False): 0.1,
        ("other", "edge", True, True): 1.43,
        ("other", "letter", True, False): 0.11,
        ("other", "letter", True, True): 2.02,
        ("other", "op", True, False): 0.07,
        ("other", "op", True, True): 0.72,
        ("other", "other", True, True): 0.91,
    },
    ("5", "S_cap"): {
        ("digit", "close", False, True): 6.9,
        ("digit", "digit", False, True): 20.69,
        ("digit", "digit", True, True): 1.72,
        ("digit", "edge", False, False): 1.05,
        ("digit", "edge", False, True): 5.4,
        ("digit", "edge", True, True): 2.4,
        ("digit", "letter", True, True): 1.8,
        ("digit", "op", False, True): 4.95,
        ("digit", "op", True, True): 0.82,
        ("digit", "other", False, False): 0.9,
        ("digit", "other", False, True): 6.45,
        ("edge", "digit", False, False): 1.2,
        ("edge", "digit", False, True): 2.25,
        ("edge", "digit", True, True): 1.85,
        ("edge", "edge", False, False): 0.39,
        ("edge", "edge", False, True): 3.15,
        ("edge", "edge", True, False): 0.05,
        ("edge", "edge", True, True): 0.41,
        ("edge", "letter", True, False): 0.04,
        ("edge", "letter", True, True): 0.81,
        ("edge", "op", False, True): 0.6,
        ("edge", "op", True, False): 0.09,
        ("edge", "op", True, True): 0.02,
        ("edge", "other", False, False): 3.0,
        ("edge", "other", False, True): 2.25,
        ("letter", "edge", True, False): 0.04,
        ("letter", "edge", True, True): 0.2,
        ("letter", "letter", True, True): 2.1,
        ("letter", "op", True, True): 0.05,
        ("op", "close", False, True): 2.55,
        ("op", "close", True, True): 0.9,
        ("op", "digit", False, True): 12.3,
        ("op", "digit", True, True): 0.6,
        ("op", "edge", False, False): 0.19,
        ("op", "edge", False, True): 4.2,
        ("op", "edge", True, False): 0.12,
        ("op", "edge", True, True): 1.3,
        ("op", "letter", True, True): 1.5,
        ("op", "op", False, True): 1.5,
        ("op", "op", True, False): 0.02,
        ("op", "op", True, True): 2.25,
        ("op", "other", True, True): 0.9,
        ("other", "close", False, True): 0.9,
        ("other", "digit", False, True): 3.75,
        ("other", "edge", False, False): 0.34,
        ("other", "edge", False, True): 3.3,
        ("other", "edge", True, False): 0.06,
        ("other", "letter", True, False): 0.09,
        ("other", "letter", True, True): 0.9,
        ("other", "op", True, True): 1.95,
    },
}
#: Function names a ``lim`` without a limit may be instead.
OTHER_FUNCTIONS = ("tan", "sin", "cos", "log")
#: ... when the classifier gives that name at least this probability.
MIN_FUNCTION_PROB = 0.01

_CLOSE = frozenset({"!", ")", "]", "frac_bar", "rbrace"})
_OP = frozenset({"(", "[", "+", "-", "=", "<", ">", "leq", "geq", "neq", "lbrace", "pm"})


def neighbour_kind(name: str | None) -> str:
    """The kind of a neighbour as :data:`TIMES_CONTEXT` counts it: edge (none), digit, close (a closing
    bracket, ``!``, a fraction bar), op (an operator, relation or opening bracket), letter (Latin, any
    case: ``x``, ``X_cap``) or other."""
    if name is None:
        return "edge"
    if len(name) == 1 and name.isdigit():
        return "digit"
    if name in _CLOSE:
        return "close"
    if name in _OP:
        return "op"
    if (len(name) == 1 and name.isalpha()) or (name.endswith("_cap") and len(name) == 5):
        return "letter"
    return "other"


def line_neighbours(boxes: list, k: int) -> tuple[int | None, int | None]:
    """Indices of the nearest symbols left and right of symbol *k* on its line: among the others whose
    vertical centre lies within *k*'s vertical extent or whose extent holds *k*'s centre (so scripts,
    numerators and denominators around it do not count), the nearest by horizontal centre on each side (None: none). *boxes*: (x, y, w, h)
    per symbol, y downwards."""
    x, y, w, h = boxes[k]
    cx = x + w / 2
    left = right = None
    for m, (ox, oy, ow, oh) in enumerate(boxes):
        if m == k or not (y <= oy + oh / 2 <= y + h or oy <= y + h / 2 <= oy + oh):
            continue
        ocx = ox + ow / 2
        if ocx < cx or (ocx == cx and m < k):
            if left is None or ocx > boxes[left][0] + boxes[left][2] / 2:
                left = m
        elif right is None or ocx < boxes[right][0] + boxes[right][2] / 2:
            right = m
    return left, right


def times_or_x(symbols: list) -> list:
    """The symbols with each ``x`` / ``times`` relabelled by its neighbours (module docstring, 1): the
    odds p(times) / p(x) from its ``alternatives`` times :data:`TIMES_CONTEXT` of its neighbours on its
    line (:func:`line_neighbours`) decide. A symbol whose alternatives lack either label is left alone. Returns a
    new list in the given order; the input is not changed."""
    return pair_by_neighbours(symbols, "times", "x", TIMES_CONTEXT, TIMES_IN_EXPRESSION)


def digits_or_letters(symbols: list) -> list:
    """The symbols with each digit or letter of a :data:`DIGIT_CONTEXT` pair (5 or s, 9 or g, 6 or b,
    0 or o, 5 or S) relabelled by its neighbours on the line, as :func:`times_or_x` does (module
    docstring, 3). Returns a new list in the given order; the input is not changed."""
    out = list(symbols)
    for (digit, letter), table in DIGIT_CONTEXT.items():
        out = pair_by_neighbours(
            out,
            digit,
            letter,
            table,
            kinds=DIGIT_IN_EXPRESSION.get((digit, letter)),
            joint=DIGIT_CONTEXT_IN_EXPRESSION.get((digit, letter)),
        )
    return out


def pair_by_neighbours(
    symbols: list,
    first: str,
    second: str,
    table: dict[tuple[str, str], float],
    expression: dict[tuple[bool, bool], float] | None = None,
    kinds: dict[tuple[bool, bool], float] | None = None,
    joint: dict[tuple[str, str, bool, bool], float] | None = None,
) -> list:
    """The symbols with each one named *first* or *second* relabelled by Bayes' rule: the classifier's
    odds p(first) / p(second) (its ``alternatives``) times the likelihood ratio first : second of its
    (left, right) neighbour kinds on its line (*table*, 1 when absent; :func:`line_neighbours`,
    :func:`neighbour_kind`) and, when *expression* is given, times its factor for (another symbol of
    the expression read *second*, another read *first*) -- read as the classifier's top label, not
    after this rule; when *kinds* is given, also times its factor for (another symbol of the expression
    is a Latin letter, another is a digit; symbols read *first* or *second* not counted; :func:`neighbour_kind`,
    the classifier's top labels); *joint*, keyed by (left kind, right kind, those two), replaces both
    factors where it has the key; the likelier name wins. A symbol whose alternatives lack either name is left
    alone; a relabelled one keeps its box and strokes, its confidence becomes the new name's
    probability. Returns a new list in the given order; the input is not changed."""
    boxes = [(s.bbox.x, s.bbox.y, s.bbox.w, s.bbox.h) for s in symbols]
    out = list(symbols)
    for k, s in enumerate(symbols):
        if s.name not in (first, second):
            continue
        probs = dict(s.alternatives or [])
        probs.setdefault(s.name, float(getattr(s, "confidence", 0.0)))
        p_a, p_b = probs.get(first, 0.0), probs.get(second, 0.0)
        if p_a <= 0 or p_b <= 0:
            continue
        lk, rk = line_neighbours(boxes, k)
        left = symbols[lk].name if lk is not None else None
        right = symbols[rk].name if rk is not None else None
        sides = (neighbour_kind(left), neighbour_kind(right))
        factor = table.get(sides, 1.0)
        others = [o.name for m, o in enumerate(symbols) if m != k]
        if expression is not None:
            factor *= expression.get((second in others, first in others), 1.0)
        if kinds is not None or joint is not None:
            rest = {neighbour_kind(n) for n in others if n not in (first, second)}
            held = ("letter" in rest, "digit" in rest)
            if joint is not None and (*sides, *held) in joint:
                factor = joint[(*sides, *held)]
            elif kinds is not None:
                factor *= kinds.get(held, 1.0)
        new = first if p_a * factor > p_b else second
        if new != s.name:
            out[k] = replace(s, name=new, confidence=probs[new])
    return out


def lim_without_limit(symbols: list) -> list:
    """The symbols with a ``lim`` that has no symbol below it (no other symbol's centre within its
    horizontal extent and below its bottom) relabelled as the likeliest of :data:`OTHER_FUNCTIONS`
    among its alternatives (probability >= :data:`MIN_FUNCTION_PROB`); left alone otherwise. Returns a
    new list in the given order."""
    out = list(symbols)
    for k, s in enumerate(symbols):
        if s.name != "lim":
            continue
        b = s.bbox
        below = any(
            o.bbox.y + o.bbox.h / 2 > b.y + b.h and b.x <= o.bbox.x + o.bbox.w / 2 <= b.x + b.w
            for m, o in enumerate(symbols)
            if m != k
        )
        if below:
            continue
        probs = dict(s.alternatives or [])
        name, p = max(((f, probs.get(f, 0.0)) for f in OTHER_FUNCTIONS), key=lambda t: t[1])
        if p >= MIN_FUNCTION_PROB:
            out[k] = replace(s, name=name, confidence=p)
    return out


#: A vertical stroke the classifier reads as one of these may be any of them (``1`` / ``|`` / ``(`` / ``)``).
VERTICAL_MARKS = ("1", "|", "(", ")")
#: A mark is relabelled to balance the brackets only when the classifier gives the new name at least this.
MIN_BALANCE_PROB = 0.02
_LETTER_KINDS = frozenset({"letter", "other"})


def _unmatched(names: list[str], order: list[int]) -> tuple[list[int], list[int]]:
    """(unmatched ``(``, unmatched ``)``) indices of *names* read left to right in *order*."""
    stack: list[int] = []
    closes: list[int] = []
    for k in order:
        if names[k] == "(":
            stack.append(k)
        elif names[k] == ")":
            if stack:
                stack.pop()
            else:
                closes.append(k)
    return stack, closes


def balance_brackets(symbols: list) -> list:
    """The symbols with round brackets balanced and a lone bar resolved, where the classifier allows it.

    Of the 10,334 expressions of the training ink, 10,328 have as many ``(`` as ``)`` and all an even
    number of ``|`` (3,144 have round brackets, 173 bars); a reading without that has mostly misread a
    vertical stroke (:data:`VERTICAL_MARKS`: ``F(b) - F(a)`` read ``F(b) - F1a)``, ``e^{i\\pi} + 1 = 0``
    read ``+ | =``). Read left to right (by the boxes' centres): for an unmatched ``)``, the changes
    that would match it are that ``)`` read as ``1`` or ``|``, or a ``1`` or ``|`` left of it read as
    ``(``; for an unmatched ``(``, that ``(`` read as ``1`` or ``|``, or a ``1`` or ``|`` right of it
    read as ``)``. The change whose new name the classifier's
    alternatives give the most probability (at least :data:`MIN_BALANCE_PROB`) is made, and again while
    brackets stay unmatched (at most once per symbol). Then a bar left alone (an odd number of ``|``)
    becomes ``1`` when the classifier gives 1 at least that much and neither neighbour on its line is a
    letter or another symbol such as a Greek letter (``p(y|x)`` keeps its bar; :func:`line_neighbours`);
    of several such bars, the one with the most probability of 1. A relabelled symbol keeps its box and
    strokes; its confidence becomes the new name's probability. Returns a new list in the given order;
    the input is not changed."""
    out = list(symbols)
    if not any(s.name in VERTICAL_MARKS for s in symbols):
        return out
    order = sorted(range(len(out)), key=lambda k: out[k].bbox.x + out[k].bbox.w / 2)
    rank = {k: r for r, k in enumerate(order)}
    changed: set[int] = set()

    def prob(k: int, name: str) -> float:
        probs = dict(out[k].alternatives or [])
        return 0.0 if name == out[k].name else float(probs.get(name, 0.0))

    for _ in range(len(out)):
        names = [s.name for s in out]
        opens, closes = _unmatched(names, order)
        if not opens and not closes:
            break
        best: tuple[float, int, str] | None = None
        for q in closes:
            options = [(q, n) for n in ("1", "|")]
            options += [(k, "(") for k in order[: rank[q]] if names[k] in ("1", "|")]
            for k, n in options:
                if k not in changed and (best is None or prob(k, n) > best[0]):
                    best = (prob(k, n), k, n)
        for q in opens:
            options = [(q, n) for n in ("1", "|")]
            options += [(k, ")") for k in order[rank[q] + 1 :] if names[k] in ("1", "|")]
            for k, n in options:
                if k not in changed and (best is None or prob(k, n) > best[0]):
                    best = (prob(k, n), k, n)
        if best is None or best[0] < MIN_BALANCE_PROB:
            break
        p, k, n = best
        out[k] = replace(out[k], name=n, confidence=p)
        changed.add(k)
    bars = [k for k, s in enumerate(out) if s.name == "|"]
    if len(bars) % 2 == 1:
        boxes = [(s.bbox.x, s.bbox.y, s.bbox.w, s.bbox.h) for s in out]
        lone = []
        for k in bars:
            sides = [out[m].name if m is not None else None for m in line_neighbours(boxes, k)]
            if k not in changed and not any(neighbour_kind(n) in _LETTER_KINDS for n in sides):
                lone.append((prob(k, "1"), k))
        if lone:
            p, k = max(lone)
            if p >= MIN_BALANCE_PROB:
                out[k] = replace(out[k], name="1", confidence=p)
    return out


def in_context(symbols: list) -> list:
    """All the neighbour rules in turn: a comma read as 1, decimal points (recognition/decimals.py), x or
    \\times, a digit or a letter like it, round brackets and bars balanced, \\lim without a limit. Returns
    a new list in the given order."""
    from whiteboard_app.recognition.decimals import commas, decimal_points

    return lim_without_limit(balance_brackets(digits_or_letters(times_or_x(decimal_points(commas(symbols))))))
