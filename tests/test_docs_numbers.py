"""docs/PROTOCOL.md's table of numbers states the defaults of `protocol.StepSpec`, and the
constraint count the docs give for the default digits circuit is the formula's."""

from __future__ import annotations

import re
from pathlib import Path

from wafl_sui import protocol
from wafl_sui.zk.circuit import constraint_formula

DOCS = Path(__file__).resolve().parents[1] / "docs"


def numbers_table(markdown: str) -> dict[str, int]:
    """`| `name` | SYMBOL | default | meaning |` rows of the "## Numbers" section: name -> default."""
    section = markdown.split("## Numbers", 1)[1].split("\n## ", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| `(\w+)` \| \w+ \| (\d+) \|", section, re.M)}


def test_protocol_md_defaults_are_the_step_spec_defaults():
    table = numbers_table((DOCS / "PROTOCOL.md").read_text())
    integers = {k: v for k, v in protocol.StepSpec().move_fields().items() if isinstance(v, int)}  # `hidden` is a list
    assert table == integers


def test_the_default_constraint_count_the_docs_give_is_the_formula():
    total = constraint_formula(protocol.StepSpec())["total"]
    wide = constraint_formula(protocol.StepSpec(features=64, classes=10, batch_size=16, **protocol.WIDE_FORMAT))["total"]
    for doc in ("PROTOCOL.md", "CIRCUIT.md"):
        text = (DOCS / doc).read_text()
        assert f"{total:,} constraints" in text or f"**{total:,}**" in text, doc
        assert f"{wide:,}" in text, doc


def test_a_changed_default_is_caught():
    text = "## Numbers\n\n| name | symbol | default | meaning |\n|---|---|---|---|\n| `frac_bits` | K | 16 | f |\n"
    assert numbers_table(text) == {"frac_bits": 16} != {"frac_bits": protocol.StepSpec().frac_bits}


def test_the_private_constraint_counts_the_docs_give_are_the_formula():
    """docs/PRIVACY.md quotes the digits private circuit's size at epsilon 8, 3 and 1 with the
    parameters `wafl simulate --dp-epsilon` chooses (4 clients: 360 records, expected batch 64,
    clip 2, 25 rounds)."""
    from wafl_sui.client.private_params import private_params

    text = (DOCS / "PRIVACY.md").read_text()
    spec = protocol.StepSpec(batch_size=64)
    for eps in (8.0, 3.0, 1.0):
        p = private_params(spec, target_epsilon=eps, target_delta=1e-5, steps=25, records=360, clip=2.0,
                           expected_batch=64)
        total = constraint_formula(spec.with_privacy(p))["total"]
        assert f"{total:,}" in text, (eps, total)
