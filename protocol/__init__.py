"""The pure protocol core: record schema and validation, ops and clocks, merge
rules, bundles, and trust statements. No database, network, clock or filesystem:
time and randomness are passed in.
"""
