#!/usr/bin/env python3
"""Derives fixtures/expected/offers.json from the valid offers in fixtures/offers/.

For every DEV-*.json offer it records the state the offer process must
reach on ingest (pending_approval when discount_pct > 20, else validated),
the customer's name and the exact total TTC, computed in decimal
arithmetic (never binary floats):

  subtotal      = sum of quantity * unit_price
  discount      = subtotal * pct / 100, rounded half-up to cents
  net HT        = subtotal - discount
  VAT per rate  = (sum of line totals at that rate) * (1 - pct/100)
                  * rate / 100, rounded half-up to cents
  total TTC     = net HT + sum of VAT per rate

discount_pct is read from its JSON text (12.5 stays exactly 12.5).

Usage: fixture-totals.py [--check] [DIR]   (DIR defaults to fixtures/offers)
Writes fixtures/expected/offers.json; with --check, writes nothing and exits 1 when the
file differs from what the offers give. The build never runs this.
"""
import json
import os
import sys
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def cents(x):
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def totals(offer):
    pct = Decimal(offer["discount_pct"])
    subtotal = Decimal(0)
    by_rate = {}
    for line in offer["lines"]:
        total = Decimal(line["quantity"]) * Decimal(line["unit_price"])
        subtotal += total
        by_rate[line["vat_rate"]] = by_rate.get(line["vat_rate"], Decimal(0)) + total
    discount = cents(subtotal * pct / HUNDRED)
    net = subtotal - discount
    vat = sum((cents(base * (1 - pct / HUNDRED) * Decimal(rate) / HUNDRED)
               for rate, base in by_rate.items()), Decimal(0))
    return pct, cents(net + vat)


def expected(directory):
    rows = []
    for name in sorted(os.listdir(directory)):
        if not (name.startswith("DEV-") and name.endswith(".json")):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            offer = json.loads(f.read().decode("utf-8"), parse_float=Decimal,
                               parse_int=Decimal)
        pct, ttc = totals(offer)
        rows.append({
            "reference": offer["reference"],
            "state_after_ingest": "pending_approval" if pct > 20 else "validated",
            "customer_name": offer["customer"]["name"],
            "total_ttc": str(ttc),
        })
    return "[\n" + ",\n".join(
        "  " + json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    here = os.path.dirname(os.path.abspath(__file__))
    directory = args[0] if args else os.path.join(here, "..", "fixtures", "offers")
    text = expected(directory)
    path = os.path.join(here, "..", "fixtures", "expected", "offers.json")
    if check:
        try:
            with open(path, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        if not same:
            print(f"{path} is out of date", file=sys.stderr)
        return 0 if same else 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
