"""Word lists and vectorized string building for names, e-mails and free text (the PII columns).

Strings for large tables are assembled with Arrow compute kernels (`take` from small vocabularies,
element-wise joins), never with per-row Python formatting.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FIRST_NAMES = (
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara richard "
    "susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty "
    "anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle "
    "kenneth carol kevin amanda brian melissa george deborah timothy stephanie ronald rebecca jason "
    "sharon edward laura jeffrey cynthia ryan kathleen jacob amy gary angela nicholas shirley eric "
    "anna jonathan brenda stephen pamela larry emma justin nicole scott helen brandon samantha "
    "benjamin katherine samuel christine gregory debra alexander rachel frank carolyn patrick janet "
    "raymond maria jack olivia dennis heather jerry diane tyler julie aaron joyce jose victoria adam "
    "priya arjun wei mei hiroshi yuki lucas sofia mateo valentina noah amara kwame ingrid lars "
    "fatima omar chen ana pedro lea jonas elif mehmet aisha"
).split()

LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris "
    "sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill "
    "flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips "
    "evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers "
    "gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson "
    "watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders "
    "patel myers long ross foster jimenez muller schmidt larsen tanaka sato wang zhang singh kumar "
    "okafor mensah silva santos costa rossi bianchi dubois novak kowalski yilmaz haddad"
).split()

COMPANY_WORDS_A = (
    "blue north bright swift clear iron silver green red quiet bold true prime summit harbor "
    "river stone cedar maple pine oak granite coral amber golden polar solar lunar rapid steady "
    "vivid urban atlas apex vertex nimbus orbit pixel quantum"
).split()
COMPANY_WORDS_B = (
    "wave peak field bridge path forge works labs point gate line loop leaf grid signal spark "
    "stream trail ridge vale bay harbor rock wind light frame craft base core hub nest port yard "
    "mill scale shift sphere"
).split()
COMPANY_SUFFIXES = ("Inc", "Labs", "Group", "Systems", "Co", "Technologies", "Partners", "Holdings")


def capitalized(words: tuple[str, ...] | list[str]) -> list[str]:
    return [w[:1].upper() + w[1:] for w in words]


DICTIONARY_MAX = 50_000


def take(vocabulary: list[str] | tuple[str, ...] | pa.Array, index: np.ndarray) -> pa.Array:
    """Strings `vocabulary[index]` (a negative index gives null), for a table column.

    Small vocabularies give a dictionary array: nothing is copied per row, and Parquet stores it as
    a dictionary-encoded plain string column (readers see VARCHAR / string).
    """
    index = np.asarray(index, dtype=np.int64)
    mask = index < 0
    if not isinstance(vocabulary, pa.Array):
        vocabulary = pa.array(list(vocabulary), pa.string())
    if len(vocabulary) <= DICTIONARY_MAX:
        indices = pa.array(np.where(mask, 0, index).astype(np.int32), mask=mask)
        return pa.DictionaryArray.from_arrays(indices, vocabulary)
    return take_plain(vocabulary, index)


def take_plain(vocabulary: list[str] | tuple[str, ...] | pa.Array, index: np.ndarray) -> pa.Array:
    """Like `take`, but always a plain string array (what the string kernels such as `join` need)."""
    index = np.asarray(index, dtype=np.int64)
    mask = index < 0
    if not isinstance(vocabulary, pa.Array):
        vocabulary = pa.array(list(vocabulary), pa.string())
    return vocabulary.take(pa.array(np.where(mask, 0, index), mask=mask))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Ids like `acc_000123`: prefix plus the number zero-padded to `width` digits.

    Built as one fixed-width byte matrix turned into an Arrow string array (4 digits per lookup):
    several times faster than Arrow's cast/pad/join for the hundred million event ids of big runs.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.size and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"ids {prefix}: numbers must be in [0, 10**{width}), got {numbers.min()}..{numbers.max()}")
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    row = head.size + width
    out = np.empty((numbers.size, row), dtype=np.uint8)
    out[:, : head.size] = head
    rest = numbers.copy()
    end = row
    while end > head.size:
        start = max(end - 4, head.size)
        out[:, start:end] = _DIGITS4[rest % 10_000][:, 4 - (end - start) :]
        rest //= 10_000
        end = start
    offsets = np.arange(0, (numbers.size + 1) * row, row, dtype=np.int32)
    return pa.StringArray.from_buffers(numbers.size, pa.py_buffer(offsets), pa.py_buffer(out))


def person_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random first- and last-name indices into FIRST_NAMES / LAST_NAMES."""
    return rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)


# Free-text templates. `{who}` becomes a person's name or e-mail (which is why these columns are PII).
TICKET_SUBJECTS = {
    "bug": [
        "Report builder crashes on save",
        "Dashboard shows wrong totals",
        "Workflow stuck in running state",
        "Error when opening shared dashboard",
        "Export produces empty file",
        "Charts not loading",
    ],
    "how_to": [
        "How do I schedule a report?",
        "Question about user permissions",
        "How to set up alerts",
        "Need help building a workflow",
        "Where can I change my dashboard filters?",
    ],
    "billing": [
        "Invoice amount looks wrong",
        "Card payment failed",
        "Please update our billing address",
        "Question about our renewal",
        "Need a copy of last invoice",
    ],
    "integration": [
        "Salesforce sync failing",
        "Slack integration disconnected",
        "Snowflake connector timeout",
        "HubSpot fields not mapping",
        "API key stopped working",
    ],
    "feature_request": [
        "Feature request: custom fiscal calendar",
        "Request: more chart types",
        "Would love SSO for contractors",
        "Please add export to Parquet",
        "Request: bulk user import",
    ],
}
NPS_COMMENTS = {
    "detractor": [
        "Too slow and buggy lately.",
        "Support takes forever to answer.",
        "We are evaluating alternatives.",
        "Pricing is hard to justify for what we use.",
        "The integration keeps breaking.",
    ],
    "passive": [
        "Does the job.",
        "Good product, a few rough edges.",
        "Reporting is fine, dashboards could be better.",
        "OK overall, onboarding was slow.",
    ],
    "promoter": [
        "Love it, the whole team uses it daily.",
        "Great support and great product.",
        "Workflows saved us hours every week.",
        "Best reporting tool we have used.",
    ],
}
