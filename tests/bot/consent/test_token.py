import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.consent.token import (
    ALPHABET,
    ConsentToken,
    InvalidTokenError,
    TokenProblem,
    check_character,
    find_token,
    new_token,
    parse_token,
)

TOKEN = ConsentToken("CG-7Q2M-XK4D-9PTA-6NBE-" + check_character("7Q2MXK4D9PTA6NBE"))
CANONICAL = re.compile(r"^CG-([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]$")


def test_new_tokens_are_canonical_unique_and_self_checking() -> None:
    tokens = {new_token().value for _ in range(2000)}
    assert len(tokens) == 2000
    for value in list(tokens)[:50]:
        assert CANONICAL.match(value)
        assert parse_token(value).value == value


def test_repr_never_shows_the_token() -> None:
    assert TOKEN.compact not in repr(TOKEN)
    assert TOKEN.value not in repr(find_token(TOKEN.value))


@pytest.mark.parametrize(
    "caption",
    [
        f"#consent {TOKEN.value}",
        f"#consentement {TOKEN.value}",
        f"Plaie du talon J12, consent: {TOKEN.value}",
        f"consentement {TOKEN.value} (avis)",
        f"consent={TOKEN.value.lower()}",
        TOKEN.value,
        TOKEN.value.replace("-", " "),
        f"cg{TOKEN.compact.lower()}",
        f"consentement {TOKEN.compact[:8]} {TOKEN.compact[8:]}",
        f"voir {TOKEN.value.replace('0', 'O')}",
        f"Avis svp\n\n#consent {TOKEN.value}\nMerci",
    ],
)
def test_tokens_are_found_in_the_forms_clinicians_write(caption: str) -> None:
    result = find_token(caption)
    assert result.token == TOKEN


@pytest.mark.parametrize(
    "caption",
    [
        "",
        None,
        "Plaie du talon, avis ?",
        "le CG a validé",
        "Consentement obtenu oralement",
        "Fig. 2 CT 12 mm",
    ],
)
def test_no_token(caption: str | None) -> None:
    result = find_token(caption)
    assert not result.attempted


@pytest.mark.parametrize(
    ("caption", "problem"),
    [
        ("#consent", TokenProblem.WRONG_LENGTH),
        ("#consent CG-12", TokenProblem.WRONG_LENGTH),
        (TOKEN.value[:-2], TokenProblem.WRONG_LENGTH),  # check character left out
        (TOKEN.value.replace("7Q2M", "7Q3M"), TokenProblem.BAD_CHECK),  # a data character mistyped
        (TOKEN.value + "Z", TokenProblem.WRONG_LENGTH),
        (f"consent: CG-{TOKEN.compact[:15]}U{TOKEN.compact[16]}", TokenProblem.BAD_CHARACTER),
    ],
)
def test_malformed_tokens_say_what_is_wrong(caption: str, problem: TokenProblem) -> None:
    result = find_token(caption)
    assert not result.found
    assert result.problem is problem


def test_a_valid_token_wins_over_an_earlier_malformed_one() -> None:
    assert find_token(f"CG-1234 puis {TOKEN.value}").token == TOKEN


def test_parse_token_raises_a_typed_error() -> None:
    with pytest.raises(InvalidTokenError) as raised:
        parse_token("CG-0000")
    assert raised.value.problem is TokenProblem.WRONG_LENGTH


def test_fingerprint_is_keyed_and_stable() -> None:
    assert TOKEN.fingerprint(b"k1") == TOKEN.fingerprint(b"k1")
    assert TOKEN.fingerprint(b"k1") != TOKEN.fingerprint(b"k2")
    assert TOKEN.compact not in TOKEN.fingerprint(b"k1")


data_chars = st.text(alphabet=ALPHABET, min_size=16, max_size=16)


@settings(max_examples=500, deadline=None)
@given(data_chars, st.integers(min_value=0, max_value=16), st.sampled_from(ALPHABET))
def test_every_single_character_typo_is_caught(data: str, position: int, replacement: str) -> None:
    value = data + check_character(data)
    typo = value[:position] + replacement + value[position + 1 :]
    if typo == value:
        return
    assert find_token(f"#consent CG-{typo}").problem is TokenProblem.BAD_CHECK


@settings(max_examples=300, deadline=None)
@given(data_chars, st.integers(min_value=0, max_value=14))
def test_most_neighbour_swaps_are_caught(data: str, position: int) -> None:
    value = data + check_character(data)
    swapped = value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    if swapped == value:
        return
    result = find_token(f"CG-{swapped}")
    # Luhn mod 32 misses only swaps of the pair of values that sum to 31 (like 0 and Z); allow those.
    pair = {ALPHABET.index(value[position]), ALPHABET.index(value[position + 1])}
    if sum(pair) != 31:
        assert not result.found


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_crashes_and_never_invents_a_token(text: str) -> None:
    result = find_token(text)
    if result.token is not None:
        # A token found in random text must really be in it (modulo separators, case and O/I/L aliases).
        squashed = re.sub(r"[\s\-_:]", "", text).upper().translate(str.maketrans("OIL", "011"))
        assert result.token.compact in squashed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_a_valid_token_is_found_whatever_surrounds_it(before: str, after: str) -> None:
    token = new_token()
    result = find_token(f"{before} {token.value} {after}")
    assert result.found
