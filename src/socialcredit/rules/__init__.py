"""Pure rule functions: entry, bars, duration, exit and state-at-a-moment of listings.

No database, no clock, no web: values in, decisions out. Services call them; tests call them.
"""
