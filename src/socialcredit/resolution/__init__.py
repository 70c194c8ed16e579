"""Resolution: linking agency rows that came without a code to the subject they are about.

``normalise`` folds names and addresses into comparable forms (the original text is kept
everywhere else); ``deterministic`` links where the law gives a mapping (the organisation code
embedded in a USCC). Probabilistic linking and the reviewer's decisions build on these.
"""
